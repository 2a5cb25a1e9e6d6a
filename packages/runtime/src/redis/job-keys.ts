/**
 * Redis names of one job. Every key carries the job id as a hash tag (`{jobId}`), so all
 * keys of a job live in one Redis Cluster slot and one Lua script may touch several.
 */
export class JobKeys {
  readonly base: string;

  constructor(prefix: string, readonly jobId: string) {
    this.base = `${prefix}{${jobId}}:`;
  }

  /** Inbox list of one agent: every envelope for the ranks it hosts. */
  mailbox(agent: number): string {
    return `${this.base}mb:${agent}`;
  }

  /** Hash gathering the agents' bundles of one collective (context + sequence number). */
  collective(ctx: string, seq: number): string {
    return `${this.base}coll:${ctx}:${seq}`;
  }

  /** A large envelope stored on its own (see the 'x' envelope); `id` is unique per agent. */
  payload(agent: number, id: number): string {
    return `${this.base}pl:${agent}:${id}`;
  }

  /** Set of the agents that arrived at the start rendezvous. */
  arrived(): string {
    return `${this.base}arrived`;
  }

  /** Set of the agents that left the job (the last one deletes its keys). */
  departed(): string {
    return `${this.base}left`;
  }

  /** Heartbeat of one agent: it expires if the agent (its worker) dies or is cut off. */
  alive(agent: number): string {
    return `${this.base}alive:${agent}`;
  }

  /** Shard channel on which collectives of jobs with many agents are fanned out. */
  channel(): string {
    return `${this.base}ch`;
  }

  /** Counter numbering the channel's messages. */
  channelSeq(): string {
    return `${this.base}ch:seq`;
  }

  /** Capped stream of the channel's last messages (entry 0-<seq>), for a subscriber that missed some. */
  channelLog(): string {
    return `${this.base}ch:log`;
  }

  /**
   * Set of the job's keys that are named as they come and live only a while: a collective's
   * hash until every agent's bundle is in, a large envelope's chunks (and read counter) until
   * its last reader has it. Each is listed here by the step that creates it and taken off by
   * the one that deletes it, so cleanup after a job that ended half-way finds what is left in
   * this set rather than by scanning the keyspace.
   */
  loose(): string {
    return `${this.base}loose`;
  }

  /** Hash of each agent's last deadlock-detection snapshot (JSON by agent index). */
  snapshots(): string {
    return `${this.base}dl`;
  }

  /**
   * The job's keys whose names are known in advance, for `agentCount` agents: all a job of
   * one agent ever has (its ranks' traffic stays in the agent). Collectives and stored
   * payloads between agents are named as they come: loose() lists those still there.
   */
  fixed(agentCount: number): string[] {
    const perAgent = Array.from({ length: agentCount }, (_, agent) => [this.mailbox(agent), this.alive(agent)]).flat();
    return [...perAgent, this.arrived(), this.departed(), this.snapshots(), this.channelSeq(), this.channelLog(), this.loose()];
  }

  /** Pattern matching every key of the job (tests look for what a job left). */
  pattern(): string {
    return `${this.base.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
  }
}
