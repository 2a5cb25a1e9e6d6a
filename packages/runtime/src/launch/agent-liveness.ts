import type { AgentHeartbeat } from '../redis/agent-presence';

export interface LivenessHooks {
  /** This agent could not renew its heartbeat in time: it is cut off and must stop its ranks. */
  selfLost(why: string): void;
  /** Agent `agent`'s heartbeat expired: its worker died or was cut off. */
  peerLost(agent: number): void;
}

/**
 * Heartbeats between the agents of one job. Each agent renews a key that expires after
 * `timeoutMs` three times per period and checks the others' keys as often, so a dead or
 * cut-off worker is noticed by its peers within `timeoutMs` plus one check. The check is
 * symmetric: an agent that cannot renew its own key in time (Redis unreachable, a cut link
 * where TCP just stalls) stops its ranks itself — its peers will call it lost anyway, and
 * ranks of a lost attempt must not keep running.
 */
export class AgentLiveness {
  private beat: NodeJS.Timeout | undefined;
  private watch: NodeJS.Timeout | undefined;
  private lastRenewed = Date.now();
  private stopped = false;
  private checking = false;

  constructor(
    private readonly presence: Pick<AgentHeartbeat, 'heartbeat' | 'alive'>,
    private readonly agent: number,
    private readonly agentCount: number,
    private readonly timeoutMs: number,
    private readonly hooks: LivenessHooks,
  ) {}

  /** Sets the first heartbeat and keeps renewing it. */
  async start(): Promise<void> {
    await this.presence.heartbeat(this.timeoutMs);
    this.lastRenewed = Date.now();
    const period = Math.max(50, Math.floor(this.timeoutMs / 3));
    this.beat = setInterval(() => this.renew(), period);
  }

  /** Starts checking the peers (once all have arrived: each has set its key by then). */
  watchPeers(): void {
    if (this.stopped) return;
    const period = Math.max(50, Math.floor(this.timeoutMs / 3));
    this.watch = setInterval(() => void this.check(), period);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.beat);
    clearInterval(this.watch);
  }

  private renew(): void {
    if (Date.now() - this.lastRenewed > this.timeoutMs) {
      this.stop();
      this.hooks.selfLost(`no heartbeat renewed for ${this.timeoutMs} ms`);
      return;
    }
    this.presence.heartbeat(this.timeoutMs).then(
      () => (this.lastRenewed = Date.now()),
      () => undefined, // the next renew() judges by time, whatever the error
    );
  }

  private async check(): Promise<void> {
    if (this.checking || this.stopped) return;
    this.checking = true;
    try {
      const peers = Array.from({ length: this.agentCount }, (_, agent) => agent).filter((agent) => agent !== this.agent);
      const alive = await this.presence.alive(peers);
      const lost = peers.find((_, index) => !alive[index]);
      if (lost !== undefined && !this.stopped) {
        this.stop();
        this.hooks.peerLost(lost);
      }
    } catch {
      // Our own heartbeat's timing decides whether this agent is cut off.
    } finally {
      this.checking = false;
    }
  }
}
