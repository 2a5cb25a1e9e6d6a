// Offline schema validation of rendered objects: the models of `kubernetes-models` carry the
// Kubernetes OpenAPI schemas compiled to validators, `@kubernetes-models/keda` KEDA's CRDs,
// `@kubernetes-models/prometheus-operator` the ServiceMonitor.
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { K8sObject } from './kustomize';

type Model = new (data: never) => { validate(): void };

/** Every kind the manifests use. A new kind fails validation until it is added here. */
const MODELS: Record<string, Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

/**
 * kustomize wraps a Secret's long base64 values over several lines; the API server's decoder
 * (Go's encoding/base64) skips the line breaks, the schema's `byte` format does not.
 */
function withUnwrappedBase64(data: Omit<K8sObject, 'apiVersion' | 'kind'>): Omit<K8sObject, 'apiVersion' | 'kind'> {
  if (typeof data.data !== 'object' || data.data === null) return data;
  const unwrapped = Object.entries(data.data as Record<string, string>).map(([key, value]) => [key, value.replace(/\n/g, '')]);
  return { ...data, data: Object.fromEntries(unwrapped) };
}

/** The schema problems of one object, empty when it is valid. */
export function schemaErrors(object: K8sObject): string[] {
  const { apiVersion, kind, ...data } = object;
  const model = MODELS[`${apiVersion}/${kind}`];
  if (!model) return [`no schema for ${apiVersion} ${kind}: add its model to test/deploy/support/k8s-schema.ts`];
  try {
    new model((kind === 'Secret' ? withUnwrappedBase64(data) : data) as never).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}
