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

/**
 * One agent's heartbeat key and its view of its peers', on any connection: the job's own
 * (RedisTransport) or one the caller keeps for many jobs (a service share of one agent,
 * whose ranks' traffic never reaches Redis, opens none of its own).
 */
export class AgentHeartbeat {
  constructor(
    private readonly redis: Redis,
    private readonly keys: JobKeys,
    private readonly agent: number,
  ) {}

  /** Renews this agent's heartbeat key for `ms`; resolves once Redis has it. */
  async heartbeat(ms: number): Promise<void> {
    await this.redis.set(this.keys.alive(this.agent), '1', 'PX', ms);
  }

  /** Which of `agents` are accounted for: a live heartbeat key, or gone having left the job. */
  async alive(agents: readonly number[]): Promise<boolean[]> {
    if (agents.length === 0) return [];
    const { beating, departed } = await readPresence(this.redis, this.keys, agents);
    return beating.map((beats, index) => beats || departed.has(agents[index] as number));
  }

  /**
   * Leaves the job as LEAVE_SCRIPT does, in one step: the heartbeat gone and the departure
   * recorded (a leader waiting for this agent's report then allows it time to come).
   */
  async depart(ttlMs: number): Promise<void> {
    const departed = this.keys.departed();
    await this.redis.multi().del(this.keys.alive(this.agent)).sadd(departed, String(this.agent)).pexpire(departed, ttlMs).exec();
  }

  /** Removes this agent's keys (its job's only agent, with nobody waiting for its departure). */
  async remove(): Promise<void> {
    await this.redis.unlink(this.keys.alive(this.agent), this.keys.departed());
  }
}
