// Reads docker-compose.yml as Compose would: YAML merge keys, then ${VAR} interpolation.
import { parse } from 'yaml';

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  container_name?: string;
  stop_grace_period?: string;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  user?: string;
  network_mode?: string;
  volumes?: string[];
  tmpfs?: string[];
  mem_limit?: string;
  pids_limit?: number;
  extends?: { file: string; service: string };
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/**
 * Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
 * `${VAR?error}`, `$$` for a literal `$`. Throws the `?` error of an unset variable.
 */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{(\w+)(?:(:?)([-?])([^}]*))?\}|\$(\w+)/g, (whole, name?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const variable = name ?? bare ?? '';
    const current = env[variable];
    const unset = current === undefined || (colon === ':' && current === '');
    if (!unset) return current;
    if (op === '?') throw new Error(`${variable}: ${arg || 'required'}`);
    return op === '-' ? (arg ?? '') : '';
  });
}

function interpolateAll(node: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((item) => interpolateAll(item, env));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolateAll(value, env)]));
  }
  return node;
}

export function loadCompose(text: string, env: Record<string, string | undefined>): ComposeFile {
  return interpolateAll(parse(text, { merge: true }), env) as ComposeFile;
}

/** `60s`, `1m30s` → seconds. */
export function durationSeconds(duration: string): number {
  let total = 0;
  for (const [, amount, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(h|m|s|ms|us)/g)) {
    total += Number(amount) * ({ h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6 }[unit as 'h' | 'm' | 's' | 'ms' | 'us'] ?? 0);
  }
  return total;
}
