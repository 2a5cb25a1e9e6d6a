import type { Redis } from 'ioredis';
import type { Agent } from '../engine/agent';
import type { RedisTransport } from '../redis/redis-transport';

/** An agent's Redis side, when the job has one. */
export interface AgentRedis {
  /** Rendezvous, heartbeat, broadcast and departure of the job's agents. */
  transport: RedisTransport;
  /** The command connection, for work around the job (checks, cleanup). */
  commands: Redis;
}

/** One agent of a job and what it needs to stop: hosted on Redis (hosted-agent.ts) or local (local-agent.ts). */
export interface AgentHost {
  agent: Agent;
  /** Absent for a job of one agent run without Redis. */
  redis?: AgentRedis;
  /** Stops reading the inbox; the command connection stays open. */
  stopInbox(): Promise<void>;
  /** Stops reading the inbox and closes the connections. */
  stop(): Promise<void>;
}
