import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Redis } from 'ioredis';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js');
export const REDIS_URL = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
  /** The Redis key prefix the run used (unique per run). */
  prefix: string;
}

export interface ExecOptions {
  stdin?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Runs `mpiaas exec <args>` as a real process with its own Redis key prefix. */
export function mpiaasExec(args: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const prefix = `test:exec:${randomUUID()}:`;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'exec', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env, MPIAAS_REDIS_PREFIX: prefix },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, elapsedMs: Date.now() - started, prefix });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** Keys under a prefix, through an open connection. */
export async function scanKeys(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** Keys left in Redis under a prefix (a finished job must leave none). */
export async function keysUnder(prefix: string): Promise<string[]> {
  const redis = new Redis(REDIS_URL);
  try {
    return await scanKeys(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

export const fixture = (name: string): string => path.join(REPO_ROOT, 'test', 'fixtures', name);
