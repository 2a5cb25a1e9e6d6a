/** Typed headers of the rank ⇄ agent protocol; PROTOCOL.md is the prose version. */

/** -1 on the wire, as in the shim: MPI.ANY_SOURCE / MPI.ANY_TAG. */
export const ANY = -1;

export type CollectiveKind = 'barrier' | 'bcast' | 'gather' | 'scatter' | 'allgather' | 'alltoall';
export type WaitMode = 'all' | 'any' | 'some';

export type RankRequest =
  | { op: 'hello'; v: number }
  | { op: 'comm'; ctx: string; group: number[] }
  | { op: 'free'; ctx: string }
  // shm: the body is a reference to a file in the shared-memory folder holding this many
  // bytes, for a rank of the same agent (PROTOCOL.md, "Shared memory")
  | { op: 'send'; ctx: string; dest: number; tag: number; shm?: number }
  | { op: 'isend'; req: number; ctx: string; dest: number; tag: number; sync: boolean; shm?: number }
  | { op: 'irecv'; req: number; ctx: string; source: number; tag: number }
  // name: the call as the user made it (Bcast, reduce, Barrier…) and at: the script line that
  // made it ("pi.py:41"), named in a collective mismatch and diagnosis; both optional.
  // fold: an Allreduce (allgather) the agent may reduce for the rank (engine/agent-fold.ts):
  // the result is then one part, the folded buffer.
  // m: the collectives the rank met in shared memory on the communicator before this one
  // (PROTOCOL.md, "Collectives in shared memory"), for the number a mismatch gives.
  | { op: 'icoll'; req: number; ctx: string; coll: CollectiveKind; root?: number; parts?: number[]; name?: string; at?: string; fold?: string; m?: number }
  | { op: 'wait'; reqs: number[]; mode: WaitMode }
  | { op: 'test'; reqs: number[]; mode: WaitMode }
  | { op: 'cancel'; req: number }
  // claim: a matched probe (Mprobe): the request id whose receive takes what the probe finds
  | { op: 'probe'; ctx: string; source: number; tag: number; block: boolean; claim?: number }
  | { op: 'abort'; code: number }
  | { op: 'finalize' }
  // The rank's MPI profile (body: JSON, see launch/profile.ts), one-way, just before finalize.
  | { op: 'profile' }
  // The answer to the agent's {stack: 1} (body: JSON {where, call, stack}); see PROTOCOL.md.
  | { op: 'stack' }
  // How many threads the rank runs (the shim's own not counted), one-way, sent when that
  // changes: the rank is blocked only while as many of its calls are.
  | { op: 'threads'; n: number }
  // One-way, from a rank waiting in a collective its members meet in shared memory
  // (PROTOCOL.md, "Collectives in shared memory"): it sleeps there, as blocked as in a call to
  // the agent (park: name, the call as the user made it; root, a bcast's), until unpark.
  | { op: 'park'; ctx: string; name: string; root?: number }
  | { op: 'unpark' }
  // One-way: the members of such a collective called different collectives; the job fails
  // with this description, as when the agent finds it.
  | { op: 'mismatch'; text: string };

export type Completion =
  // shm: the part (count bytes) is a reference to a file holding this many (the message's size)
  | { req: number; kind: 'recv'; source: number; tag: number; count: number; shm?: number }
  | { req: number; kind: 'send' }
  // w: µs the rank waited, after contributing, for the last member to arrive (absent: none).
  | { req: number; kind: 'coll'; counts: number[]; w?: number }
  | { req: number; kind: 'cancelled' };

/** A finished request with the bytes it carries back to the rank (recv: one part; coll: many). */
export interface CompletedRequest {
  completion: Completion;
  /** The reply's payload, part by part, each part as pieces (pieces.ts). */
  parts: (readonly Buffer[])[];
}

export const COLLECTIVE_KINDS: readonly CollectiveKind[] = [
  'barrier',
  'bcast',
  'gather',
  'scatter',
  'allgather',
  'alltoall',
];
