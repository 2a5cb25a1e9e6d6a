import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '@nestjs/common';
import type { RankHandle, RankSpawnOptions } from '@mpiaas/runtime';
import { LaunchedRank } from '../launcher/launched-rank';

/** What a rank forked by the zygote needs beyond its spawn options. */
export interface ZygoteRankSandbox {
  /** The job's directory on this host (its /job in the bwrap sandbox). */
  jobDir: string;
  uid?: number;
  gid?: number;
  /** The cgroup.procs files of the job's cgroups. */
  cgroups: readonly string[];
}

/** How long the zygote may take to import numpy and the shim and say it is ready. */
const READY_TIMEOUT_MS = 60_000;
/** A zygote that died is started again after this (ranks start cold meanwhile). */
const RESTART_DELAY_MS = 1000;

/**
 * The worker's warm pool: one Python process (apps/worker/rank-zygote) that imported numpy and
 * the shim once and forks each rank of this worker, which then enters its sandbox and runs
 * its script without starting an interpreter. Ranks reach it over a Unix socket only the
 * worker's user can open, speaking the rank launcher's protocol. If it dies it is started
 * again; meanwhile `available` is false and ranks start as fresh processes.
 */
export class RankZygote {
  private child: ChildProcess | undefined;
  private ready = false;
  private stopped = false;

  /** The environment a rank starts warm with (the zygote's own, as started). */
  readonly rankEnvironment: Record<string, string>;

  constructor(
    private readonly command: readonly string[],
    private readonly env: Record<string, string>,
    readonly socketPath: string,
    private readonly logger: Logger,
  ) {
    this.rankEnvironment = Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'MPIAAS_ZYGOTE_ENVIRON_SPACE'));
  }

  /** Whether ranks can be forked now. */
  get available(): boolean {
    return this.ready && !this.stopped;
  }

  /** Starts the zygote; resolves once it listens (rejects if it fails to). */
  start(): Promise<void> {
    const [file, ...args] = this.command;
    const child = spawn(file as string, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
    this.child = child;
    createInterface({ input: child.stderr }).on('line', (line) => this.logger.warn(line));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the rank zygote was not ready within ${READY_TIMEOUT_MS / 1000} s`));
      }, READY_TIMEOUT_MS);
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          const hello = JSON.parse(line) as { ready?: boolean; preloaded?: string[] };
          if (!hello.ready) throw new Error(line);
          this.ready = true;
          this.logger.log(`rank zygote ready (pid ${child.pid}): ${hello.preloaded?.join(', ') ?? 'nothing'} imported`);
          resolve();
        } catch (error) {
          child.kill('SIGKILL');
          reject(new Error(`the rank zygote said ${line}: ${(error as Error).message}`));
        }
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.ready = false;
        if (this.child === child) this.child = undefined;
        reject(new Error(`the rank zygote exited (${code ?? signal})`));
        if (this.stopped) return;
        this.logger.error(`the rank zygote exited (${code ?? signal}): ranks start cold until it is back`);
        setTimeout(() => {
          if (!this.stopped) this.start().catch((error: Error) => this.logger.error(`rank zygote: ${error.message}`));
        }, RESTART_DELAY_MS).unref();
      });
    });
  }

  /** Forks a rank of a job whose directory, user and cgroups `sandbox` says. */
  spawn(options: RankSpawnOptions, sandbox: ZygoteRankSandbox): RankHandle {
    return new LaunchedRank(this.socketPath, options, sandbox);
  }

  /** Stops the zygote (it SIGKILLs any rank still running). */
  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
