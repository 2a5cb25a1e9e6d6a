import type { Redis } from 'ioredis';
import { deadlockSummary, isDeadlocked, type AgentSnapshot, type RankState } from '../engine/blocked-state';
import type { JobKeys } from '../redis/job-keys';

/** How often agents take snapshots; a deadlock is declared after STABLE_READS reads in a row. */
export const DEADLOCK_PERIOD_MS = 1000;
const STABLE_READS = 3;

export interface DeadlockWatchOptions {
  agent: number;
  agentCount: number;
  snapshot(): AgentSnapshot;
  /** Where agents of a job spread over hosts publish their snapshots. */
  redis?: { commands: Redis; keys: JobKeys; ttlMs: number };
  onDeadlock(summary: string, ranks: RankState[]): void;
  periodMs?: number;
}

/**
 * Watches a job for a deadlock: every rank blocked in MPI (or finished), nothing in flight,
 * nothing moving. Each agent snapshots its ranks every period; with several agents each
 * publishes its snapshot to Redis and judges all of them (an agent whose ranks have all
 * finished stops, so any agent still running may be the one to declare it). A deadlock is declared
 * only when STABLE_READS consecutive reads agree — the counters of every agent unchanged
 * across them and every envelope sent also received — so a message in flight or a
 * snapshot taken mid-change never counts (PROTOCOL.md, "Deadlock detection").
 */
export class DeadlockWatch {
  private timer: NodeJS.Timeout | undefined;
  private reads: AgentSnapshot[][] = [];
  private busy = false;
  private done = false;

  constructor(private readonly options: DeadlockWatchOptions) {}

  /** The tick in progress, if any: a last snapshot must not be overwritten by an older one. */
  private ticking: Promise<void> = Promise.resolve();

  start(): void {
    this.timer = setInterval(() => {
      if (!this.busy) this.ticking = this.tick();
    }, this.options.periodMs ?? DEADLOCK_PERIOD_MS);
    this.timer.unref();
  }

  stop(): void {
    this.done = true;
    clearInterval(this.timer);
  }

  /**
   * Stops watching, and (with several agents) leaves a last snapshot saying this agent's
   * ranks have all finished: the others may still deadlock waiting for them.
   */
  async finish(): Promise<void> {
    const redis = this.options.redis;
    const started = this.timer !== undefined;
    this.stop();
    if (!started || !redis || this.options.agentCount <= 1) return;
    await this.ticking;
    try {
      await redis.commands.hset(redis.keys.snapshots(), String(this.options.agent), JSON.stringify(this.options.snapshot()));
    } catch {
      // Redis is gone: the job ends otherwise.
    }
  }

  private async tick(): Promise<void> {
    if (this.busy || this.done) return;
    this.busy = true;
    try {
      const own = this.options.snapshot();
      const redis = this.options.redis;
      let all: AgentSnapshot[];
      if (redis && this.options.agentCount > 1) {
        await redis.commands
          .multi()
          .hset(redis.keys.snapshots(), String(this.options.agent), JSON.stringify(own))
          .pexpire(redis.keys.snapshots(), redis.ttlMs)
          .exec();
        const published = await redis.commands.hgetall(redis.keys.snapshots());
        all = Object.values(published).map((text) => JSON.parse(text) as AgentSnapshot);
        // Its own, fresh: the one just written.
        all = [own, ...all.filter((s) => s.agent !== own.agent)];
      } else {
        all = [own];
      }
      this.judge(all);
    } catch {
      // Redis trouble is the liveness watch's business; a missed read only delays detection.
    } finally {
      this.busy = false;
    }
  }

  private judge(all: AgentSnapshot[]): void {
    this.reads.push(all);
    if (this.reads.length > STABLE_READS) this.reads.shift();
    if (this.reads.length < STABLE_READS || this.done) return;
    const { agentCount } = this.options;
    for (let i = 1; i < this.reads.length; i++) {
      if (!isDeadlocked(this.reads[i - 1] as AgentSnapshot[], this.reads[i] as AgentSnapshot[], agentCount)) return;
    }
    const ranks = all.flatMap((snapshot) => snapshot.ranks).sort((a, b) => a.rank - b.rank);
    this.stop();
    this.options.onDeadlock(deadlockSummary(ranks), ranks);
  }
}
