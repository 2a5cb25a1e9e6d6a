// Renders k8s/ (base and every overlay) offline and checks each object against the Kubernetes
// schemas, the security and operations policies, and the apps' own config schemas.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { IContainer } from 'kubernetes-models/v1';
import { loadConfig } from '../../apps/api/src/config/api-config';
import { CONFIG_KEYS, PLACEHOLDERS, STORAGE_KEYS, configError, type App } from './support/app-config';
import { SCALED_OBJECT_FILE, componentSlotQuery, documentedSecretKeys, type ScaledObjectSpec, type TriggerAuthenticationSpec } from './support/keda';
import { schemaErrors } from './support/k8s-schema';
import { findKustomize, type K8sObject } from './support/kustomize';
import {
  K8S_DIR,
  REPO,
  baseName,
  configMap,
  containerEnv,
  containersOf,
  find,
  k8sCopyWithSecrets,
  parseEnvFile,
  selects,
  workload,
  workloads,
} from './support/workloads';

const TARGETS = ['base', 'overlays/kind', 'overlays/production'] as const;
type Target = (typeof TARGETS)[number];

/** Created out of band where no overlay generates it (docs/deploy.md). */
const REQUIRED_SECRET = 'mpiaas-secrets';
/** The object store's key pair in mpiaas-secrets (MinIO's root user in components/minio). */
const S3_SECRET_KEYS = ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'];
/** Where webhook receivers may not be: the api's egress to public addresses excepts these. */
const PRIVATE_RANGES = ['10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', 'fe80::/10'];
/** After SHUTDOWN_GRACE_SECONDS the worker stops ranks and waits this long for them (run-job.processor.ts). */
const WORKER_STOP_WAIT_SECONDS = 10;

const kustomize = findKustomize();
const missing = 'missing' in kustomize ? kustomize.missing : undefined;
if (missing) console.warn(`k8s manifests: ${missing}`);

// CI's machines have kubectl: there a missing kustomize is a failed test; elsewhere a skip.
if (missing !== undefined && process.env.CI) {
  test('kustomize 4+ is available to render k8s/', () => expect.fail(missing));
}

