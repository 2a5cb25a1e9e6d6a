/** What a rank's agent knows of one communicator: its members and the collective count. */
export interface Communicator {
  ctx: string;
  /** World rank of each member; the index is the rank in this communicator. */
  group: readonly number[];
  /** This rank's rank in the communicator. */
  rank: number;
  /** Number of collectives started on it so far (all members start them in the same order). */
  collectives: number;
}

export const WORLD_CTX = 'w';
export const selfCtx = (worldRank: number): string => `s${worldRank}`;

/** The communicators one rank belongs to, by context id. */
export class CommunicatorTable {
  private readonly byCtx = new Map<string, Communicator>();

  constructor(worldRank: number, worldSize: number) {
    this.add(WORLD_CTX, Array.from({ length: worldSize }, (_, rank) => rank), worldRank);
    this.add(selfCtx(worldRank), [worldRank], worldRank);
  }

  add(ctx: string, group: readonly number[], worldRank: number): void {
    const rank = group.indexOf(worldRank);
    if (rank < 0) throw new Error(`communicator ${ctx} does not contain world rank ${worldRank}`);
    this.byCtx.set(ctx, { ctx, group: [...group], rank, collectives: 0 });
  }

  remove(ctx: string): void {
    this.byCtx.delete(ctx);
  }

  get(ctx: string): Communicator {
    const comm = this.byCtx.get(ctx);
    if (!comm) throw new Error(`unknown communicator context '${ctx}'`);
    return comm;
  }
}
