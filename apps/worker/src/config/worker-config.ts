import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_QUOTAS } from '@mpiaas/contracts';
import { storageConfigSchema } from '@mpiaas/storage';

const bytes = z.coerce.number().int().positive();

/** Everything the worker reads from its environment, validated once at boot. */
export const WorkerConfigSchema = z.object({
  DATABASE_URL: z.string().url().default('postgresql://postgres:postgres@127.0.0.1:5432/mpiaas'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix; the api must use the same. */
  QUEUE_PREFIX: z.string().min(1).default('mpiaas'),
  /** Prefix of the rank-traffic keys (`<prefix>{jobId}:…`). */
  MPIAAS_REDIS_PREFIX: z.string().min(1).default('mpi:'),
  /** Rank slots of this worker: a job of np ranks takes np of them. */
  SLOTS: z.coerce.number().int().positive().max(256).default(2 * os.availableParallelism()),
  MPIAAS_PYTHON: z.string().min(1).default('python3'),
  /** Folder ranks load the mpi4py shim from; by default the worker puts a readable copy under WORK_DIR. */
  MPIAAS_SHIM_PATH: z.string().min(1).optional(),
  /** Address-space limit of each rank (RLIMIT_AS). */
  RANK_MEMORY_BYTES: bytes.default(2 * 1024 ** 3),
  /**
   * Memory of all a job's ranks together (cgroup v1 memory controller, where writable); a
   * job spread over workers gives each worker's share the part of its ranks.
   */
  JOB_MEMORY_BYTES: bytes.default(4 * 1024 ** 3),
  /**
   * Bytes of a job's data its agent on this worker may hold (messages not received yet,
   * collectives not complete, results not waited for, a frame being read): the agent is
   * the worker's own process, outside the ranks' memory limits, so a job going past it fails
   * rather than grow the worker. Its largest message must fit.
   */
  JOB_AGENT_BYTES: bytes.default(1024 ** 3),
  /** Processes and threads of all a job's ranks together (cgroup pids controller): stops fork bombs. */
  JOB_PROCESSES: z.coerce.number().int().positive().default(512),
  /** Bytes under a job's directory on one worker, its /tmp included (checked every second). */
  JOB_DISK_BYTES: bytes.default(1024 ** 3),
  /** Files and folders under a job's directory on one worker. */
  JOB_FILES: z.coerce.number().int().positive().default(10_000),
  /** CPU seconds of all a job's ranks on one worker together; 0: none beyond the time limit. */
  JOB_CPU_SECONDS: z.coerce.number().int().nonnegative().default(0),
  /**
   * 'auto': a root worker starting its ranks itself forks them from a warm interpreter (the
   * rank zygote: numpy and the shim imported once), each entering its sandbox before the
   * script runs; 'off': every rank starts a fresh interpreter through the sandbox's programs.
   */
  RANK_WARM_POOL: z.enum(['auto', 'off']).default('auto'),
  /** 'auto' puts each job's ranks in cgroups of their own where /sys/fs/cgroup allows; 'off' does not. */
  RANK_CGROUPS: z.enum(['auto', 'off']).default('auto'),
  /**
   * 'auto': where the worker puts ranks in cgroups itself (as root), it sets the host's cgroup
   * option favordynmods, so that a rank joins its job's cgroups in 0.2 ms rather than after an
   * RCU grace period (14-20 ms); it holds for the whole host until reboot (runs/cgroup-favor-dynmods.ts).
   * 'off': the host's cgroup options are left alone.
   */
  CGROUP_FAVOR_DYNMODS: z.enum(['auto', 'off']).default('auto'),
  /** Where the cgroup v1 hierarchies are mounted. */
  CGROUP_ROOT: z.string().default('/sys/fs/cgroup'),
  /** Largest file a rank may write (RLIMIT_FSIZE). */
  RANK_FILE_SIZE_BYTES: bytes.default(1024 ** 3),
  /** Open files per rank (RLIMIT_NOFILE). */
  RANK_OPEN_FILES: z.coerce.number().int().positive().default(1024),
  /**
   * How ranks are confined: 'auto' uses bubblewrap (own root, /usr and /etc read-only, the
   * job's directory, a private /tmp, own PIDs, no network) where it runs and falls back to
   * 'unshare' (limits and no network only) otherwise; 'bwrap' refuses to start without it.
   */
  RANK_SANDBOX: z.enum(['auto', 'bwrap', 'unshare']).default('auto'),
  /** 'none' takes the network away from ranks (they need none), 'auto' does so when the kernel allows. */
  RANK_NETWORK: z.enum(['auto', 'none', 'host']).default('auto'),
  /**
   * Ranks run as user ids from here on, one per running job (group id = user id; each worker
   * takes the block `base + pid × 256`). A worker running as root uses 200000 by default, so
   * a script can neither read the worker's memory or environment (its credentials) nor
   * another job's files or processes, and what a job leaves running is killed with it. A
   * non-root worker cannot switch users: its ranks share its own.
   */
  RANK_UID_BASE: z.coerce.number().int().positive().optional(),
  /**
   * Unix socket of a rank launcher (apps/worker/rank-launcher) in another container, which
   * starts the ranks there on this worker's request: user code then runs apart from the
   * worker's credentials (the Kubernetes and docker-compose layouts). That container is the
   * sandbox, so the worker runs one job at a time (it advertises its slots as exclusive).
   */
  RANK_LAUNCHER_SOCKET: z.string().min(1).optional(),
  /** Per-rank cap of stored output (stdout + stderr). */
  LOG_CAP_BYTES: bytes.default(8 * 1024 ** 2),
  /** How often buffered output is written to Postgres. */
  LOG_FLUSH_MS: z.coerce.number().int().positive().default(100),
  /** On SIGTERM, how long running jobs may go on before they are requeued. */
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().nonnegative().default(30),
  /**
   * How long a worker's hold on a job lasts without renewal (renewed at half this). If the
   * worker dies, the job is given to another worker within about this plus the stall interval.
   */
  QUEUE_LOCK_MS: z.coerce.number().int().positive().default(30_000),
  /** How often each worker looks for jobs whose worker died. */
  QUEUE_STALLED_INTERVAL_MS: z.coerce.number().int().positive().default(15_000),
  /**
   * How often the reconciler compares Postgres with the queue (one worker's pass per period
   * cluster-wide). A QUEUED job missing from the queue is re-added within twice this
   * (reconcile-timing.ts): 20 s at the default.
   */
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  /**
   * A RUNNING job its leader has not touched this long (it does every 2 s) has lost its
   * worker: if the queue no longer holds it, the reconciler retries or fails it.
   */
  RECONCILE_STALE_RUNNING_MS: z.coerce.number().int().positive().default(60_000),
  /** How often this worker advertises its slots to the scheduler. */
  HEARTBEAT_INTERVAL_MS: z.coerce.number().int().positive().default(1000),
  /** A worker silent this long loses its slots (its jobs' leaders treat it as lost). */
  WORKER_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  /** How long the agents of a job spread over workers wait for each other before it fails. */
  RENDEZVOUS_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** An agent of a multi-worker job silent this long is lost: the job's other ranks are killed. */
  AGENT_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().positive().default(3000),
  /** Where each job gets a fresh working directory. */
  WORK_DIR: z.string().default(path.join(os.tmpdir(), 'mpiaas-work')),
  WORKER_ID: z.string().default(`${os.hostname()}-${process.pid}`),
  /** What to do when Redis may evict keys: 'warn' or 'refuse' to start. */
  REDIS_EVICTION_CHECK: z.enum(['warn', 'refuse']).default('warn'),
  /**
   * Ranks a tenant's jobs may run at once when the tenant sets no maxRunningRanks: jobs past
   * it wait in line. Set it as on the api (same name, same default).
   */
  TENANT_MAX_RUNNING_RANKS: z.coerce.number().int().positive().default(DEFAULT_QUOTAS.maxRunningRanks),
  /** Port of the Prometheus endpoint (`GET /metrics`, docs/metrics.md); 0: none. A port already taken is logged, not fatal. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9465),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Output files (docs/outputs.md): bytes and files a job may keep from all its ranks on all
   * its workers together. Files past either limit are dropped (listed in
   * `_mpiaas/dropped-<rank>.txt`, counted in the job's filesDropped); the job does not fail.
   */
  OUTPUT_MAX_BYTES: z.coerce.number().int().nonnegative().default(256 * 1024 ** 2),
  OUTPUT_MAX_FILES: z.coerce.number().int().nonnegative().default(1000),
  /** How long output files are kept after they are stored; 0: forever. */
  FILES_RETENTION_SECONDS: z.coerce.number().int().nonnegative().default(7 * 24 * 3600),
  /** How often one worker (cluster-wide) deletes the files past their retention. */
  FILES_CLEANUP_INTERVAL_MS: z.coerce.number().int().min(100).default(10 * 60_000),
}).extend(storageConfigSchema.shape);

export type WorkerConfig = z.infer<typeof WorkerConfigSchema>;

const RANK_UID_BASE_AS_ROOT = 200_000;

export const WORKER_CONFIG = Symbol('WORKER_CONFIG');

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = WorkerConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid worker configuration: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  // The rank launcher runs ranks as its own user: the worker switches to none.
  if (config.RANK_LAUNCHER_SOCKET) delete config.RANK_UID_BASE;
  else if (process.getuid?.() === 0) config.RANK_UID_BASE ??= RANK_UID_BASE_AS_ROOT;
  return config;
}
