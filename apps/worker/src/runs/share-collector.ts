import type { Redis } from 'ioredis';
import { readPresence, type AgentPresence, type JobKeys } from '@mpiaas/runtime';
import type { ShareReport } from './share-order';

export interface ShareCollectorOptions {
  /** Connection for the leader's liveness reads. */
  redis: Redis;
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

const LIVENESS_CHECK_MS = 1000;

/**
 * The leader's side of a job spread over workers: gathers each remote share's report (they
 * arrive through the worker's report list, see OrderListener), and declares lost the agents
 * that will never send one (their worker died or was cut off before reporting). Their peers
 * notice a lost agent by its heartbeat too; this is what ends the job when no peer is left
 * to notice (a single remote share).
 */
export class ShareCollector {
  private readonly reports = new Map<number, ShareReport>();
  private readonly lost = new Set<number>();
  private readonly leftAt = new Map<number, number>();
  private readonly waiting: Set<number>;
  private finish: () => void = () => undefined;
  private readonly done = new Promise<void>((resolve) => (this.finish = resolve));

  constructor(private readonly options: ShareCollectorOptions) {
    this.waiting = new Set(options.agents);
  }

  /** A report from the job's report list. */
  receive(report: ShareReport): void {
    if (!this.waiting.has(report.agent)) return;
    this.reports.set(report.agent, report);
    this.settle(report.agent);
    this.options.onReport?.(report);
  }

  /**
   * Resolves when every awaited agent has reported or is lost. Once `stop` is aborted, an
   * agent still silent after the deadline plus the grace is given up on.
   */
  async collect(stop: AbortSignal): Promise<{ reports: ShareReport[]; lost: number[] }> {
    if (this.waiting.size > 0) {
      const timer = setInterval(() => void this.checkLiveness(stop), LIVENESS_CHECK_MS);
      await this.done;
      clearInterval(timer);
    }
    return { reports: [...this.reports.values()], lost: [...this.lost] };
  }

  private settle(agent: number): void {
    this.waiting.delete(agent);
    if (this.waiting.size === 0) this.finish();
  }

  private async checkLiveness(stop: AbortSignal): Promise<void> {
    const agents = [...this.waiting];
    if (agents.length === 0) return;
    const now = Date.now();
    if (stop.aborted && now > this.options.deadline + this.options.reportGraceMs) {
      for (const agent of agents) this.markLost(agent);
      return;
    }
    let presence: AgentPresence;
    try {
      presence = await readPresence(this.options.redis, this.options.jobKeys, agents);
    } catch {
      return; // Redis unreachable from the leader: its own shares and the queue's lock decide.
    }
    const { beating, departed } = presence;
    agents.forEach((agent, index) => {
      if (!this.waiting.has(agent)) return; // reported meanwhile
      if (departed.has(agent)) {
        // Left the job: its report follows once its output is stored.
        const since = this.leftAt.get(agent) ?? now;
        this.leftAt.set(agent, since);
        if (now - since > this.options.reportGraceMs) this.markLost(agent);
      } else if (!beating[index] && now > this.options.deadline) {
        this.markLost(agent);
      }
    });
  }

  private markLost(agent: number): void {
    if (!this.waiting.has(agent)) return;
    this.lost.add(agent);
    this.settle(agent);
    this.options.onLost(agent, this.options.workers[agent] ?? `agent ${agent}`);
  }
}
