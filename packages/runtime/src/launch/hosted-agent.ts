import os from 'node:os';
import type { Redis } from 'ioredis';
import { Agent, type AgentHooks, type SharedMemory } from '../engine/agent';
import { connectRedis } from '../redis/connect';
import type { JobKeys } from '../redis/job-keys';
import { PayloadConnection } from '../redis/payload-connection';
import { agentCountOf } from '../redis/placement';
import { RedisTransport } from '../redis/redis-transport';
import type { AgentHost, AgentRedis } from './agent-host';

export interface HostedAgentOptions {
  redisUrl: string;
  keys: JobKeys;
  /** This agent's index among the job's agents. */
  agent: number;
  /** Agent index hosting each world rank. */
  placement: readonly number[];
  ttlMs: number;
  hooks: AgentHooks;
  maxHeldBytes?: number;
  sharedMemory?: SharedMemory;
  /** Redis failed under the agent: the job cannot go on. */
  onFault(error: Error): void;
}

/**
 * From this many agents on, a job's collectives are fanned out on a pub/sub channel: measured
 * 15–35% faster than pushing to every inbox for small collectives at 4 and 8 agents, no
 * better at 2 (bench/fanout.mjs, PROTOCOL.md).
 */
export const CHANNEL_MIN_AGENTS = 4;

/**
 * An agent with its own Redis connections: commands, the blocking inbox reader, the payload
 * connection for large messages' chunks, and for jobs of many agents a subscriber to the
 * job's collective channel.
 */
export interface HostedAgent extends AgentHost {
  redis: AgentRedis;
}

export async function startHostedAgent(options: HostedAgentOptions): Promise<HostedAgent> {
  const name = `mpiaas:${options.keys.jobId}:agent${options.agent}`;
  const commands = await connectRedis(options.redisUrl, `${name}:commands`);
  const opened: Redis[] = [commands];
  const open = async (role: string): Promise<Redis> => {
    try {
      const connection = await connectRedis(options.redisUrl, `${name}:${role}`);
      opened.push(connection);
      return connection;
    } catch (error) {
      opened.forEach((connection) => connection.disconnect());
      throw error;
    }
  };
  // Opened beside the others rather than after them: one round trip less before ranks start.
  // The writes of large envelopes' chunks, and this agent's reads of others' (which wait on them).
  const payloadsOpening = openBoth(PayloadConnection.open(options.redisUrl, `${name}:payloads`), PayloadConnection.open(options.redisUrl, `${name}:payload-reads`));
  // Its failure is dealt with below, once the others are open; until then it must not count as unhandled.
  payloadsOpening.catch(() => undefined);
  let blocking: Redis;
  let subscriber: Redis | undefined;
  try {
    blocking = await open('inbox');
    subscriber = agentCountOf(options.placement) >= CHANNEL_MIN_AGENTS ? await open('channel') : undefined;
  } catch (error) {
    payloadsOpening.then((connections) => connections.forEach((connection) => connection.close()), () => undefined);
    throw error;
  }
  let payloads: PayloadConnection;
  let payloadReads: PayloadConnection;
  try {
    [payloads, payloadReads] = await payloadsOpening;
  } catch (error) {
    opened.forEach((connection) => connection.disconnect());
    throw error;
  }
  const transport = new RedisTransport({
    commands,
    blocking,
    payloads,
    payloadReads,
    ...(subscriber ? { subscriber } : {}),
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
    ...(options.maxHeldBytes === undefined ? {} : { maxHeldBytes: options.maxHeldBytes }),
    ...(options.sharedMemory === undefined ? {} : { sharedMemory: options.sharedMemory }),
  });
  transport.start();
  try {
    await transport.subscribe();
  } catch (error) {
    await transport.stop();
    agent.close();
    commands.disconnect();
    payloads.close();
    payloadReads.close();
    throw error;
  }
  return {
    agent,
    redis: { transport, commands },
    stopInbox: () => transport.stop(),
    stop: async () => {
      await transport.stop();
      agent.close();
      payloads.close();
      payloadReads.close();
      await commands.quit().catch(() => commands.disconnect());
    },
  };
}

/** Both connections, or — if one fails — its failure, with the other closed if it opened. */
async function openBoth(
  first: Promise<PayloadConnection>,
  second: Promise<PayloadConnection>,
): Promise<[PayloadConnection, PayloadConnection]> {
  const [a, b] = await Promise.allSettled([first, second]);
  if (a.status === 'fulfilled' && b.status === 'fulfilled') return [a.value, b.value];
  for (const result of [a, b]) if (result.status === 'fulfilled') result.value.close();
  throw (a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason) as Error;
}
