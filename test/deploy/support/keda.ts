// components/keda as the tests read it: the worker's ScaledObject and what it authenticates with.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from './kustomize';
import { K8S_DIR, REPO } from './workloads';

export interface ScaledObjectSpec {
  scaleTargetRef: { kind?: string; name: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  fallback?: { failureThreshold: number; replicas: number; behavior?: string };
  advanced?: { horizontalPodAutoscalerConfig?: { behavior?: { scaleDown?: { stabilizationWindowSeconds?: number } } } };
  triggers: { type: string; metricType?: string; metadata: Record<string, string>; authenticationRef?: { kind?: string; name: string } }[];
}

export interface TriggerAuthenticationSpec {
  secretTargetRef?: { parameter: string; name: string; key: string }[];
}

/** The component's source file, before any overlay. */
export const SCALED_OBJECT_FILE = path.join(K8S_DIR, 'components/keda/scaled-object.yaml');

/** The query of the component's postgresql trigger, as written in its file. */
export function componentSlotQuery(): string {
  const objects = parseAllDocuments(readFileSync(SCALED_OBJECT_FILE, 'utf8')).map((doc) => doc.toJS() as K8sObject);
  const scaled = objects.find((o) => o.kind === 'ScaledObject')?.spec as ScaledObjectSpec | undefined;
  const query = scaled?.triggers.find((t) => t.type === 'postgresql')?.metadata.query;
  if (!query) throw new Error(`${SCALED_OBJECT_FILE}: no postgresql trigger with a query`);
  return query;
}

/**
 * The keys of `mpiaas-secrets` that docs/deploy.md tells production operators to create
 * (`kubectl create secret generic mpiaas-secrets --from-literal=KEY=...`).
 */
export function documentedSecretKeys(): string[] {
  const doc = readFileSync(path.join(REPO, 'docs/deploy.md'), 'utf8');
  const command = /create secret generic mpiaas-secrets((?:[^\n]*\\\n)*[^\n]*)/.exec(doc)?.[1];
  if (!command) throw new Error('docs/deploy.md: no `kubectl create secret generic mpiaas-secrets` command');
  return [...command.matchAll(/--from-literal=(\w+)=/g)].map((m) => m[1] ?? '');
}
