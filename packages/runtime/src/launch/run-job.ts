import { randomUUID } from 'node:crypto';
import { agentCountOf, roundRobinPlacement } from '../redis/placement';
import { runAgentShare, type AgentShareOptions, type ShareOutcome } from './agent-share';
import { combineShares } from './combine-shares';
import type { JobOutcome } from './job-outcome';

export type { OutputStream } from './agent-share';

export interface RunJobOptions extends Omit<AgentShareOptions, 'jobId' | 'agent' | 'placement' | 'agentNames'> {
  /** Names the job's Redis keys; a fresh UUID when absent. */
  jobId?: string;
  np: number;
  /**
   * How many agents share the ranks (round-robin). Each has its own Redis connections and
   * inbox, exactly as agents on different hosts would. @defaultValue 1
   */
  agents?: number;
}

/**
 * Runs one job on this host: np ranks of the script, served by `agents` agents whose rank
 * traffic goes through Redis — each with its own connections, exactly as agents of a job
 * spread over several workers (the service runs one share per worker with runAgentShare).
 * Resolves when every rank has exited and the job's Redis keys are gone. Follows mpirun:
 * the first rank to fail takes the whole job down.
 */
export async function runJob(options: RunJobOptions): Promise<JobOutcome> {
  const jobId = options.jobId ?? randomUUID();
  const placement = roundRobinPlacement(options.np, options.agents ?? 1);
  const agentCount = agentCountOf(placement);
  const startedAt = new Date();
  // One agent failing to start (Redis unreachable) stops the others rather than leave them
  // waiting for it at the rendezvous.
  const stopOthers = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stopOthers.signal]) : stopOthers.signal;
  const settled = await Promise.allSettled(
    Array.from({ length: agentCount }, (_, agent) =>
      runAgentShare({ ...options, jobId, agent, placement, signal }).catch((error: unknown) => {
        stopOthers.abort();
        throw error;
      }),
    ),
  );
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return combineShares(
    settled.map((result) => (result as PromiseFulfilledResult<ShareOutcome>).value),
    options.np,
    startedAt,
  );
}

export { deleteJobKeys } from './delete-job-keys';
