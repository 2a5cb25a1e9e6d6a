import type { Duplex } from 'node:stream';
import type { Envelope } from '../redis/envelope';
import type { RedisTransport } from '../redis/redis-transport';
import { CollectiveRendezvous } from './collective-rendezvous';
import { RankEndpoint, type EndpointLimits } from './rank-endpoint';

export interface AgentHooks {
  /** A rank called MPI_Abort. */
  abort(rank: number, code: number): void;
  /** A rank broke the protocol. */
  protocolError(rank: number, message: string): void;
  /** The agent could not handle rank traffic (not Redis's fault, not one rank's). */
  internalError(error: Error): void;
}

export interface AgentOptions {
  /** This agent's index among the job's agents. */
  agent: number;
  /** Agent index hosting each world rank. */
  placement: readonly number[];
  jobId: string;
  host: string;
  transport: RedisTransport;
  hooks: AgentHooks;
}

/**
 * One job's agent on one host: the endpoints of the ranks it hosts and the collective
 * engine they share, wired to the Redis transport.
 */
export class Agent {
  private readonly endpoints = new Map<number, RankEndpoint>();
  private readonly collectives: CollectiveRendezvous;

  constructor(private readonly options: AgentOptions) {
    this.collectives = new CollectiveRendezvous(options.agent, options.placement, options.transport, (error) =>
      options.hooks.internalError(error),
    );
  }

  /** Serves world rank `rank` over its channel socket. */
  attach(rank: number, channel: Duplex, limits?: EndpointLimits): RankEndpoint {
    const { transport, hooks } = this.options;
    const endpoint = new RankEndpoint(
      { rank, size: this.options.placement.length, jobId: this.options.jobId, host: this.options.host },
      channel,
      {
        deliver: (header, body) => transport.deliver(header, body),
        collectives: this.collectives,
        abort: (from, code) => hooks.abort(from, code),
        protocolError: (from, message) => hooks.protocolError(from, message),
      },
      limits,
    );
    this.endpoints.set(rank, endpoint);
    return endpoint;
  }

  /** Routes an envelope from this agent's inbox. */
  onEnvelope(envelope: Envelope): void {
    try {
      this.route(envelope);
    } catch (error) {
      this.options.hooks.internalError(error as Error);
    }
  }

  private route(envelope: Envelope): void {
    const { header } = envelope;
    if (header.t === 'g') this.collectives.onBundle(envelope);
    // Pointers ('x') are resolved by the transport before they get here.
    else if (header.t !== 'x') this.endpoints.get(header.d)?.receive(envelope);
  }
}
