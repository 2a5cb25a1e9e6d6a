import type { Redis } from 'ioredis';
import type { JobKeys } from './job-keys';

/** What Redis says of some agents of a job: whose heartbeat is live, and who left the job. */
export interface AgentPresence {
  /** Per agent asked about, in order: its heartbeat key exists. */
  beating: boolean[];
  /** Every agent that left the job (ran LEAVE). */
  departed: Set<number>;
}

/**
 * Reads the agents' heartbeats and the job's departures in one round trip (both commands on
 * one connection, in order: an agent that leaves between them shows as departed, never as
 * neither). Used by the agents watching each other and by the service's job leader.
 */
export async function readPresence(redis: Redis, keys: JobKeys, agents: readonly number[]): Promise<AgentPresence> {
  const [beats, left] = await Promise.all([
    agents.length > 0 ? redis.mget(...agents.map((agent) => keys.alive(agent))) : Promise.resolve([]),
    redis.smembers(keys.departed()),
  ]);
  return { beating: beats.map((value) => value !== null), departed: new Set(left.map(Number)) };
}
