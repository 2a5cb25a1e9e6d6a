import { AGENT_PROTOCOL_VERSION, type ShareOutcome, type ShareVerdict } from '@mpiaas/runtime';

/**
 * A job's leader tells each worker it placed ranks on to run its share (an agent and those
 * ranks). Carried through Redis as JSON; the job itself is read from Postgres.
 */
export interface ShareOrder {
  jobId: string;
  /** The attempt (fencing epoch): only writes of this attempt are accepted. */
  attempt: number;
  /** Index of the agent this worker runs. */
  agent: number;
  /** Agent index of every world rank. */
  placement: number[];
  /** Worker id of every agent. */
  workers: string[];
  /** The worker leading the job: if it stops heartbeating, the share ends. */
  leader: string;
  /** Past this time (ms) the job's rendezvous is over: an order found later is dropped. */
  deadline: number;
  /** The agent protocol its leader speaks (absent: a leader older than this field). */
  protocol?: number;
}

/**
 * Why this worker cannot run the share an order asks for, or undefined if it can: its leader
 * speaks another agent protocol (a worker of another version, during a rolling upgrade,
 * whose placement did not know of versions). The job then fails as the infrastructure's
 * fault, and its retry is placed on workers of one version.
 */
export function orderRefusal(order: ShareOrder): string | undefined {
  if (order.protocol === AGENT_PROTOCOL_VERSION) return undefined;
  return `its leader ${order.leader} speaks agent protocol ${order.protocol ?? '2 or older'}, this worker ${AGENT_PROTOCOL_VERSION} (workers of different versions)`;
}

/** What a rank of a share did, as its worker reports it to the job's leader. */
export interface RankReport {
  rank: number;
  exitCode: number | null;
  signal: string | null;
  startedAt: number;
  finishedAt: number | null;
  stdoutBytes: number;
  stderrBytes: number;
  truncated: boolean;
}

/** How a share ended, reported to the leader once its output is stored. */
export interface ShareReport {
  /** The attempt's run id (`<job>.<attempt>`). */
  runId: string;
  agent: number;
  worker: string;
  verdict?: ShareVerdict & { origin: 'local' | 'remote'; stderrTail?: string };
  /** Where this share's ranks stood when the job was stopped (deadlock, mismatch, timeout, cancel). */
  diagnosis?: ShareOutcome['diagnosis'];
  /** What this share's ranks measured of their MPI calls (those that reached Finalize). */
  profiles?: ShareOutcome['profiles'];
  ranks: RankReport[];
}

/** The run id naming a job's Redis keys for one attempt. */
export const runIdOf = (jobId: string, attempt: number): string => `${jobId}.${attempt}`;
