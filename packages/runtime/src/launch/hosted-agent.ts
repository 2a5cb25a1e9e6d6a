import os from 'node:os';
import type { Redis } from 'ioredis';
import { Agent, type AgentHooks } from '../engine/agent';
import { connectRedis } from '../redis/connect';
import type { JobKeys } from '../redis/job-keys';
import { RedisTransport } from '../redis/redis-transport';

export interface HostedAgentOptions {
  redisUrl: string;
  keys: JobKeys;
  /** This agent's index among the job's agents. */
  agent: number;
  /** Agent index hosting each world rank. */
  placement: readonly number[];
  ttlMs: number;
  hooks: AgentHooks;
  /** Redis failed under the agent: the job cannot go on. */
  onFault(error: Error): void;
}

/** An agent with its own two Redis connections (commands, and the blocking inbox reader). */
export interface HostedAgent {
  agent: Agent;
  /** Its Redis side: rendezvous, heartbeat, broadcast and departure of the job's agents. */
  transport: RedisTransport;
  /** The command connection, for work around the job (checks, cleanup). */
  commands: Redis;
  /** Stops reading the inbox; the command connection stays open. */
  stopInbox(): Promise<void>;
  /** Stops reading the inbox and closes both connections. */
  stop(): Promise<void>;
}

export async function startHostedAgent(options: HostedAgentOptions): Promise<HostedAgent> {
  const name = `mpiaas:${options.keys.jobId}:agent${options.agent}`;
  const commands = await connectRedis(options.redisUrl, `${name}:commands`);
  const blocking = await connectRedis(options.redisUrl, `${name}:inbox`).catch((error: Error) => {
    commands.disconnect();
    throw error;
  });
  const transport = new RedisTransport({
    commands,
    blocking,
    keys: options.keys,
    agent: options.agent,
    placement: options.placement,
    ttlMs: options.ttlMs,
    onEnvelope: (envelope) => agent.onEnvelope(envelope),
    onFault: (error) => options.onFault(error),
  });
  const agent = new Agent({
    agent: options.agent,
    placement: options.placement,
    jobId: options.keys.jobId,
    host: os.hostname(),
    transport,
    hooks: options.hooks,
  });
  transport.start();
  return {
    agent,
    transport,
    commands,
    stopInbox: () => transport.stop(),
    stop: async () => {
      await transport.stop();
      await commands.quit().catch(() => commands.disconnect());
    },
  };
}
