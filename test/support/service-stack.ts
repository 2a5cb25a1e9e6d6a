import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { SchedulerKeys } from '@mpiaas/contracts';
import { REDIS_URL, REPO_ROOT } from './mpiaas-exec';
import type { NetnsHost } from './netns-hosts';
import { ServiceHarness } from './service-harness';

const API_MAIN = path.join(REPO_ROOT, 'apps', 'api', 'dist', 'main.js');
const WORKER_MAIN = path.join(REPO_ROOT, 'apps', 'worker', 'dist', 'main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A process of the stack, with its output kept for failure messages. */
export class StackProcess {
  output = '';
  /** Resolves with the exit code, or the signal's name if a signal ended it. */
  readonly exited: Promise<number | string>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/**
 * The whole service as separate processes, as deployed: one api and `workers` workers on
 * a private database and private Redis prefixes.
 */
export class ServiceStack {
  readonly processes: StackProcess[] = [];
  private constructor(
    readonly harness: ServiceHarness,
    readonly url: string,
    private readonly env: Record<string, string>,
  ) {}

  static async start(options: { workers?: number; workerEnv?: Record<string, string> } = {}): Promise<ServiceStack> {
    const harness = await ServiceHarness.start();
    const port = await freePort();
    const env = harness.env({ PORT: String(port), ...options.workerEnv });
    const stack = new ServiceStack(harness, `http://127.0.0.1:${port}`, env);
    stack.spawn('api', API_MAIN);
    const workers = options.workers ?? 1;
    for (let i = 0; i < workers; i++) stack.startWorker();
    await stack.waitReady();
    // A job placed before every worker's first heartbeat would see fewer workers than the
    // test started (a `spread` job on one worker), so start returns once all have registered.
    await stack.waitForWorkers(workers);
    return stack;
  }

  /** Kills the api (as a crash or a lost connection would) and starts a new one on the same port. */
  async restartApi(): Promise<void> {
    const api = this.processes.find((p) => p.name === 'api' && p.child.exitCode === null && p.child.signalCode === null);
    api?.kill('SIGKILL');
    await api?.exited;
    this.spawn('api', API_MAIN);
    await this.waitReady();
  }

  /** Another api process on a port of its own, sharing the database and Redis; resolves with its URL once ready. */
  async addApi(): Promise<string> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    this.spawn(`api${this.processes.length}`, API_MAIN, { PORT: String(port) });
    await this.waitReady(30_000, url);
    return url;
  }

  startWorker(extra: Record<string, string> = {}): StackProcess {
    return this.spawn(`worker${this.processes.length}`, WORKER_MAIN, extra);
  }

  /**
   * Starts a worker on a simulated host of its own (a network namespace): it reaches Redis
   * and Postgres only over that host's link, and works in a directory of its own.
   */
  startWorkerOn(host: NetnsHost, name: string, extra: Record<string, string> = {}): StackProcess {
    const child = host.spawn(process.execPath, [WORKER_MAIN], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...this.env,
        WORKER_ID: name,
        DATABASE_URL: host.databaseUrl(this.harness.databaseUrl),
        REDIS_URL: host.redisUrl,
        WORK_DIR: path.join(os.tmpdir(), `mpiaas-work-${this.harness.id}-${name}`),
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stackProcess = new StackProcess(name, child);
    this.processes.push(stackProcess);
    return stackProcess;
  }

  /** Resolves once `count` workers have registered with the scheduler (their heartbeat). */
  async waitForWorkers(count: number, timeoutMs = 30_000): Promise<void> {
    if (count === 0) return;
    const redis = new Redis(REDIS_URL);
    const heartbeats = new SchedulerKeys(this.harness.queuePrefix).heartbeats;
    try {
      const deadline = Date.now() + timeoutMs;
      while ((await redis.zcard(heartbeats)) < count) {
        if (Date.now() > deadline) throw new Error(`fewer than ${count} workers registered in ${timeoutMs} ms\n${this.logs()}`);
        await delay(100);
      }
    } finally {
      redis.disconnect();
    }
  }

  async stop(): Promise<void> {
    for (const process_ of this.processes) process_.kill('SIGTERM');
    await Promise.race([Promise.all(this.processes.map((p) => p.exited)), delay(15_000)]);
    for (const process_ of this.processes) process_.kill('SIGKILL');
    await this.harness.stop();
  }

  /** Everything the processes printed, for a failing test's message. */
  logs(): string {
    return this.processes.map((p) => `--- ${p.name}\n${p.output}`).join('\n');
  }

  private spawn(name: string, main: string, extra: Record<string, string> = {}): StackProcess {
    const child = spawn(process.execPath, [main], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.env, WORKER_ID: name, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stackProcess = new StackProcess(name, child);
    this.processes.push(stackProcess);
    return stackProcess;
  }

  private async waitReady(timeoutMs = 30_000, url = this.url): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`${url}/readyz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await delay(100);
    }
    throw new Error(`the api did not become ready in ${timeoutMs} ms\n${this.logs()}`);
  }
}
