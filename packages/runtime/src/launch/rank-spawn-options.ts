import type { Readable } from 'node:stream';
import { rankEnvironment } from './rank-environment';
import type { RankSpawnOptions } from './rank-process';

/** What of an agent's share decides how its ranks start (AgentShareOptions extends it). */
export interface RankStartOptions {
  /** Names the job's Redis keys (the service adds the attempt: a fencing epoch). */
  jobId: string;
  /** This agent's index among the job's agents (0..K-1). */
  agent: number;
  /** Agent index hosting each world rank; every agent hosts at least one. */
  placement: readonly number[];
  /** Path of the script, as the rank's python3 will see it (relative to `cwd`). */
  script: string;
  args?: readonly string[];
  /** Interpreter for the ranks; it needs numpy for the buffer API. */
  python: string;
  /** Command each rank's interpreter is started through (limits, isolation); see RankSpawnOptions. */
  wrapper?: readonly string[];
  /** Folder holding the `mpi4py` shim, readable by the ranks' user. @defaultValue SHIM_PATH */
  shimPath?: string;
  /** User and group the ranks run as (the caller must be allowed to switch to them). */
  uid?: number;
  gid?: number;
  cwd: string;
  /** Pass the caller's environment to the ranks (minus credentials), as mpirun does. */
  inheritEnv?: boolean;
  env?: Record<string, string>;
  /** Stdin for rank 0 (used only by the agent hosting it). */
  stdin?: Readable;
}

/**
 * How world rank `rank` of the share starts: interpreter, script, user, environment. One
 * function for the agent and for whoever starts ranks ahead of it (`mpiaas exec` starts them
 * while it loads the Redis client), so both start exactly the same processes.
 */
export function rankSpawnOptions(options: RankStartOptions, rank: number): RankSpawnOptions {
  const hosted = options.placement.flatMap((agent, world) => (agent === options.agent ? [world] : []));
  return {
    rank,
    python: options.python,
    ...(options.wrapper ? { wrapper: options.wrapper } : {}),
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
    script: options.script,
    args: options.args ?? [],
    cwd: options.cwd,
    env: rankEnvironment({
      rank,
      size: options.placement.length,
      localRank: hosted.indexOf(rank),
      jobId: options.jobId,
      ...(options.inheritEnv ? { inherited: process.env } : {}),
      ...(options.env ? { extra: options.env } : {}),
      ...(options.shimPath ? { shimPath: options.shimPath } : {}),
    }),
    ...(rank === 0 && options.stdin ? { stdin: options.stdin } : {}),
  };
}
