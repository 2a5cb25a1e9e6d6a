/**
 * What a rank is waiting for, as its agent sees it: the raw material of deadlock detection
 * and of the diagnosis of a stuck job. Ranks are world ranks; `comm` names the communicator.
 */
export type PendingOp =
  | { op: 'recv'; peer: number | 'any'; tag: number | 'any'; comm: string }
  | { op: 'probe'; peer: number | 'any'; tag: number | 'any'; comm: string }
  | { op: 'ssend'; peer: number; tag: number; comm: string }
  | { op: string; comm: string; root?: number; collective: true };

/** One rank's state in an agent's snapshot. */
export interface RankState {
  rank: number;
  /** blocked: in a blocking MPI call nothing local can finish; finished: its channel closed. */
  state: 'blocked' | 'finished' | 'running';
  /** What it waits for (blocked only): every request of its wait, or its probe. */
  pending?: PendingOp[];
}

/** A collective this agent has started, and whether its local members have all contributed. */
export interface CollectiveState {
  key: string;
  agents: number[];
  sent: boolean;
}

/**
 * One agent's view at one moment. Two snapshots of every agent, taken a detection period
 * apart, that show every rank blocked or finished, nothing in flight and no progress, prove
 * a deadlock (PROTOCOL.md, "Deadlock detection").
 */
export interface AgentSnapshot {
  agent: number;
  /** Rank envelopes (messages, acks, flush markers) this agent's ranks sent / it received. */
  sent: number;
  received: number;
  /** Bumped by every frame a rank sends and every envelope or completion the agent handles. */
  progress: number;
  /** Every hosted rank is attached (started). */
  complete: boolean;
  ranks: RankState[];
  collectives: CollectiveState[];
}

/** Whether the snapshots (one per agent, twice) prove that no rank can ever move again. */
export function isDeadlocked(before: readonly AgentSnapshot[], after: readonly AgentSnapshot[], agentCount: number): boolean {
  if (before.length !== agentCount || after.length !== agentCount) return false;
  for (const snapshot of after) {
    const earlier = before.find((s) => s.agent === snapshot.agent);
    if (!earlier || earlier.progress !== snapshot.progress || earlier.sent !== snapshot.sent || earlier.received !== snapshot.received) return false;
    if (!snapshot.complete) return false;
    if (snapshot.ranks.some((rank) => rank.state === 'running')) return false;
  }
  const ranks = after.flatMap((s) => s.ranks);
  if (!ranks.some((rank) => rank.state === 'blocked')) return false;
  // Nothing in flight: every envelope sent was received.
  const sent = after.reduce((n, s) => n + s.sent, 0);
  const received = after.reduce((n, s) => n + s.received, 0);
  if (sent !== received) return false;
  // A collective every participating agent has sent its part of completes by itself.
  const collectives = new Map<string, { agents: number[]; sent: Set<number> }>();
  for (const snapshot of after) {
    for (const c of snapshot.collectives) {
      const entry = collectives.get(c.key) ?? { agents: c.agents, sent: new Set<number>() };
      if (c.sent) entry.sent.add(snapshot.agent);
      collectives.set(c.key, entry);
    }
  }
  for (const { agents, sent: sentBy } of collectives.values()) {
    if (agents.every((agent) => sentBy.has(agent))) return false;
  }
  return true;
}

/** "ranks 0,1 wait in recv from each other; rank 2 waits in bcast (root 0)…" */
export function deadlockSummary(ranks: readonly RankState[]): string {
  const byRank = new Map(ranks.map((r) => [r.rank, r]));
  const finished = new Set(ranks.filter((r) => r.state === 'finished').map((r) => r.rank));
  const blocked = ranks.filter((r) => r.state === 'blocked').sort((a, b) => a.rank - b.rank);
  const said = new Set<number>();
  const parts: string[] = [];
  for (const rank of blocked) {
    if (said.has(rank.rank)) continue;
    const first = rank.pending?.length === 1 ? rank.pending[0] : undefined;
    // Two ranks receiving from each other (and waiting for nothing else).
    if (first && 'peer' in first && first.op === 'recv' && typeof first.peer === 'number') {
      const other = byRank.get(first.peer);
      const back = other?.pending?.length === 1 ? other.pending[0] : undefined;
      if (other?.state === 'blocked' && back && 'peer' in back && back.op === 'recv' && back.peer === rank.rank) {
        parts.push(`ranks ${rank.rank},${other.rank} wait in recv from each other`);
        said.add(rank.rank).add(other.rank);
        continue;
      }
    }
    said.add(rank.rank);
    parts.push(`rank ${rank.rank} waits in ${describePending(rank.pending ?? [], finished)}`);
  }
  return parts.join('; ');
}

function describePending(pending: readonly PendingOp[], finished: ReadonlySet<number>): string {
  if (pending.length === 0) return 'a wait on nothing it can get';
  return pending
    .map((p) => {
      if ('collective' in p) return `${p.op}${p.root === undefined ? '' : ` (root ${p.root})`}${p.comm === 'w' ? '' : ` on communicator ${p.comm}`}`;
      const peer = p.peer === 'any' ? 'any rank' : `rank ${p.peer}${finished.has(p.peer) ? ', which has finished' : ''}`;
      const verb = p.op === 'ssend' ? 'ssend to' : `${p.op} from`;
      return `${verb} ${peer}${p.tag === 'any' ? '' : ` (tag ${p.tag})`}`;
    })
    .join(' and ');
}
