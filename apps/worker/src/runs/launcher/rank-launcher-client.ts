import { setTimeout as delay } from 'node:timers/promises';
import type { RankSpawnOptions } from '@mpiaas/runtime';
import { LaunchedRank, launcherConnection } from './launched-rank';
import { LineReader } from './line-reader';

/** What the launcher says of itself. */
export interface LauncherHello {
  uid: number;
  gid: number;
  /** The memory limit of the ranks' container (cgroup), bytes; null if it has none. */
  memoryLimit: number | null;
}

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The worker's side of the rank launcher (apps/worker/rank-launcher): starts ranks in the
 * ranks' container and asks it for what only the ranks' user can do there — measure and
 * remove a job's directory whatever modes the script gave its files, kill what a job left.
 */
export class RankLauncherClient {
  /** The ranks' container's memory limit, bytes, as the launcher last said (null: none). */
  memoryLimit: number | null = null;

  constructor(readonly socketPath: string) {}

  spawn(options: RankSpawnOptions): LaunchedRank {
    return new LaunchedRank(this.socketPath, options);
  }

  async hello(): Promise<LauncherHello> {
    const hello = await this.request<LauncherHello>({ op: 'hello' });
    this.memoryLimit = hello.memoryLimit;
    return hello;
  }

  /** Waits until the launcher answers (its container may start after the worker's). */
  async waitUntilUp(timeoutMs: number): Promise<LauncherHello> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.hello();
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`no rank launcher at ${this.socketPath}: ${(error as Error).message}`);
        await delay(250);
      }
    }
  }

  /** Kills every process of the ranks' container but the launcher; returns how many. */
  async reap(): Promise<number> {
    return (await this.request<{ killed: number }>({ op: 'reap' })).killed;
  }

  usage(dir: string, maxFiles: number): Promise<{ bytes: number; files: number }> {
    return this.request({ op: 'usage', dir, maxFiles });
  }

  /**
   * Hands the worker a job's output folder (or result file): gives the worker's group read
   * access back under it and lists its regular files, never following a link.
   */
  collect(dir: string, maxEntries: number): Promise<{ files: { path: string; bytes: number }[]; skipped: { path: string; why: string }[] }> {
    return this.request({ op: 'collect', dir, maxEntries });
  }

  async remove(dir: string): Promise<void> {
    await this.request({ op: 'remove', dir });
  }

  private request<T>(header: object): Promise<T> {
    return new Promise((resolve, reject) => {
      const socket = launcherConnection(this.socketPath, header);
      const timer = setTimeout(() => socket.destroy(new Error('the rank launcher did not answer')), REQUEST_TIMEOUT_MS);
      const lines = new LineReader<T & { error?: string }>((reply) => {
        clearTimeout(timer);
        socket.destroy();
        if (reply.error !== undefined) reject(new Error(`rank launcher: ${reply.error}`));
        else resolve(reply);
      });
      socket.on('data', (chunk: Buffer) => lines.push(chunk));
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        reject(new Error('the rank launcher closed the connection'));
      });
    });
  }
}
