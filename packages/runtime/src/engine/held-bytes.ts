/** Default of what one agent may hold of its job's data (AgentOptions.maxHeldBytes). */
export const DEFAULT_MAX_HELD_BYTES = 2 * 1024 ** 3;

/**
 * The bytes of a job's data one agent holds in its own memory: frames being read from ranks,
 * messages not received yet, contributions to collectives other members have not joined,
 * results a rank has not waited for. The agent is the worker's process, outside the memory
 * limit of the job's ranks: without a budget one script could grow it (an `Ibcast` a loop
 * never waits for, sends nobody receives) until the worker, and every job on it, is killed.
 * Going over fails the job, naming the rank that did it.
 */
export class HeldBytes {
  private held = 0;
  private reported = false;

  constructor(
    readonly limit: number,
    /** Called once, when a hold takes the total past the limit (rank: whose traffic did, if one of this agent's). */
    private readonly onOver: (message: string, rank: number | undefined) => void,
  ) {}

  get total(): number {
    return this.held;
  }

  /** The agent holds `bytes` more, for `rank`'s traffic (undefined: another agent's). */
  hold(bytes: number, rank?: number): void {
    this.held += bytes;
    if (this.held <= this.limit || this.reported) return;
    this.reported = true;
    this.onOver(
      `the job's data held by its agent passed ${describeBytes(this.limit)} (messages not received yet, ` +
        `collectives not every member has joined, results not waited for, frames being read)`,
      rank,
    );
  }

  release(bytes: number): void {
    this.held -= bytes;
  }

  /**
   * Releases `bytes` once the returned function has been called `owners` times (at once if
   * there are none): a collective's data, shared by the results of its members here.
   */
  releaseAfter(bytes: number, owners: number): () => void {
    if (owners <= 0) {
      this.release(bytes);
      return () => undefined;
    }
    let left = owners;
    return () => {
      if (--left === 0) this.release(bytes);
    };
  }
}

function describeBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}
