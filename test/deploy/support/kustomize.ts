// Renders the kustomize trees under k8s/ with whatever can build them offline.
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

/** A rendered Kubernetes object, as far as these tests read it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface KustomizeTool {
  /** What runs, for messages: `kubectl v1.32.4 (kustomize v5.5.0)`. */
  description: string;
  build(dir: string): { ok: true; objects: K8sObject[] } | { ok: false; error: string };
}

/**
 * `components` and `configMapGenerator.envs` need kustomize 3.7+; 4.0 (kubectl 1.21) is the
 * floor taken here. Debian's own `kubernetes-client` (1.20.2, kustomize v2.0.3) is too old:
 * it stops at `unknown field "envs"`.
 */
const MIN_KUSTOMIZE_MAJOR = 4;

function run(command: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.error ? null : result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

function majorOf(version: string | undefined): number {
  const match = /v?(\d+)\.\d+/.exec(version ?? '');
  return match ? Number(match[1]) : 0;
}

function parseObjects(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`kustomize printed invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

function toolFrom(command: string, buildArgs: (dir: string) => string[], description: string): KustomizeTool {
  return {
    description,
    build(dir) {
      const result = run(command, buildArgs(dir));
      if (result.status !== 0) return { ok: false, error: result.stderr.trim() || `exit ${result.status}` };
      return { ok: true, objects: parseObjects(result.stdout) };
    },
  };
}

/**
 * The first of $KUBECTL, `kubectl`, `kustomize` (on PATH) whose kustomize is recent enough;
 * otherwise why none is.
 */
export function findKustomize(): KustomizeTool | { missing: string } {
  const rejected: string[] = [];
  for (const kubectl of [process.env.KUBECTL, 'kubectl'].filter((c): c is string => Boolean(c))) {
    const version = run(kubectl, ['version', '--client', '-o', 'json']);
    if (version.status !== 0) {
      rejected.push(`${kubectl}: not found`);
      continue;
    }
    const info = JSON.parse(version.stdout) as { clientVersion?: { gitVersion?: string }; kustomizeVersion?: string };
    const description = `${kubectl} ${info.clientVersion?.gitVersion ?? '?'} (kustomize ${info.kustomizeVersion ?? 'v2 or older'})`;
    if (majorOf(info.kustomizeVersion) >= MIN_KUSTOMIZE_MAJOR) return toolFrom(kubectl, (dir) => ['kustomize', dir], description);
    rejected.push(`${description}: too old`);
  }
  const standalone = run('kustomize', ['version']);
  if (standalone.status === 0) {
    const version = /v\d+\.\d+\.\d+/.exec(standalone.stdout)?.[0];
    if (majorOf(version) >= MIN_KUSTOMIZE_MAJOR) return toolFrom('kustomize', (dir) => ['build', dir], `kustomize ${version}`);
    rejected.push(`kustomize ${version ?? '?'}: too old`);
  } else {
    rejected.push('kustomize: not found');
  }
  return { missing: `no kustomize ${MIN_KUSTOMIZE_MAJOR}+ (${rejected.join('; ')}); install kubectl 1.21+ or kustomize, or set KUBECTL` };
}
