import os from 'node:os';
import { Agent, type AgentHooks, type AgentTransport, type SharedMemory } from '../engine/agent';
import type { Envelope } from '../redis/envelope';
import type { AgentHost } from './agent-host';

export interface LocalAgentOptions {
  jobId: string;
  /** Every rank on agent 0. */
  placement: readonly number[];
  hooks: AgentHooks;
  maxHeldBytes?: number;
  sharedMemory?: SharedMemory;
}

/**
 * The agent of a job whose ranks all run here, without Redis — as mpirun keeps the traffic of
 * one node in shared memory. Its ranks already talk through it (Agent.deliver); what is left
 * for a transport is the flush marker of a non-blocking probe or test, which comes back on
 * the next turn of the event loop, behind the envelopes handed over before it (those are
 * queued as microtasks). No connection to open or close: `mpiaas exec` on one agent starts
 * without loading a Redis client, and runs where there is no Redis.
 */
export function startLocalAgent(options: LocalAgentOptions): AgentHost {
  if (options.placement.some((agent) => agent !== 0)) throw new Error('a local agent hosts every rank of its job');
  const loopback: AgentTransport = {
    deliver: (header, body) => {
      const envelope: Envelope = { header, body: body ?? [] };
      setImmediate(() => agent.onEnvelope(envelope));
    },
    rendezvous: () => Promise.reject(new Error('a job of one agent has no rendezvous in Redis')),
    pushBundle: () => {
      throw new Error('a job of one agent pushes no bundle to another');
    },
  };
  const agent = new Agent({
    agent: 0,
    placement: options.placement,
    jobId: options.jobId,
    host: os.hostname(),
    transport: loopback,
    hooks: options.hooks,
    ...(options.maxHeldBytes === undefined ? {} : { maxHeldBytes: options.maxHeldBytes }),
    ...(options.sharedMemory === undefined ? {} : { sharedMemory: options.sharedMemory }),
  });
  return { agent, stopInbox: async () => undefined, stop: async () => agent.close() };
}
