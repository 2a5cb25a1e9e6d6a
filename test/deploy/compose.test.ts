// docker-compose.yml cannot be run here (no Docker engine): it is parsed and checked against the
// Dockerfile, the apps' config schemas and the k8s manifests it mirrors.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_KEYS, STORAGE_KEYS, configError, type App } from './support/app-config';
import { durationSeconds, interpolate, loadCompose, type ComposeFile, type ComposeService } from './support/compose';
import { parseDockerfile } from './support/dockerfile';
import { REPO, parseEnvFile } from './support/workloads';

const text = readFileSync(path.join(REPO, 'docker-compose.yml'), 'utf8');
const DOT_ENV = { POSTGRES_PASSWORD: 'pg-secret', REDIS_PASSWORD: 'redis-secret', MINIO_ROOT_USER: 'mpiaas', MINIO_ROOT_PASSWORD: 'minio-secret' };
const compose = loadCompose(text, DOT_ENV);
const services = compose.services;
const k8sEnv = (file: string) => parseEnvFile(readFileSync(path.join(REPO, 'k8s/base', file), 'utf8'));
const stages = new Set(parseDockerfile(readFileSync(path.join(REPO, 'docker/Dockerfile'), 'utf8')).stages.map((s) => s.name));

function service(name: string): ComposeService {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

function environment(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([key, value]) => [key, String(value)]));
}

function command(name: string): string[] {
  const cmd = service(name).command ?? [];
  return Array.isArray(cmd) ? cmd : cmd.split(/\s+/);
}