describe.runIf(missing === undefined)('k8s manifests', () => {
  const rendered = new Map<Target, K8sObject[]>();
  let copy: ReturnType<typeof k8sCopyWithSecrets>;

  beforeAll(() => {
    if ('missing' in kustomize) throw new Error(kustomize.missing);
    copy = k8sCopyWithSecrets();
    for (const target of TARGETS) {
      const result = kustomize.build(path.join(copy.dir, target));
      if (!result.ok) throw new Error(`${kustomize.description} failed on ${target}: ${result.error}`);
      rendered.set(target, result.objects);
    }
  });
  afterAll(() => copy?.remove());

  const objectsOf = (target: Target): K8sObject[] => rendered.get(target) ?? [];

  test('every overlay under k8s/overlays is rendered here', () => {
    const overlays = readdirSync(path.join(K8S_DIR, 'overlays')).map((name) => `overlays/${name}`);
    expect(overlays.sort()).toEqual(TARGETS.filter((t) => t !== 'base').sort());
  });

  describe.each(TARGETS)('%s', (target) => {
    test('every object is valid against its Kubernetes schema (KEDA: its CRD schema)', () => {
      const problems = objectsOf(target).flatMap((o) => schemaErrors(o).map((e) => `${o.kind}/${o.metadata.name}: ${e}`));
      expect(problems).toEqual([]);
    });

    test('every namespaced object is in namespace mpiaas', () => {
      const outside = objectsOf(target).filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'mpiaas');
      expect(outside.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    });

    test('every container has CPU and memory requests and limits', () => {
      const problems = workloads(objectsOf(target)).flatMap((w) =>
        containersOf(w).flatMap(({ id, container }) =>
          (['requests', 'limits'] as const).flatMap((kind) =>
            ['cpu', 'memory'].filter((r) => container.resources?.[kind]?.[r] === undefined).map((r) => `${id}: no ${kind}.${r}`),
          ),
        ),
      );
      expect(problems).toEqual([]);
    });

    test('every pod runs non-root, unprivileged, read-only, with no capabilities and RuntimeDefault seccomp', () => {
      const problems: string[] = [];
      for (const w of workloads(objectsOf(target))) {
        const pod = w.pod.securityContext ?? {};
        if (pod.runAsNonRoot !== true) problems.push(`${w.id}: runAsNonRoot is not true`);
        if (pod.runAsUser === 0) problems.push(`${w.id}: runAsUser 0`);
        if (pod.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${w.id}: seccomp is not RuntimeDefault`);
        if (w.pod.hostNetwork || w.pod.hostPID || w.pod.hostIPC) problems.push(`${w.id}: shares a host namespace`);
        if (w.pod.volumes?.some((v) => v.hostPath)) problems.push(`${w.id}: mounts a hostPath`);
        for (const { id, container } of containersOf(w)) {
          const sc = container.securityContext ?? {};
          if (sc.runAsUser === 0 || sc.runAsNonRoot === false) problems.push(`${id}: runs as root`);
          if (sc.privileged === true) problems.push(`${id}: privileged`);
          if (sc.allowPrivilegeEscalation !== false) problems.push(`${id}: allowPrivilegeEscalation is not false`);
          if (sc.readOnlyRootFilesystem !== true) problems.push(`${id}: root filesystem is writable`);
          if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${id}: does not drop ALL capabilities`);
          if (sc.capabilities?.add?.length) problems.push(`${id}: adds capabilities ${sc.capabilities.add.join(', ')}`);
        }
      }
      expect(problems).toEqual([]);
    });

    test('every image is pinned to a version tag (no latest, no bare name)', () => {
      const problems = workloads(objectsOf(target)).flatMap((w) =>
        containersOf(w)
          .filter(({ container }) => !/:(?!latest$)[\w][\w.-]*$/.test(container.image ?? '') && !/@sha256:[0-9a-f]{64}$/.test(container.image ?? ''))
          .map(({ id, container }) => `${id}: ${container.image}`),
      );
      expect(problems).toEqual([]);
    });

    test('every container that serves a port has readiness and liveness probes (one with only `metrics` serves no traffic)', () => {
      const problems = workloads(objectsOf(target)).flatMap((w) =>
        containersOf(w)
          .filter(({ container, init }) => !init && (container.ports ?? []).some((port) => port.name !== 'metrics'))
          .flatMap(({ id, container }) => [
            ...(container.readinessProbe ? [] : [`${id}: no readinessProbe`]),
            ...(container.livenessProbe ? [] : [`${id}: no livenessProbe`]),
          ]),
      );
      expect(problems).toEqual([]);
    });

    test('every ConfigMap and Secret a pod uses exists (or is the one documented as required)', () => {
      const objects = objectsOf(target);
      const names = (kind: string) => new Set(objects.filter((o) => o.kind === kind).map((o) => o.metadata.name));
      const configMaps = names('ConfigMap');
      const secrets = names('Secret');
      const problems: string[] = [];
      for (const w of workloads(objects)) {
        const used: { kind: 'ConfigMap' | 'Secret'; name: string }[] = [];
        for (const volume of w.pod.volumes ?? []) if (volume.configMap?.name) used.push({ kind: 'ConfigMap', name: volume.configMap.name });
        for (const { container } of containersOf(w)) {
          for (const from of container.envFrom ?? []) if (from.configMapRef?.name) used.push({ kind: 'ConfigMap', name: from.configMapRef.name });
          for (const env of container.env ?? []) {
            const ref = env.valueFrom?.secretKeyRef ?? env.valueFrom?.configMapKeyRef;
            if (ref?.name) used.push({ kind: env.valueFrom?.secretKeyRef ? 'Secret' : 'ConfigMap', name: ref.name });
          }
        }
        for (const { kind, name } of used) {
          const exists = (kind === 'ConfigMap' ? configMaps : secrets).has(name);
          const external = kind === 'Secret' && name === REQUIRED_SECRET && !objects.some((o) => o.kind === 'Secret');
          if (!exists && !external) problems.push(`${w.id}: ${kind} ${name} does not exist`);
        }
      }
      expect(problems).toEqual([]);
    });

    test('every Secret key a TriggerAuthentication reads exists (or is documented for the required Secret)', () => {
      expect(triggerAuthenticationProblems(objectsOf(target))).toEqual([]);
    });

    test('every Service, PodDisruptionBudget and NetworkPolicy selects pods, every autoscaler an object', () => {
      const objects = objectsOf(target);
      const podLabels = workloads(objects).map((w) => w.labels);
      const problems: string[] = [];
      for (const o of objects) {
        const spec = o.spec as Record<string, unknown> | undefined;
        let selector: Record<string, string> | undefined;
        if (o.kind === 'Service') selector = spec?.selector as Record<string, string>;
        if (o.kind === 'PodDisruptionBudget') selector = (spec?.selector as { matchLabels?: Record<string, string> }).matchLabels;
        if (o.kind === 'NetworkPolicy') selector = (spec?.podSelector as { matchLabels?: Record<string, string> }).matchLabels;
        // A NetworkPolicy for optional in-cluster Redis/Postgres may select nothing (managed services).
        const optional = o.kind === 'NetworkPolicy' && /redis|postgres/.test(o.metadata.name);
        if (selector !== undefined && !optional && !podLabels.some((labels) => selects(selector, labels))) {
          problems.push(`${o.kind}/${o.metadata.name} selects no pod`);
        }
        if (o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject') {
          const ref = spec?.scaleTargetRef as { kind?: string; name: string };
          if (!objects.some((t) => t.kind === (ref.kind ?? 'Deployment') && t.metadata.name === ref.name)) {
            problems.push(`${o.kind}/${o.metadata.name} targets a missing ${ref.kind}/${ref.name}`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    test("the api's and the worker's environment is what their config schemas accept", () => {
      const objects = objectsOf(target);
      const apps: Record<App, IContainer> = {
        api: workload(objects, 'Deployment/api').pod.containers[0] as IContainer,
        worker: workload(objects, 'Deployment/worker').pod.containers[0] as IContainer,
      };
      for (const [app, container] of Object.entries(apps) as [App, IContainer][]) {
        const env = containerEnv(objects, container, PLACEHOLDERS);
        const unknown = Object.keys(env).filter((name) => !CONFIG_KEYS[app].has(name));
        expect(unknown, `${app} sets variables its config does not read`).toEqual([]);
        const unresolved = Object.entries(env).filter(([, value]) => value === undefined);
        expect(unresolved, `${app} has references without a test placeholder`).toEqual([]);
        expect(configError(app, env as Record<string, string>), app).toBeUndefined();
      }
    });

    test('user code runs apart from the credentials: a `ranks` container with none, its own user, the work folder only', () => {
      const objects = objectsOf(target);
      const worker = workload(objects, 'Deployment/worker');
      const config = configMap(objects, 'worker-config');
      const containers = worker.pod.containers;
      const ranks = containers.find((c) => c.name.includes('rank'));
      const agent = containers.find((c) => c.name === 'worker');
      expect(ranks, 'no container named after ranks').toBeDefined();
      if (!ranks || !agent) return;
      // No credential can reach it: no env at all, no token anywhere in the pod, no shared PIDs.
      expect(ranks.env ?? []).toEqual([]);
      expect(ranks.envFrom ?? []).toEqual([]);
      expect(worker.pod.automountServiceAccountToken).toBe(false);
      expect(worker.pod.shareProcessNamespace ?? false).toBe(false);
      expect((worker.pod.volumes ?? []).filter((v) => v.secret || v.projected)).toEqual([]);
      // A user of its own, in the group that owns the shared folder.
      const uidOf = (c: IContainer) => c.securityContext?.runAsUser ?? worker.pod.securityContext?.runAsUser;
      expect(uidOf(ranks)).toBeDefined();
      expect(uidOf(ranks)).not.toBe(uidOf(agent));
      expect(uidOf(ranks)).not.toBe(0);
      const groupOf = (c: IContainer) => c.securityContext?.runAsGroup ?? worker.pod.securityContext?.runAsGroup;
      expect([groupOf(ranks), worker.pod.securityContext?.fsGroup]).toContain(worker.pod.securityContext?.fsGroup);
      // It mounts only WORK_DIR, the same emptyDir as the worker, where the launcher's socket is.
      expect(ranks.volumeMounts?.map((m) => m.mountPath)).toEqual([config.WORK_DIR]);
      const volume = ranks.volumeMounts?.[0]?.name;
      expect(agent.volumeMounts?.find((m) => m.mountPath === config.WORK_DIR)?.name).toBe(volume);
      expect(worker.pod.volumes?.find((v) => v.name === volume)?.emptyDir).toBeDefined();
      expect(path.dirname(config.RANK_LAUNCHER_SOCKET ?? '')).toBe(config.WORK_DIR);
      const args = [...(ranks.command ?? []), ...(ranks.args ?? [])];
      expect(args).toContain('apps/worker/rank-launcher/rank_launcher.py');
      expect(args[args.indexOf('--socket') + 1]).toBe(config.RANK_LAUNCHER_SOCKET);
      expect(args[args.indexOf('--work-dir') + 1]).toBe(config.WORK_DIR);
      expect(ranks.image).toBe(agent.image);
      // The job's memory is the ranks container's: at least one slot's worth per slot.
      expect(quantityBytes(ranks.resources?.limits?.memory)).toBeGreaterThanOrEqual(Number(config.SLOTS) * 256 * 1024 ** 2);
      // What the agent may hold of a job's data fits in the worker container beside the worker.
      expect(Number(config.JOB_AGENT_BYTES)).toBeGreaterThan(0);
      expect(quantityBytes(agent.resources?.limits?.memory) - Number(config.JOB_AGENT_BYTES)).toBeGreaterThanOrEqual(256 * 1024 ** 2);
    });

    test('no password in plain config: ConfigMaps and literal env values carry no credentials', () => {
      const credentials = /:\/\/[^\s/@:]*:[^\s/@]+@/;
      const objects = objectsOf(target);
      const problems: string[] = [];
      for (const o of objects.filter((x) => x.kind === 'ConfigMap')) {
        for (const [key, value] of Object.entries((o.data ?? {}) as Record<string, string>)) {
          if (credentials.test(value) || /password\s*[=:]\s*\S/i.test(value)) problems.push(`ConfigMap/${o.metadata.name} ${key}`);
        }
      }
      for (const w of workloads(objects)) {
        for (const { id, container } of containersOf(w)) {
          for (const env of container.env ?? []) {
            if (env.value !== undefined && (credentials.test(env.value) || /PASSWORD/.test(env.name))) problems.push(`${id} ${env.name}`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    test('the object store\'s keys reach the api and the `worker` container only (and MinIO, whose they are); never `ranks`', () => {
      const holders = workloads(objectsOf(target)).flatMap((w) =>
        containersOf(w)
          .filter(({ container }) => (container.env ?? []).some((e) => S3_SECRET_KEYS.includes(e.valueFrom?.secretKeyRef?.key ?? '')))
          .map(({ id }) => id),
      );
      const minio = objectsOf(target).some((o) => o.kind === 'StatefulSet' && o.metadata.name === 'minio');
      expect(holders.sort()).toEqual(['Deployment/api api', 'Deployment/worker worker', ...(minio ? ['StatefulSet/minio minio'] : [])].sort());
    });

    test('api and worker use one object store: the same storage settings, the S3 driver', () => {
      const objects = objectsOf(target);
      const storage = (app: App) => Object.fromEntries(Object.entries(configMap(objects, `${app}-config`)).filter(([key]) => STORAGE_KEYS.has(key)));
      expect(storage('api')).toEqual(storage('worker'));
      expect(storage('api')).toMatchObject({ STORAGE_DRIVER: 's3', S3_BUCKET: expect.any(String) });
      expect(storage('api').STORAGE_LOCAL_DIR).toBeUndefined();
    });

    test('the worker, whose ranks share its network, reaches no open range of addresses', () => {
      const policy = find(objectsOf(target), 'NetworkPolicy', 'worker').spec as NetworkPolicySpec;
      const open = describeEgress(policy).filter((rule) => rule === 'any' || /-> (0\.0\.0\.0|::)\/0$/.test(rule));
      expect(open).toEqual([]);
    });
  });

  describe('base', () => {
    test('brings no Secret: DATABASE_URL and REDIS_URL must be provided (no default password), ADMIN_API_KEY may be', () => {
      expect(objectsOf('base').filter((o) => o.kind === 'Secret')).toEqual([]);
      const keys = new Set(
        workloads(objectsOf('base')).flatMap((w) =>
          containersOf(w).flatMap(({ container }) => (container.env ?? []).flatMap((e) => e.valueFrom?.secretKeyRef?.key ?? [])),
        ),
      );
      expect([...keys].sort()).toEqual(['ADMIN_API_KEY', 'DATABASE_URL', 'REDIS_URL', ...S3_SECRET_KEYS].sort());
      // Optional: the admin key (without it the admin API is off, nothing else changes) and the
      // object store's keys (without them the AWS SDK's default chain: IRSA, Pod Identity).
      const optional = workloads(objectsOf('base')).flatMap((w) =>
        containersOf(w).flatMap(({ container }) => (container.env ?? []).filter((e) => e.valueFrom?.secretKeyRef?.optional).map((e) => e.name)),
      );
      expect([...new Set(optional)].sort()).toEqual(['ADMIN_API_KEY', ...S3_SECRET_KEYS].sort());
    });

    test('api: readiness on /readyz and liveness on /healthz of its port; a Service in front', () => {
      const objects = objectsOf('base');
      const api = workload(objects, 'Deployment/api').pod.containers[0] as IContainer;
      const port = api.ports?.[0];
      expect(port?.containerPort).toBe(Number(configMap(objects, 'api-config').PORT));
      expect(api.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: port?.name });
      expect(api.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: port?.name });
      const service = find(objects, 'Service', 'api').spec as { ports: { targetPort: string }[] };
      expect(service.ports[0]?.targetPort).toBe(port?.name);
    });

    test('api: the HorizontalPodAutoscaler owns its replica count', () => {
      const objects = objectsOf('base');
      expect((find(objects, 'Deployment', 'api').spec as { replicas?: number }).replicas).toBeUndefined();
      const hpa = find(objects, 'HorizontalPodAutoscaler', 'api').spec as { minReplicas: number; maxReplicas: number };
      expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.maxReplicas).toBeGreaterThan(hpa.minReplicas);
    });

    test('worker: its one port is `metrics` (METRICS_PORT), no probes; grace period covers SHUTDOWN_GRACE_SECONDS', () => {
      const objects = objectsOf('base');
      const worker = workload(objects, 'Deployment/worker');
      const container = worker.pod.containers[0] as IContainer;
      expect(container.ports ?? []).toEqual([{ name: 'metrics', containerPort: Number(configMap(objects, 'worker-config').METRICS_PORT) }]);
      expect(worker.pod.containers.slice(1).flatMap((c) => c.ports ?? [])).toEqual([]);
      expect(container.readinessProbe?.httpGet ?? container.livenessProbe?.httpGet).toBeUndefined();
      const grace = Number(configMap(objects, 'worker-config').SHUTDOWN_GRACE_SECONDS);
      // grace for running jobs + the wait for stopped ranks + at least 10 s to requeue and close.
      expect(worker.pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(grace + WORKER_STOP_WAIT_SECONDS + 10);
    });

    test('worker: rank working directories on an emptyDir at WORK_DIR; ranks on the pod network', () => {
      // (The ranks container shares the pod's network namespace, as every container of a pod.)
      const objects = objectsOf('base');
      const worker = workload(objects, 'Deployment/worker');
      const config = configMap(objects, 'worker-config');
      const mount = worker.pod.containers[0]?.volumeMounts?.find((m) => m.mountPath === config.WORK_DIR);
      expect(mount, `no volume at WORK_DIR ${config.WORK_DIR}`).toBeDefined();
      expect(worker.pod.volumes?.find((v) => v.name === mount?.name)?.emptyDir).toBeDefined();
      // RuntimeDefault seccomp refuses `unshare --user`: 'none' would stop the worker, 'auto' warn.
      expect(config.RANK_NETWORK).toBe('host');
      expect(config.REDIS_EVICTION_CHECK).toBe('refuse');
    });

    test('api and worker agree on the queue prefix', () => {
      const objects = objectsOf('base');
      expect(configMap(objects, 'worker-config').QUEUE_PREFIX).toBe(configMap(objects, 'api-config').QUEUE_PREFIX);
    });

    test('migrations: a Job runs migrate-cli, and api and worker wait for it before starting', () => {
      const objects = objectsOf('base');
      const job = workload(objects, 'Job/migrate');
      expect(job.pod.containers[0]?.command).toEqual(['node', 'packages/db/dist/migrate-cli.js']);
      expect(existsSync(path.join(REPO, 'packages/db/src/migrate-cli.ts'))).toBe(true);
      for (const id of ['Deployment/api', 'Deployment/worker']) {
        const init = workload(objects, id).pod.initContainers ?? [];
        const wait = init.find((c) => c.command?.includes('docker/wait-for-migrations.mjs'));
        expect(wait, `${id} does not wait for migrations`).toBeDefined();
        expect(wait?.image).toBe(workload(objects, id).pod.containers[0]?.image);
      }
      expect(existsSync(path.join(REPO, 'docker/wait-for-migrations.mjs'))).toBe(true);
    });

    test('worker NetworkPolicy: ingress to the metrics port only; egress only to Redis, Postgres, MinIO and DNS', () => {
      const policy = find(objectsOf('base'), 'NetworkPolicy', 'worker').spec as NetworkPolicySpec;
      expect(policy.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
      expect(policy.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 'metrics' }] }]);
      expect(describeEgress(policy).sort()).toEqual(
        ['TCP/5432 -> postgres', 'TCP/53 -> kube-dns', 'TCP/6379 -> redis', 'TCP/9000 -> minio', 'UDP/53 -> kube-dns'].sort(),
      );
    });

    test('api NetworkPolicy: ingress to http and metrics; egress to Redis, Postgres, MinIO, DNS and public addresses on 443/80 (webhooks)', () => {
      const objects = objectsOf('base');
      const policy = find(objects, 'NetworkPolicy', 'api').spec as NetworkPolicySpec;
      expect(policy.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
      const api = workload(objects, 'Deployment/api').pod.containers[0] as IContainer;
      expect(api.ports?.map((p) => p.name)).toEqual(['http', 'metrics']);
      expect(policy.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 'http' }, { protocol: 'TCP', port: 'metrics' }] }]);
      expect(describeEgress(policy).sort()).toEqual(
        [
          'TCP/5432 -> postgres',
          'TCP/53 -> kube-dns',
          'TCP/6379 -> redis',
          'TCP/9000 -> minio',
          'UDP/53 -> kube-dns',
          'TCP/443 -> 0.0.0.0/0',
          'TCP/80 -> 0.0.0.0/0',
          'TCP/443 -> ::/0',
          'TCP/80 -> ::/0',
        ].sort(),
      );
      // The open ranges leave out private, loopback, link-local (cloud metadata) and the cluster's own.
      const blocks = (policy.egress ?? []).flatMap((rule) => (rule.to ?? []).flatMap((peer) => (peer.ipBlock ? [peer.ipBlock] : [])));
      const excepted = blocks.flatMap((block) => block.except ?? []);
      expect(excepted).toEqual(expect.arrayContaining(PRIVATE_RANGES));
      expect(blocks.map((b) => b.cidr).sort()).toEqual(['0.0.0.0/0', '::/0']);
      // WEBHOOK_ALLOW_PRIVATE stays unset: the api refuses private receivers as well.
      expect(configMap(objects, 'api-config').WEBHOOK_ALLOW_PRIVATE ?? 'false').toBe('false');
    });

    test('object store: the S3 driver on AWS (no endpoint) unless an overlay sets one; no bucket created', () => {
      for (const app of ['api', 'worker'] as const) {
        const config = configMap(objectsOf('base'), `${app}-config`);
        expect(config, app).toMatchObject({ STORAGE_DRIVER: 's3', S3_BUCKET: 'mpiaas', S3_REGION: 'us-east-1' });
        expect(config.S3_ENDPOINT, app).toBeUndefined();
        expect(config.S3_CREATE_BUCKET ?? 'false', app).toBe('false');
      }
    });

    test('PodDisruptionBudgets for api and worker', () => {
      const objects = objectsOf('base');
      expect((find(objects, 'PodDisruptionBudget', 'api').spec as { minAvailable: number }).minAvailable).toBe(1);
      expect((find(objects, 'PodDisruptionBudget', 'worker').spec as { maxUnavailable: number }).maxUnavailable).toBe(1);
    });

    test('metrics: api and worker serve METRICS_PORT as `metrics`, annotated for Prometheus, a headless Service each; not the Ingress', () => {
      const objects = objectsOf('base');
      for (const app of ['api', 'worker'] as const) {
        const w = workload(objects, `Deployment/${app}`);
        const port = Number(configMap(objects, `${app}-config`).METRICS_PORT);
        expect(port, `${app} METRICS_PORT`).toBeGreaterThan(0);
        expect(w.pod.containers[0]?.ports?.find((p) => p.name === 'metrics')?.containerPort).toBe(port);
        const annotations = (find(objects, 'Deployment', app).spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations;
        expect(annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' });
        const service = find(objects, 'Service', `${app}-metrics`);
        const spec = service.spec as { clusterIP?: string; selector: Record<string, string>; ports: { name: string; targetPort: string }[] };
        expect(spec.clusterIP).toBe('None');
        expect(selects(spec.selector, w.labels)).toBe(true);
        expect(spec.ports).toEqual([{ name: 'metrics', port, targetPort: 'metrics' }]);
        expect(service.metadata.labels?.['mpiaas/metrics']).toBe('true');
      }
      // The Service behind the Ingress publishes http only.
      expect((find(objects, 'Service', 'api').spec as { ports: { targetPort: string }[] }).ports.map((p) => p.targetPort)).toEqual(['http']);
    });
  });

  describe('overlays/kind (in-cluster Postgres, Redis and MinIO)', () => {
    test('Postgres: a StatefulSet on a PersistentVolumeClaim', () => {
      const spec = find(objectsOf('overlays/kind'), 'StatefulSet', 'postgres').spec as StatefulSetSpec;
      const template = spec.volumeClaimTemplates?.[0];
      expect(template?.spec.resources.requests.storage).toBeDefined();
      const mounts = spec.template.spec.containers[0]?.volumeMounts ?? [];
      expect(mounts.find((m) => m.name === template?.metadata.name)?.mountPath).toBe('/var/lib/postgresql/data');
    });

    test('Redis: AOF on, maxmemory-policy noeviction, maxmemory under the memory limit, on a PVC', () => {
      const objects = objectsOf('overlays/kind');
      const spec = find(objects, 'StatefulSet', 'redis').spec as StatefulSetSpec;
      const container = spec.template.spec.containers[0] as IContainer;
      const confVolume = spec.template.spec.volumes?.find((v) => v.configMap)?.configMap?.name ?? '';
      const conf = configMap(objects, confVolume)['redis.conf'] ?? '';
      const directives = new Map(conf.split('\n').filter((l) => /^\w/.test(l)).map((l) => [l.split(/\s+/)[0], l.split(/\s+/).slice(1).join(' ')]));
      expect(directives.get('appendonly')).toBe('yes');
      expect(directives.get('maxmemory-policy')).toBe('noeviction');
      expect(container.args?.[0]).toBe(`${container.volumeMounts?.find((m) => m.name === 'config')?.mountPath}/redis.conf`);
      expect(bytes(directives.get('maxmemory') ?? '')).toBeLessThan(bytes(String(container.resources?.limits?.memory)));
      expect(spec.volumeClaimTemplates?.[0]?.metadata.name).toBe(container.volumeMounts?.find((m) => m.mountPath === '/data')?.name);
    });

    test('MinIO: a StatefulSet on a PVC at its data folder, behind Service minio:9000, where api and worker send path-style requests', () => {
      const objects = objectsOf('overlays/kind');
      const spec = find(objects, 'StatefulSet', 'minio').spec as StatefulSetSpec;
      const container = spec.template.spec.containers[0] as IContainer;
      const args = container.args ?? [];
      const data = container.volumeMounts?.find((m) => m.name === spec.volumeClaimTemplates?.[0]?.metadata.name)?.mountPath;
      expect(args.slice(0, 2)).toEqual(['server', data]);
      expect(spec.volumeClaimTemplates?.[0]?.spec.resources.requests.storage).toBeDefined();
      expect(container.readinessProbe?.httpGet).toMatchObject({ path: '/minio/health/ready', port: 's3' });
      expect(container.livenessProbe?.httpGet).toMatchObject({ path: '/minio/health/live', port: 's3' });
      const port = container.ports?.find((p) => p.name === 's3')?.containerPort;
      expect(args[args.indexOf('--address') + 1]).toBe(`:${port}`);
      const service = find(objects, 'Service', 'minio').spec as { selector: Record<string, string>; ports: { port: number; targetPort: string }[] };
      expect(selects(service.selector, workload(objects, 'StatefulSet/minio').labels)).toBe(true);
      expect(service.ports).toEqual([{ name: 's3', port: 9000, targetPort: 's3' }]);
      for (const app of ['api', 'worker'] as const) {
        const config = configMap(objects, `${app}-config`);
        const endpoint = new URL(config.S3_ENDPOINT ?? '');
        expect([endpoint.hostname, Number(endpoint.port)], app).toEqual(['minio', service.ports[0]?.port]);
        expect(config, app).toMatchObject({ STORAGE_DRIVER: 's3', S3_FORCE_PATH_STYLE: 'true', S3_CREATE_BUCKET: 'true' });
      }
    });

    test("MinIO's root user and password are the key pair the api and the worker sign with", () => {
      const objects = objectsOf('overlays/kind');
      const refOf = (container: IContainer | undefined, name: string) => {
        const ref = container?.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
        return ref ? { name: ref.name, key: ref.key } : undefined;
      };
      const minio = workload(objects, 'StatefulSet/minio').pod.containers[0];
      for (const id of ['Deployment/api', 'Deployment/worker']) {
        const app = workload(objects, id).pod.containers[0];
        expect(refOf(app, 'S3_ACCESS_KEY_ID'), id).toEqual(refOf(minio, 'MINIO_ROOT_USER'));
        expect(refOf(app, 'S3_SECRET_ACCESS_KEY'), id).toEqual(refOf(minio, 'MINIO_ROOT_PASSWORD'));
      }
      expect(baseName(refOf(minio, 'MINIO_ROOT_USER')?.name ?? '')).toBe(REQUIRED_SECRET);
    });

    test('MinIO NetworkPolicy: only the api and the workers reach it, on its S3 port', () => {
      const objects = objectsOf('overlays/kind');
      const policy = find(objects, 'NetworkPolicy', 'minio').spec as {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: { from: { podSelector: { matchExpressions: { key: string; values: string[] }[] } }[]; ports: unknown[] }[];
      };
      expect(selects(policy.podSelector.matchLabels, workload(objects, 'StatefulSet/minio').labels)).toBe(true);
      expect(policy.policyTypes).toEqual(['Ingress']);
      expect(policy.ingress).toHaveLength(1);
      const expressions = policy.ingress[0]?.from.flatMap((peer) => peer.podSelector.matchExpressions) ?? [];
      expect(Object.fromEntries(expressions.map((e) => [e.key, [...e.values].sort()]))).toEqual({
        'app.kubernetes.io/name': ['mpiaas'],
        'app.kubernetes.io/component': ['api', 'worker'],
      });
      expect(policy.ingress[0]?.ports).toEqual([{ protocol: 'TCP', port: 9000 }]);
    });

    test('the Secret is generated with fresh passwords, and the URLs carry the same ones', () => {
      const secrets = parseEnvFile(copy.secretsEnv);
      expect(Object.keys(secrets).sort()).toEqual(['ADMIN_API_KEY', 'DATABASE_URL', 'POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'REDIS_URL', ...S3_SECRET_KEYS].sort());
      // MinIO's limits: a user of 3-20 characters, a password of 8-40.
      expect(secrets.S3_ACCESS_KEY_ID).toMatch(/^[\w-]{3,20}$/);
      expect(secrets.S3_SECRET_ACCESS_KEY).toMatch(/^[0-9a-f]{32}$/);
      expect(secrets.POSTGRES_PASSWORD).toMatch(/^[0-9a-f]{48}$/);
      expect(secrets.ADMIN_API_KEY).toMatch(/^[0-9a-f]{48}$/);
      expect(new Set([secrets.ADMIN_API_KEY, secrets.POSTGRES_PASSWORD, secrets.REDIS_PASSWORD, secrets.S3_SECRET_ACCESS_KEY]).size).toBe(4);
      expect(secrets.POSTGRES_PASSWORD).not.toBe(secrets.REDIS_PASSWORD);
      expect(new URL(secrets.DATABASE_URL ?? '').password).toBe(secrets.POSTGRES_PASSWORD);
      expect(new URL(secrets.REDIS_URL ?? '').password).toBe(secrets.REDIS_PASSWORD);
      const secret = objectsOf('overlays/kind').find((o) => o.kind === 'Secret');
      expect(baseName(secret?.metadata.name ?? '')).toBe(REQUIRED_SECRET);
      expect(Object.keys(secret?.data as object).sort()).toEqual(Object.keys(secrets).sort());
      // Postgres' user and database are those of DATABASE_URL.
      const postgres = find(objectsOf('overlays/kind'), 'StatefulSet', 'postgres').spec as StatefulSetSpec;
      const env = Object.fromEntries((postgres.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
      const url = new URL(secrets.DATABASE_URL ?? '');
      expect([env.POSTGRES_USER, env.POSTGRES_DB, url.hostname]).toEqual([url.username, url.pathname.slice(1), 'postgres']);
    });

    test('without secrets.env the overlay does not build (the Secret is required, never defaulted)', () => {
      if ('missing' in kustomize) throw new Error(kustomize.missing);
      rmSync(path.join(copy.dir, 'overlays/kind/secrets.env'));
      const result = kustomize.build(path.join(copy.dir, 'overlays/kind'));
      expect(result.ok).toBe(false);
      expect(readFileSync(path.join(K8S_DIR, '.gitignore'), 'utf8')).toMatch(/^secrets\.env$/m);
    });
  });

  describe('overlays/production (managed services, Ingress, KEDA)', () => {
    test('no in-cluster Postgres, Redis or MinIO, no Secret: all are external', () => {
      const objects = objectsOf('overlays/production');
      const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(kinds.filter((k) => /StatefulSet|Secret\/|minio/i.test(k))).toEqual([]);
      expect(objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'minio')).toEqual([]);
    });

    test('output files go to a managed bucket of its own name: AWS S3 (no endpoint), made beforehand', () => {
      const objects = objectsOf('overlays/production');
      for (const app of ['api', 'worker'] as const) {
        const config = configMap(objects, `${app}-config`);
        expect(config.STORAGE_DRIVER, app).toBe('s3');
        expect(config.S3_BUCKET, app).not.toBe(configMap(objectsOf('base'), `${app}-config`).S3_BUCKET);
        expect(config.S3_ENDPOINT, app).toBeUndefined();
        expect(config.S3_CREATE_BUCKET ?? 'false', app).toBe('false');
      }
    });

    test('KEDA scales the worker on the rank slots that queued and running jobs need, SLOTS per worker', () => {
      expectSlotScaling(objectsOf('overlays/production'));
    });

    test('the Secret docs/deploy.md has operators create holds every key the pods and KEDA read', () => {
      const objects = objectsOf('overlays/production');
      const read = new Set<string>();
      for (const w of workloads(objects)) {
        for (const { container } of containersOf(w)) {
          for (const env of container.env ?? []) {
            const ref = env.valueFrom?.secretKeyRef;
            if (ref?.name === REQUIRED_SECRET) read.add(ref.key);
          }
        }
      }
      for (const o of objects.filter((x) => x.kind === 'TriggerAuthentication')) {
        for (const ref of (o.spec as TriggerAuthenticationSpec).secretTargetRef ?? []) if (ref.name === REQUIRED_SECRET) read.add(ref.key);
      }
      expect([...read].sort()).toEqual([...new Set(documentedSecretKeys())].sort());
    });

    test('the Ingress routes to the api Service', () => {
      const objects = objectsOf('overlays/production');
      const ingress = find(objects, 'Ingress', 'api').spec as IngressSpec;
      const backend = ingress.rules[0]?.http.paths[0]?.backend.service;
      const service = find(objects, 'Service', backend?.name ?? '').spec as { ports: { name: string }[] };
      expect(service.ports.map((p) => p.name)).toContain(backend?.port.name);
    });

    test('worker egress to managed services is limited to their ports (the object store: HTTPS)', () => {
      const policy = find(objectsOf('overlays/production'), 'NetworkPolicy', 'worker').spec as NetworkPolicySpec;
      const external = describeEgress(policy).filter((rule) => rule.includes('/') && /\d+\.\d+/.test(rule));
      expect(external.sort()).toEqual(['TCP/443 -> 203.0.113.0/24', 'TCP/5432 -> 192.0.2.0/28', 'TCP/6379 -> 198.51.100.0/28']);
    });

    test('api egress: the same managed services, and public addresses on 443/80 for webhooks', () => {
      const policy = find(objectsOf('overlays/production'), 'NetworkPolicy', 'api').spec as NetworkPolicySpec;
      const external = describeEgress(policy).filter((rule) => /-> [\d:.]+\/\d+$/.test(rule));
      expect(external.sort()).toEqual(
        [
          'TCP/443 -> 203.0.113.0/24',
          'TCP/5432 -> 192.0.2.0/28',
          'TCP/6379 -> 198.51.100.0/28',
          'TCP/443 -> 0.0.0.0/0',
          'TCP/80 -> 0.0.0.0/0',
          'TCP/443 -> ::/0',
          'TCP/80 -> ::/0',
        ].sort(),
      );
    });
  });

  describe('components/prometheus-operator in an overlay of its own making', () => {
    test('base plus the component: a valid ServiceMonitor on the `metrics` port of the api and worker metrics Services', () => {
      if ('missing' in kustomize) throw new Error(kustomize.missing);
      const dir = path.join(copy.dir, 'scratch/base-with-prometheus-operator');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        path.join(dir, 'kustomization.yaml'),
        'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: mpiaas\nresources: [../../base]\ncomponents: [../../components/prometheus-operator]\n',
      );
      const result = kustomize.build(dir);
      if (!result.ok) throw new Error(result.error);
      const objects = result.objects;
      expect(objects.flatMap((o) => schemaErrors(o).map((e) => `${o.kind}/${o.metadata.name}: ${e}`))).toEqual([]);
      const monitor = find(objects, 'ServiceMonitor', 'mpiaas');
      expect(monitor.metadata.namespace).toBe('mpiaas');
      const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path?: string }[] };
      expect(spec.endpoints).toMatchObject([{ port: 'metrics', path: '/metrics' }]);
      const selected = objects.filter((o) => o.kind === 'Service' && selects(spec.selector.matchLabels, o.metadata.labels ?? {}));
      expect(selected.map((o) => o.metadata.name).sort()).toEqual(['api-metrics', 'worker-metrics']);
      for (const service of selected) {
        expect((service.spec as { ports: { name: string }[] }).ports.map((p) => p.name)).toEqual(['metrics']);
      }
    });
  });

  describe('components/keda in an overlay of its own making', () => {
    test('the kind overlay plus KEDA: the target follows its SLOTS=2, KEDA reads the generated Secret', () => {
      if ('missing' in kustomize) throw new Error(kustomize.missing);
      // overlays/kind with components/keda added: SLOTS is merged into worker-config and the
      // Secret generated (with a hashed name) by the overlay, after the component's turn. Its
      // patch's fixed `replicas` goes, as it must in any overlay that uses KEDA, and a laptop's
      // bounds come in: 4 workers of 2 slots, so jobs of at most 8 ranks.
      const dir = path.join(copy.dir, 'scratch/kind-with-keda');
      cpSync(path.join(copy.dir, 'overlays/kind'), dir, { recursive: true });
      writeFileSync(path.join(dir, 'secrets.env'), copy.secretsEnv); // an earlier test removes kind's
      const edit = (file: string, from: RegExp | string, to: string): void => {
        const text = readFileSync(path.join(dir, file), 'utf8');
        expect(text, file).toMatch(from);
        writeFileSync(path.join(dir, file), text.replace(from, to));
      };
      edit('kustomization.yaml', '  - ../../components/redis\n', '  - ../../components/redis\n  - ../../components/keda\n');
      edit('laptop-resources.yaml', /^ {2}replicas: \d+\n/m, '');
      edit('kustomization.yaml', 'configMapGenerator:\n', 'configMapGenerator:\n  - { name: api-config, behavior: merge, literals: [MAX_NP=8] }\n');
      edit('kustomization.yaml', /patches:\n/, 'patches:\n  - target: { group: keda.sh, kind: ScaledObject, name: worker }\n    patch: \'[{"op": "replace", "path": "/spec/maxReplicaCount", "value": 4}]\'\n');
      const result = kustomize.build(dir);
      if (!result.ok) throw new Error(result.error);
      const objects = result.objects;
      expect(configMap(objects, 'worker-config').SLOTS).toBe('2');
      expect(objects.flatMap((o) => schemaErrors(o).map((e) => `${o.kind}/${o.metadata.name}: ${e}`))).toEqual([]);
      expectSlotScaling(objects);
      expect(triggerAuthenticationProblems(objects)).toEqual([]);
    });
  });
});

interface NetworkPolicySpec {
  policyTypes: string[];
  ingress?: unknown[];
  egress?: {
    to?: { podSelector?: { matchLabels?: Record<string, string> }; ipBlock?: { cidr: string; except?: string[] } }[];
    ports?: { protocol?: string; port: number }[];
  }[];
}

interface StatefulSetSpec {
  template: { spec: import('kubernetes-models/v1').IPodSpec };
  volumeClaimTemplates?: { metadata: { name: string }; spec: { resources: { requests: Record<string, string> } } }[];
}

interface IngressSpec {
  rules: { http: { paths: { backend: { service?: { name: string; port: { name?: string } } } }[] } }[];
}

/** Each egress rule as `PROTO/port -> destination`; a rule without ports or peers is `any`. */
function describeEgress(policy: NetworkPolicySpec): string[] {
  return (policy.egress ?? []).flatMap((rule) => {
    const peers = (rule.to ?? []).map(
      (peer) => peer.ipBlock?.cidr ?? peer.podSelector?.matchLabels?.['app.kubernetes.io/component'] ?? peer.podSelector?.matchLabels?.['k8s-app'] ?? 'any',
    );
    const ports = (rule.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`);
    if (peers.length === 0 || ports.length === 0) return ['any'];
    return ports.flatMap((port) => peers.map((peer) => `${port} -> ${peer}`));
  });
}

/** Redis' `768mb` (binary, as Redis reads it) or a Kubernetes quantity `1Gi` → bytes. */
function bytes(quantity: string): number {
  const match = /^(\d+)\s*(gb|mb|kb|Gi|Mi|Ki|G|M|K)?$/.exec(quantity.trim());
  if (!match) throw new Error(`not a size: ${quantity}`);
  const units: Record<string, number> = { gb: 2 ** 30, mb: 2 ** 20, kb: 2 ** 10, Gi: 2 ** 30, Mi: 2 ** 20, Ki: 2 ** 10, G: 1e9, M: 1e6, K: 1e3 };
  const unit = units[match[2] ?? ''] ?? 1;
  return Number(match[1]) * unit;
}

/**
 * components/keda as rendered: the worker follows ceil(ranks of QUEUED + RUNNING jobs / SLOTS),
 * SLOTS being what the worker container itself is configured with, authenticated with the
 * worker's own DATABASE_URL.
 */
function expectSlotScaling(objects: K8sObject[]): void {
  const scaled = find(objects, 'ScaledObject', 'worker').spec as ScaledObjectSpec;
  expect(scaled.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'worker' });
  // The ScaledObject's HPA owns the count: a fixed one would be reset on every apply.
  expect((find(objects, 'Deployment', 'worker').spec as { replicas?: number }).replicas).toBeUndefined();

  // One trigger, on Postgres: a Redis one on queue depth would count jobs, not ranks.
  expect(scaled.triggers.map((t) => t.type)).toEqual(['postgresql']);
  const trigger = scaled.triggers[0] as ScaledObjectSpec['triggers'][number];
  // AverageValue: the HPA wants ceil(metric / target) pods (and fallback works only with it).
  expect(trigger.metricType ?? 'AverageValue').toBe('AverageValue');

  // The query: the sum of np over QUEUED and RUNNING jobs, 0 without any (keda-query.test.ts
  // runs it against the schema), unchanged by overlays.
  const query = (trigger.metadata.query ?? '').replace(/\s+/g, ' ').trim();
  expect(trigger.metadata.query).toBe(componentSlotQuery());
  const match = /^SELECT COALESCE\(SUM\(np\), ?0\) FROM jobs WHERE status IN \(([^)]*)\)$/i.exec(query);
  expect(match, `${path.relative(REPO, SCALED_OBJECT_FILE)}: ${query}`).not.toBeNull();
  const statuses = (match?.[1] ?? '').split(',').map((status) => status.trim().replace(/^'(.*)'$/, '$1'));
  expect(statuses.sort()).toEqual(['QUEUED', 'RUNNING']);

  // targetQueryValue = the worker container's SLOTS: one worker per SLOTS ranks.
  const worker = workload(objects, 'Deployment/worker').pod.containers[0] as IContainer;
  const slots = containerEnv(objects, worker, PLACEHOLDERS).SLOTS;
  expect(slots, 'the worker sets SLOTS').toMatch(/^\d+$/);
  expect(trigger.metadata.targetQueryValue).toBe(slots);
  expect(Number(trigger.metadata.activationTargetQueryValue ?? 0)).toBe(0);

  // Bounds: the largest job the api accepts fits in maxReplicaCount workers' slots, or it
  // would wait forever with the pool pinned at the maximum.
  const api = workload(objects, 'Deployment/api').pod.containers[0] as IContainer;
  const maxNp = loadConfig(containerEnv(objects, api, PLACEHOLDERS) as Record<string, string>).maxNp;
  const [min, max] = [scaled.minReplicaCount ?? 0, scaled.maxReplicaCount ?? 100];
  expect(min).toBeGreaterThanOrEqual(1);
  expect(max * Number(slots), `maxReplicaCount ${max} × SLOTS ${slots} < MAX_NP ${maxNp}`).toBeGreaterThanOrEqual(maxNp);

  // KEDA unable to query: keep the workers there are rather than stop busy ones.
  expect(scaled.fallback?.behavior).toBe('currentReplicasIfHigher');
  expect(scaled.fallback?.failureThreshold).toBeGreaterThanOrEqual(1);
  expect(scaled.fallback?.replicas).toBeGreaterThanOrEqual(min);
  expect(scaled.fallback?.replicas).toBeLessThanOrEqual(max);
  // Scale-down waits longer than a worker's SIGTERM grace before it removes anything.
  const grace = Number(configMap(objects, 'worker-config').SHUTDOWN_GRACE_SECONDS);
  expect(scaled.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown?.stabilizationWindowSeconds).toBeGreaterThan(grace);

  // Authentication: the connection is the worker's own DATABASE_URL reference.
  const auth = find(objects, trigger.authenticationRef?.kind ?? 'TriggerAuthentication', trigger.authenticationRef?.name ?? '');
  const refs = (auth.spec as TriggerAuthenticationSpec).secretTargetRef ?? [];
  const workerDatabaseUrl = worker.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef;
  expect(refs.map((r) => r.parameter)).toEqual(['connection']);
  expect({ name: refs[0]?.name, key: refs[0]?.key }).toEqual({ name: workerDatabaseUrl?.name, key: workerDatabaseUrl?.key });
}

/**
 * Each TriggerAuthentication's Secret references: to a rendered Secret that has the key, or,
 * where no overlay renders one, to the Secret docs/deploy.md has operators create, with a key
 * the docs name.
 */
function triggerAuthenticationProblems(objects: K8sObject[]): string[] {
  const secrets = objects.filter((o) => o.kind === 'Secret');
  const documented = new Set(documentedSecretKeys());
  const problems: string[] = [];
  for (const o of objects.filter((x) => x.kind === 'TriggerAuthentication')) {
    for (const ref of (o.spec as TriggerAuthenticationSpec).secretTargetRef ?? []) {
      const secret = secrets.find((x) => x.metadata.name === ref.name);
      const id = `TriggerAuthentication/${o.metadata.name} ${ref.parameter}`;
      if (secret) {
        if (!Object.keys((secret.data ?? secret.stringData ?? {}) as object).includes(ref.key)) problems.push(`${id}: Secret ${ref.name} has no key ${ref.key}`);
      } else if (secrets.length > 0) {
        problems.push(`${id}: Secret ${ref.name} does not exist`);
      } else if (ref.name !== REQUIRED_SECRET || !documented.has(ref.key)) {
        problems.push(`${id}: ${ref.name}/${ref.key} is neither rendered nor documented in docs/deploy.md`);
      }
    }
  }
  return problems;
}

/** "4Gi", "512Mi", "1G" → bytes. */
function quantityBytes(quantity: unknown): number {
  const match = /^(\d+)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(String(quantity ?? ''));
  if (!match) return 0;
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(match[1]) * (match[2] ? (units[match[2]] ?? 1) : 1);
}
