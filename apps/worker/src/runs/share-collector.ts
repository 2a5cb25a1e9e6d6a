import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { JobKeys } from '@mpiaas/runtime';
import type { ShareReport } from './share-order';

export interface ShareCollectorOptions {
  /** Connection for the leader's reads (not a blocking one: it polls). */
  redis: Redis;
  /** Where the shares push their reports. */
  reportsKey: string;
  /** The attempt's rank-traffic keys (agents' heartbeats and departures). */
  jobKeys: JobKeys;
  /** Agents run by other workers, whose reports to wait for. */
  agents: readonly number[];
  workers: readonly string[];
  /** Until this time (ms) an agent may still be on its way (the rendezvous deadline). */
  deadline: number;
  /** An agent that left without a report this long ago is lost (its worker died storing output). */
  reportGraceMs: number;
  /** Called once per agent found lost. */
  onLost(agent: number, worker: string): void;
  /** Called with each report as it arrives. */
  onReport?(report: ShareReport): void;
}

const POLL_MS = 200;
const LIVENESS_EVERY = 5;

/**
 * The leader's side of a job spread over workers: collects each remote share's report, and
 * declares lost the agents that will never send one (their worker died or was cut off
 * before reporting). Their peers notice a lost agent by its heartbeat too; this is what
 * ends the job when no peer is left to notice (a single remote share).
 */
export class ShareCollector {
  private readonly reports = new Map<number, ShareReport>();
  private readonly lost = new Set<number>();
  private readonly leftAt = new Map<number, number>();

  constructor(private readonly options: ShareCollectorOptions) {}

  /** Resolves when every awaited agent has reported or is lost; `stop` ends the wait early. */
  async collect(stop: AbortSignal): Promise<{ reports: ShareReport[]; lost: number[] }> {
    const waiting = new Set(this.options.agents);
    for (let round = 0; waiting.size > 0; round++) {
      await this.drain(waiting);
      if (waiting.size === 0) break;
      if (round % LIVENESS_EVERY === LIVENESS_EVERY - 1) await this.checkLiveness(waiting);
      if (waiting.size === 0) break;
      if (stop.aborted && Date.now() > this.options.deadline + this.options.reportGraceMs) {
        for (const agent of waiting) this.markLost(agent, waiting);
        break;
      }
      await delay(POLL_MS);
    }
    return { reports: [...this.reports.values()], lost: [...this.lost] };
  }

  private async drain(waiting: Set<number>): Promise<void> {
    const raw = await this.options.redis.lpop(this.options.reportsKey, 64).catch(() => null);
    for (const text of raw ?? []) {
      const report = JSON.parse(text) as ShareReport;
      if (!waiting.has(report.agent)) continue;
      this.reports.set(report.agent, report);
      waiting.delete(report.agent);
      this.options.onReport?.(report);
    }
  }

  private async checkLiveness(waiting: Set<number>): Promise<void> {
    const agents = [...waiting];
    const { redis, jobKeys } = this.options;
    let beats: (string | null)[];
    let departed: Set<number>;
    try {
      const [alive, left] = await Promise.all([
        redis.mget(...agents.map((agent) => jobKeys.alive(agent))),
        redis.smembers(jobKeys.departed()),
      ]);
      beats = alive;
      departed = new Set(left.map(Number));
    } catch {
      return; // Redis unreachable from the leader: its own shares and the queue's lock decide.
    }
    const now = Date.now();
    agents.forEach((agent, index) => {
      if (departed.has(agent)) {
        // Left the job: its report follows once its output is stored.
        const since = this.leftAt.get(agent) ?? now;
        this.leftAt.set(agent, since);
        if (now - since > this.options.reportGraceMs) this.markLost(agent, waiting);
      } else if (beats[index] === null && now > this.options.deadline) {
        this.markLost(agent, waiting);
      }
    });
  }

  private markLost(agent: number, waiting: Set<number>): void {
    waiting.delete(agent);
    this.lost.add(agent);
    this.options.onLost(agent, this.options.workers[agent] ?? `agent ${agent}`);
  }
}
