// Typed views of the rendered objects that the policy checks read.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { IContainer, IEnvVar, IPodSpec } from 'kubernetes-models/v1';
import type { K8sObject } from './kustomize';

export const REPO = path.resolve(__dirname, '../../..');
export const K8S_DIR = path.join(REPO, 'k8s');

/** The workload kinds and where their pod template sits. */
const POD_TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet', 'ReplicaSet']);

export interface Workload {
  object: K8sObject;
  /** `Deployment/api` */
  id: string;
  labels: Record<string, string>;
  pod: IPodSpec;
}

export function workloads(objects: K8sObject[]): Workload[] {
  return objects
    .filter((o) => POD_TEMPLATE_KINDS.has(o.kind))
    .map((object) => {
      const template = (object.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: IPodSpec } }).template;
      return { object, id: `${object.kind}/${object.metadata.name}`, labels: template.metadata?.labels ?? {}, pod: template.spec };
    });
}

/** Every container of a pod, init containers first, with a name for messages. */
export function containersOf(workload: Workload): { id: string; container: IContainer; init: boolean }[] {
  return [
    ...(workload.pod.initContainers ?? []).map((container) => ({ id: `${workload.id} init ${container.name}`, container, init: true })),
    ...workload.pod.containers.map((container) => ({ id: `${workload.id} ${container.name}`, container, init: false })),
  ];
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

export function workload(objects: K8sObject[], id: string): Workload {
  const found = workloads(objects).find((w) => w.id === id);
  if (!found) throw new Error(`no workload ${id}`);
  return found;
}

/** A generated object's name without kustomize's content hash (`api-config-m64fg2f568`). */
export function baseName(name: string): string {
  return name.replace(/-[a-z0-9]{10}$/, '');
}

/** The ConfigMap a generated name refers to. */
export function configMap(objects: K8sObject[], name: string): Record<string, string> {
  const found = objects.find((o) => o.kind === 'ConfigMap' && (o.metadata.name === name || baseName(o.metadata.name) === name));
  if (!found) throw new Error(`no ConfigMap ${name}`);
  return (found.data ?? {}) as Record<string, string>;
}

/**
 * The environment a container would see, with Secret and field references replaced by
 * `placeholders` (by variable name); undefined marks a reference without one.
 */
export function containerEnv(objects: K8sObject[], container: IContainer, placeholders: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, configMap(objects, source.configMapRef.name ?? ''));
    if (source.secretRef) throw new Error(`${container.name}: envFrom a Secret hands every key to the app; name them instead`);
  }
  for (const variable of container.env ?? []) env[variable.name] = valueOf(variable, placeholders);
  return env;
}

function valueOf(variable: IEnvVar, placeholders: Record<string, string>): string | undefined {
  return variable.value ?? placeholders[variable.name];
}

/** A copy of k8s/ in a temporary folder, with `secrets.env` written where overlays need one. */
export function k8sCopyWithSecrets(): { dir: string; secretsEnv: string; remove(): void } {
  const root = mkdtempSync(path.join(tmpdir(), 'mpiaas-k8s-'));
  const dir = path.join(root, 'k8s');
  cpSync(K8S_DIR, dir, { recursive: true, filter: (source) => path.basename(source) !== 'secrets.env' });
  const secretsEnv = execFileSync('sh', [path.join(dir, 'generate-secrets.sh')], { encoding: 'utf8' });
  writeFileSync(path.join(dir, 'overlays/kind/secrets.env'), secretsEnv);
  return { dir, secretsEnv, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** `KEY=value` lines (comments and blanks skipped), as kustomize reads an env file. */
export function parseEnvFile(text: string): Record<string, string> {
  const entries = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)] as const;
    });
  return Object.fromEntries(entries);
}

/** Whether a label selector (matchLabels only) selects these labels. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}
