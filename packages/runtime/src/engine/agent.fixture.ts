import type { Envelope, EnvelopeHeader } from '../redis/envelope';
import type { RedisTransport } from '../redis/redis-transport';
import { Agent, type SharedMemory } from './agent';
import { fakeRankSocket } from './rank-socket.fixture';

export interface AgentFixtureOptions {
  /** This agent's index. @defaultValue 0 */
  agentIndex?: number;
  /** Collects protocol errors (otherwise they throw). */
  protocolErrors?: string[];
  maxHeldBytes?: number;
  /** Collects what going over maxHeldBytes reports. */
  heldTooMuch?: { message: string; rank: number | undefined }[];
  outboundHighWater?: number;
  /** When Redis "has" an envelope the agent sent out; at once by default. */
  answer?: (header: EnvelopeHeader) => Promise<void>;
  /** Collects collective mismatches (otherwise they throw). */
  mismatches?: string[];
  sharedMemory?: SharedMemory;
  /** Given: the transport sends large messages as their bodies arrive (deliverStream), recorded here. */
  streams?: StreamRecord[];
}

/** A message the fake transport was given to send while its body arrived. */
export interface StreamRecord {
  header: EnvelopeHeader;
  bodyLength: number;
  written: Buffer[];
  abandoned: boolean;
}

/**
 * For tests: an agent hosting some ranks of a job, with a fake Redis transport that records
 * what the agent hands to it: what reaches Redis, and what the agent keeps to itself. Flush
 * markers come back through the fake inbox a few event-loop turns later, as through the real
 * one.
 */
export function agentHosting(placement: number[], options: AgentFixtureOptions = {}) {
  const { agentIndex = 0, protocolErrors, heldTooMuch } = options;
  const toRedis: { kind: string; header?: EnvelopeHeader; to?: readonly number[]; body?: Buffer }[] = [];
  const transport = {
    deliver: (header: EnvelopeHeader, body?: readonly Buffer[]) => {
      toRedis.push({ kind: 'deliver', header });
      if (placement[(header as { d: number }).d] === agentIndex) {
        const envelope: Envelope = { header, body: body ?? [] };
        setTimeout(() => agent.onEnvelope(envelope), 5);
      }
      return options.answer ? options.answer(header) : Promise.resolve();
    },
    rendezvous: async () => {
      toRedis.push({ kind: 'rendezvous' });
      return null;
    },
    pushBundle: (to: readonly number[], header: EnvelopeHeader, body: readonly Buffer[]) => {
      toRedis.push({ kind: 'push', to, header, body: Buffer.concat(body) });
    },
    ...(options.streams
      ? {
          deliverStream: (header: EnvelopeHeader, bodyLength: number) => {
            const record: StreamRecord = { header, bodyLength, written: [], abandoned: false };
            options.streams?.push(record);
            toRedis.push({ kind: 'stream', header });
            return {
              write: (pieces: Buffer[]) => record.written.push(...pieces),
              abandon: () => (record.abandoned = true),
              sent: options.answer ? options.answer(header) : Promise.resolve(),
            };
          },
        }
      : {}),
  } as unknown as RedisTransport;
  const agent: Agent = new Agent({
    agent: agentIndex,
    placement,
    jobId: 'job',
    host: 'host',
    transport,
    ...(options.maxHeldBytes === undefined ? {} : { maxHeldBytes: options.maxHeldBytes }),
    ...(options.outboundHighWater === undefined ? {} : { outboundHighWater: options.outboundHighWater }),
    ...(options.sharedMemory === undefined ? {} : { sharedMemory: options.sharedMemory }),
    hooks: {
      abort: () => undefined,
      protocolError: (_rank, message) => {
        if (!protocolErrors) throw new Error(message);
        protocolErrors.push(message);
      },
      internalError: (error) => {
        throw error;
      },
      ...(heldTooMuch ? { heldTooMuch: (message: string, rank: number | undefined) => heldTooMuch.push({ message, rank }) } : {}),
      ...(options.mismatches ? { mismatch: (message: string) => options.mismatches?.push(message) } : {}),
    },
  });
  const rank = (world: number) => {
    const { socket, send, reply } = fakeRankSocket(`rank ${world}`);
    agent.attach(world, socket);
    return { send, reply, socket };
  };
  return { agent, rank, toRedis };
}