describe('docker-compose.yml', () => {
  test('runs postgres, redis, minio, a migrate step, the api and a worker with its ranks', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'migrate', 'minio', 'postgres', 'ranks', 'redis', 'worker']);
  });

  test('every service has a pinned image; app images are built from docker/Dockerfile stages', () => {
    for (const [name, svc] of Object.entries(services)) {
      // A version, or MinIO's release timestamps (RELEASE.2025-09-07T16-13-09Z).
      expect(svc.image, name).toMatch(/^[\w./-]+:(\d[\w.-]*|RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ)$/);
      if (svc.build) {
        expect(svc.build, name).toMatchObject({ context: '.', dockerfile: 'docker/Dockerfile' });
        expect(stages.has(svc.build.target), `${name}: stage ${svc.build.target}`).toBe(true);
      }
    }
    expect(service('api').build?.target).toBe('api');
    expect(service('migrate').build?.target).toBe('api'); // migrate-cli ships in the api image
    expect(service('worker').build?.target).toBe('worker');
  });

  test('Postgres, Redis, MinIO and app images are the ones the k8s manifests deploy', () => {
    const k8s = (file: string) => readFileSync(path.join(REPO, 'k8s', file), 'utf8');
    expect(k8s('components/postgres/postgres.yaml')).toContain(`image: ${service('postgres').image}`);
    expect(k8s('components/redis/redis.yaml')).toContain(`image: ${service('redis').image}`);
    expect(k8s('components/minio/minio.yaml')).toContain(`image: ${service('minio').image}`);
    const tag = /newTag: (\S+)/.exec(k8s('base/kustomization.yaml'))?.[1];
    expect(service('api').image).toBe(`mpiaas-api:${tag}`);
    expect(service('worker').image).toBe(`mpiaas-worker:${tag}`);
  });

  test('no default password: compose refuses to start without POSTGRES_PASSWORD, REDIS_PASSWORD, MINIO_ROOT_USER, MINIO_ROOT_PASSWORD', () => {
    for (const missing of Object.keys(DOT_ENV)) {
      const env = { ...DOT_ENV, [missing]: undefined };
      expect(() => loadCompose(text, env), missing).toThrow(missing);
    }
    expect(interpolate('${X:?set X}', { X: 'v' })).toBe('v');
  });

  test('Redis keeps an append-only file and never evicts', () => {
    const args = command('redis').join(' ');
    expect(args).toMatch(/--appendonly yes\b/);
    expect(args).toMatch(/--maxmemory-policy noeviction\b/);
  });

  test.each(['api', 'worker'] as App[])("the %s's environment is what its config schema accepts", (app) => {
    const env = environment(app);
    expect(Object.keys(env).filter((key) => !CONFIG_KEYS[app].has(key))).toEqual([]);
    expect(configError(app, env)).toBeUndefined();
    // The same settings as in k8s (k8s/base/*.env), bar the URLs.
    const k8s = k8sEnv(`${app}.env`);
    const differing = Object.keys(env).filter((key) => key in k8s && k8s[key] !== env[key]);
    expect(differing).toEqual([]);
  });

  test('the migrate step gets the same DATABASE_URL as the api and worker, and the URLs reach the services', () => {
    const url = environment('migrate').DATABASE_URL ?? '';
    expect(environment('api').DATABASE_URL).toBe(url);
    expect(environment('worker').DATABASE_URL).toBe(url);
    const postgres = environment('postgres');
    const database = new URL(url);
    expect([database.hostname, database.username, database.password, database.pathname.slice(1)]).toEqual([
      'postgres',
      postgres.POSTGRES_USER,
      postgres.POSTGRES_PASSWORD,
      postgres.POSTGRES_DB,
    ]);
    const redis = new URL(environment('api').REDIS_URL ?? '');
    expect([redis.hostname, redis.password]).toEqual(['redis', DOT_ENV.REDIS_PASSWORD]);
    expect(command('redis').join(' ')).toContain(`--requirepass ${DOT_ENV.REDIS_PASSWORD}`);
    expect(environment('api').QUEUE_PREFIX).toBe(environment('worker').QUEUE_PREFIX);
  });

  test('start order: migrate after a healthy Postgres; api and worker after migrate succeeded and a healthy Redis and MinIO', () => {
    expect(command('migrate')).toEqual(['node', 'packages/db/dist/migrate-cli.js']);
    expect(service('migrate').depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const app of ['api', 'worker']) {
      expect(service(app).depends_on?.migrate, app).toEqual({ condition: 'service_completed_successfully' });
      expect(service(app).depends_on?.redis, app).toEqual({ condition: 'service_healthy' });
      expect(service(app).depends_on?.minio, app).toEqual({ condition: 'service_healthy' });
    }
    for (const [name, svc] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(svc.depends_on ?? {})) {
        if (condition === 'service_healthy') expect(service(dependency).healthcheck, `${name} waits on ${dependency}`).toBeDefined();
      }
    }
  });

  test('secure by default: the api asks for API keys, the admin key comes from .env', () => {
    expect(environment('api').AUTH_MODE).toBe('api-key');
    expect(Object.keys(service('api').environment ?? {})).toContain('ADMIN_API_KEY');
    expect(loadCompose(text, { ...DOT_ENV, ADMIN_API_KEY: 'k'.repeat(64) }).services.api?.environment?.ADMIN_API_KEY).toBe('k'.repeat(64));
  });

  test('the api is published on its PORT and checked on /readyz', () => {
    const port = environment('api').PORT;
    expect(service('api').ports).toEqual([`127.0.0.1:${port}:${port}`]);
    expect(service('api').healthcheck?.test.join(' ')).toContain(`127.0.0.1:${port}/readyz`);
  });

  test('the worker publishes nothing and stops gracefully', () => {
    const worker = service('worker');
    expect(worker.ports ?? []).toEqual([]);
    const grace = Number(environment('worker').SHUTDOWN_GRACE_SECONDS);
    expect(durationSeconds(worker.stop_grace_period ?? '10s')).toBeGreaterThanOrEqual(grace + 20);
  });

  test('the app containers run read-only, with no capabilities and no privilege gain', () => {
    for (const name of ['migrate', 'api', 'worker', 'ranks']) {
      expect(service(name), name).toMatchObject({ read_only: true, cap_drop: ['ALL'], security_opt: ['no-new-privileges:true'] });
    }
  });

  describe('output files: MinIO, shared by the api and every worker', () => {
    const minio = service('minio');
    const storage = (name: string) => Object.fromEntries(Object.entries(environment(name)).filter(([key]) => STORAGE_KEYS.has(key)));

    test('MinIO serves /data from a volume of its own on :9000, checked healthy, published nowhere', () => {
      const args = command('minio');
      expect(args.slice(0, 2)).toEqual(['server', '/data']);
      expect(args[args.indexOf('--address') + 1]).toBe(':9000');
      expect(minio.volumes).toEqual(['minio-data:/data']);
      expect(Object.keys(compose.volumes ?? {})).toContain('minio-data');
      expect(minio.healthcheck?.test).toEqual(['CMD', 'mc', 'ready', 'local']);
      expect(minio.ports ?? []).toEqual([]);
      expect(minio.security_opt).toEqual(['no-new-privileges:true']);
    });

    test('its root user and password come from .env, with no default', () => {
      const raw = (parse(text) as { services: Record<string, { environment: Record<string, string> }> }).services.minio?.environment ?? {};
      expect(raw.MINIO_ROOT_USER).toBe('${MINIO_ROOT_USER:?set MINIO_ROOT_USER in .env}');
      expect(raw.MINIO_ROOT_PASSWORD).toBe('${MINIO_ROOT_PASSWORD:?set MINIO_ROOT_PASSWORD in .env}');
      expect(environment('minio')).toMatchObject({ MINIO_ROOT_USER: DOT_ENV.MINIO_ROOT_USER, MINIO_ROOT_PASSWORD: DOT_ENV.MINIO_ROOT_PASSWORD });
      // The header's recipe writes every variable compose requires into .env.
      const recipe = /^# +printf '([^']*)'/m.exec(text)?.[1] ?? '';
      for (const name of Object.keys(DOT_ENV)) expect(recipe, name).toContain(`${name}=`);
    });

    test('the api and the worker use it alike: one anchor, the S3 driver, bucket `mpiaas`, path-style, MinIO\'s credentials', () => {
      expect(storage('api')).toEqual(storage('worker'));
      const env = storage('api');
      expect(env).toMatchObject({ STORAGE_DRIVER: 's3', S3_BUCKET: 'mpiaas', S3_FORCE_PATH_STYLE: 'true', S3_CREATE_BUCKET: 'true' });
      const endpoint = new URL(env.S3_ENDPOINT ?? '');
      expect([endpoint.protocol, endpoint.hostname, endpoint.port]).toEqual(['http:', 'minio', command('minio')[command('minio').indexOf('--address') + 1]?.slice(1)]);
      expect([env.S3_ACCESS_KEY_ID, env.S3_SECRET_ACCESS_KEY]).toEqual([environment('minio').MINIO_ROOT_USER, environment('minio').MINIO_ROOT_PASSWORD]);
      // Written once (x-storage-env), merged into both.
      const raw = parse(text) as Record<string, unknown>;
      expect(Object.keys(raw['x-storage-env'] as object).sort()).toEqual(Object.keys(env).sort());
      expect(text.match(/<<: \*storage-env/g)).toHaveLength(2);
      // Neither the migrate step nor the ranks get any of it.
      expect(Object.keys(storage('migrate'))).toEqual([]);
    });

    test('the endpoint, path style and bucket creation are those of k8s/components/minio', () => {
      const component = parse(readFileSync(path.join(REPO, 'k8s/components/minio/kustomization.yaml'), 'utf8')) as {
        configMapGenerator: { name: string; behavior: string; literals: string[] }[];
      };
      for (const app of ['api', 'worker']) {
        const generator = component.configMapGenerator.find((g) => g.name === `${app}-config`);
        expect(generator?.behavior, app).toBe('merge');
        const literals = Object.fromEntries((generator?.literals ?? []).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
        expect(Object.keys(literals).sort()).toEqual(['S3_CREATE_BUCKET', 'S3_ENDPOINT', 'S3_FORCE_PATH_STYLE']);
        for (const [key, value] of Object.entries(literals)) expect(environment(app)[key], `${app} ${key}`).toBe(value);
      }
    });
  });

  describe('user code runs apart from the credentials (the ranks service)', () => {
    const worker = service('worker');
    const ranks = service('ranks');
    const workDir = environment('worker').WORK_DIR ?? '';
    const launcherSocket = environment('worker').RANK_LAUNCHER_SOCKET ?? '';

    test('the ranks service holds no credential: no environment, nothing interpolated from .env', () => {
      expect(ranks.environment ?? {}).toEqual({});
      const raw = (parse(text) as { services: Record<string, unknown> }).services.ranks;
      expect(JSON.stringify(raw)).not.toMatch(/PASSWORD|DATABASE_URL|REDIS_URL|S3_|MINIO|storage-env|\$\{/);
    });

    test('it runs the rank launcher on the socket the worker uses, in the folder they alone share', () => {
      expect(ranks.image).toBe(worker.image);
      expect(command('ranks').slice(0, 2)).toEqual(['python3', 'apps/worker/rank-launcher/rank_launcher.py']);
      const arg = (flag: string) => command('ranks')[command('ranks').indexOf(flag) + 1];
      expect(arg('--socket')).toBe(launcherSocket);
      expect(arg('--work-dir')).toBe(workDir);
      expect(path.dirname(launcherSocket)).toBe(workDir);
      expect(existsSync(path.join(REPO, 'apps/worker/rank-launcher/rank_launcher.py'))).toBe(true);
      // The one volume they share, at WORK_DIR in both, and no other.
      const volumeAt = (svc: ComposeService, target: string) => (svc.volumes ?? []).find((v) => v.endsWith(`:${target}`))?.split(':')[0];
      expect(volumeAt(ranks, workDir)).toBeDefined();
      expect(volumeAt(worker, workDir)).toBe(volumeAt(ranks, workDir));
      expect(ranks.volumes).toHaveLength(1);
      const shared = (compose.volumes ?? {})[volumeAt(ranks, workDir) ?? ''] as { driver_opts: { o: string } };
      // Owned by the worker's user and group, setgid, nothing for others.
      expect(shared.driver_opts.o).toMatch(/uid=1000,gid=1000,mode=2770/);
    });

    test('its own user in the worker\'s group, no network, one job\'s limits', () => {
      const [uid, gid] = (ranks.user ?? '').split(':');
      expect(uid).not.toBe('1000');
      expect(uid).not.toBe('0');
      expect(gid).toBe('1000');
      expect(ranks.network_mode).toBe('none');
      expect(ranks.mem_limit).toBeDefined();
      expect(ranks.pids_limit).toBeGreaterThan(0);
      expect(ranks.tmpfs ?? []).toEqual([]);
    });

    test('docker-compose.workers.yml adds workers as pairs, each pair with a volume of its own', () => {
      const extra = parse(readFileSync(path.join(REPO, 'docker-compose.workers.yml'), 'utf8')) as ComposeFile;
      const names = Object.keys(extra.services);
      const workers = names.filter((n) => n.startsWith('worker-'));
      expect(workers.length).toBeGreaterThan(0);
      const volumes = new Set<string>();
      for (const name of workers) {
        const pair = extra.services[name.replace('worker-', 'ranks-')];
        expect(pair, `${name} has no ranks service`).toBeDefined();
        expect(extra.services[name]?.extends).toEqual({ file: 'docker-compose.yml', service: 'worker' });
        // The worker's environment (its database, Redis and object store) comes with `extends`.
        expect(extra.services[name]?.environment, name).toBeUndefined();
        expect(pair?.extends).toEqual({ file: 'docker-compose.yml', service: 'ranks' });
        const volume = extra.services[name]?.volumes?.[0] ?? '';
        expect(volume).toBe(`${volume.split(':')[0]}:${workDir}`);
        expect(pair?.volumes).toEqual([volume]);
        volumes.add(volume);
        expect(extra.volumes?.[volume.split(':')[0] ?? '']).toBeDefined();
      }
      expect(volumes.size).toBe(workers.length);
    });
  });
});
