// A large bcast that reaches an agent whole (from another agent through Redis, or from a
// root of its own that could not leave a file) goes to two or more of its ranks through one
// file of the agent's (agent-files.ts), each with its own name; to one rank, through its socket.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../redis/envelope';
import { agentHosting } from './agent.fixture';

const bcast = (req: number, root: number, parts: number[] = []) => ({ op: 'icoll', req, ctx: 'w', coll: 'bcast', root, parts, name: 'Bcast' });
const wait = (req: number) => ({ op: 'wait', reqs: [req], mode: 'all' });

/** Ranks that are not the root join bcast #0 (req 1) and wait for it. */
function join(ranks: readonly { send(header: object, body?: Buffer): void }[]): void {
  for (const r of ranks) {
    r.send(bcast(1, 0));
    r.send(wait(1));
  }
}

/** The bundle agent `a` pushes for bcast #0 of COMM_WORLD (root 0) from its world `ranks`, of two agents. */
const bundleOf = (a: number, ranks: number[], data?: Buffer): Envelope => ({
  header: { t: 'g', c: 'w', q: 0, a, n: 2, m: ranks.map((r) => [r, data && r === 0 ? [data.length] : []]), k: ranks.map((r) => [r, 'Bcast', 'bcast', 0]) },
  body: data ? [data] : [],
});
const rootBundle = (data: Buffer): Envelope => bundleOf(0, [0], data);

describe("Agent: a large bcast for several of its ranks, through one file of the agent's", () => {
  let dir: string;
  const large = Buffer.alloc(1024 * 1024, 7);

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-bcast-files-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("hands the root's data from another agent to its two ranks as references to one file", async () => {
    const { agent, rank } = agentHosting([0, 1, 1], { agentIndex: 1, sharedMemory: { dir } });
    const [r1, r2] = [rank(1), rank(2)];
    join([r1, r2]);
    agent.onEnvelope(rootBundle(large));
    const reference = `.mpiaas-a1-p1 ${large.length}`;
    for (const [world, r] of [[1, r1], [2, r2]] as const) {
      const reply = await r.reply();
      expect(reply.header).toMatchObject({ done: [{ req: 1, kind: 'coll', counts: [0, reference.length] }] });
      expect(reply.body.toString()).toBe(reference);
      expect(readFileSync(path.join(dir, `.mpiaas-a1-p1.${world}`)).equals(large)).toBe(true);
    }
    expect(agent.heldBytes).toBe(0);
    agent.close();
  });

  it("writes the file once for a root of its own that sent its data, not a file", async () => {
    const { agent, rank } = agentHosting([0, 0, 0, 1], { sharedMemory: { dir } });
    const [r0, r1, r2] = [rank(0), rank(1), rank(2)];
    r0.send(bcast(1, 0, [large.length]), large);
    r0.send(wait(1));
    join([r1, r2]);
    agent.onEnvelope(bundleOf(1, [3]));
    for (const r of [r1, r2]) expect((await r.reply()).body.toString()).toBe(`.mpiaas-a0-p1 ${large.length}`);
    expect(readdirSync(dir).sort()).toEqual(['.mpiaas-a0-p1', '.mpiaas-a0-p1.1', '.mpiaas-a0-p1.2']);
    agent.close();
  });

  it('sends the data itself to a single rank, and to ranks without a folder', async () => {
    for (const [placement, sharedMemory] of [
      [[0, 1], { dir }],
      [[0, 1, 1], undefined],
    ] as const) {
      const { agent, rank } = agentHosting([...placement], { agentIndex: 1, ...(sharedMemory ? { sharedMemory } : {}) });
      const ranks = placement.flatMap((a, world) => (a === 1 ? [rank(world)] : []));
      join(ranks);
      agent.onEnvelope(rootBundle(large));
      for (const r of ranks) {
        const reply = await r.reply();
        expect(reply.header).toMatchObject({ done: [{ req: 1, kind: 'coll', counts: [large.length] }] });
        expect(reply.body.equals(large)).toBe(true);
      }
      agent.close();
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('sends a small bcast through the sockets', async () => {
    const { agent, rank } = agentHosting([0, 1, 1], { agentIndex: 1, sharedMemory: { dir } });
    const [r1, r2] = [rank(1), rank(2)];
    join([r1, r2]);
    agent.onEnvelope(rootBundle(Buffer.from('small')));
    for (const r of [r1, r2]) expect((await r.reply()).body.toString()).toBe('small');
    expect(readdirSync(dir)).toEqual([]);
    agent.close();
  });
});
