/**
 * The worker's rank slots. A job takes one slot per rank; one larger than the whole pool
 * runs alone (oversubscribed, as `mpirun --oversubscribe` would) rather than never.
 */
export class SlotPool {
  private used = 0;

  constructor(readonly capacity: number) {}

  /** Takes the slots for `np` ranks if they are free now; returns how many were taken, or 0. */
  tryTake(np: number): number {
    const need = Math.min(np, this.capacity);
    if (this.used + need > this.capacity) return 0;
    this.used += need;
    return need;
  }

  release(taken: number): void {
    this.used = Math.max(0, this.used - taken);
  }

  get free(): number {
    return this.capacity - this.used;
  }
}
