import { describe, expect, it } from 'vitest';
import { deadlockSummary, isDeadlocked, type AgentSnapshot, type RankState } from './blocked-state';

const blockedRecv = (rank: number, peer: number): RankState => ({ rank, state: 'blocked', pending: [{ op: 'recv', peer, tag: 'any', comm: 'w' }] });

function snapshot(agent: number, extra: Partial<AgentSnapshot> = {}): AgentSnapshot {
  return { agent, sent: 2, received: 2, progress: 10, complete: true, ranks: [blockedRecv(agent, 1 - agent)], collectives: [], ...extra };
}

describe('isDeadlocked', () => {
  const still = [snapshot(0), snapshot(1)];

  it('every rank blocked, nothing in flight, nothing moving across reads', () => {
    expect(isDeadlocked(still, still, 2)).toBe(true);
  });

  it('not while an envelope is in flight (sent but not received)', () => {
    const inFlight = [snapshot(0, { sent: 3 }), snapshot(1)];
    expect(isDeadlocked(inFlight, inFlight, 2)).toBe(false);
  });

  it('not if any agent moved between the reads, or one has not reported', () => {
    expect(isDeadlocked(still, [snapshot(0, { progress: 11 }), snapshot(1)], 2)).toBe(false);
    expect(isDeadlocked([snapshot(0)], [snapshot(0)], 2)).toBe(false);
  });

  it('not while a rank runs outside MPI, or before every rank started', () => {
    const running = [snapshot(0, { ranks: [{ rank: 0, state: 'running' }] }), snapshot(1)];
    expect(isDeadlocked(running, running, 2)).toBe(false);
    const starting = [snapshot(0, { complete: false }), snapshot(1)];
    expect(isDeadlocked(starting, starting, 2)).toBe(false);
  });

  it('not when every agent has sent its part of a pending collective (its bundles are on the way)', () => {
    const collective = { key: 'w#0', agents: [0, 1], sent: true };
    const completing = [snapshot(0, { collectives: [collective] }), snapshot(1, { collectives: [collective] })];
    expect(isDeadlocked(completing, completing, 2)).toBe(false);
    const stuck = [snapshot(0, { collectives: [collective] }), snapshot(1, { collectives: [{ ...collective, sent: false }] })];
    expect(isDeadlocked(stuck, stuck, 2)).toBe(true);
  });

  it('not when every rank has finished', () => {
    const done = [snapshot(0, { ranks: [{ rank: 0, state: 'finished' }] }), snapshot(1, { ranks: [{ rank: 1, state: 'finished' }] })];
    expect(isDeadlocked(done, done, 2)).toBe(false);
  });
});

describe('deadlockSummary', () => {
  it('pairs ranks receiving from each other and names finished peers', () => {
    expect(deadlockSummary([blockedRecv(0, 1), blockedRecv(1, 0)])).toBe('ranks 0,1 wait in recv from each other');
    expect(deadlockSummary([{ rank: 0, state: 'finished' }, blockedRecv(1, 0)])).toBe('rank 1 waits in recv from rank 0, which has finished');
    expect(
      deadlockSummary([
        { rank: 0, state: 'blocked', pending: [{ op: 'Bcast', comm: 'w', root: 0, collective: true }] },
        { rank: 1, state: 'blocked', pending: [{ op: 'probe', peer: 'any', tag: 3, comm: 'w' }] },
      ]),
    ).toBe('rank 0 waits in Bcast (root 0); rank 1 waits in probe from any rank (tag 3)');
  });
});
