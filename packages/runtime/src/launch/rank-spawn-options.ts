import type { Readable } from 'node:stream';
import { rankEnvironment } from './rank-environment';
import type { RankSpawnOptions } from './rank-process';

/** What of an agent's share decides how its ranks start (AgentShareOptions has all of it). */
export interface RankStartOptions {
  jobId: string;
  agent: number;
  placement: readonly number[];
  script: string;
  args?: readonly string[];
  python: string;
  wrapper?: readonly string[];
  shimPath?: string;
  uid?: number;
  gid?: number;
  cwd: string;
  inheritEnv?: boolean;
  env?: Record<string, string>;
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
