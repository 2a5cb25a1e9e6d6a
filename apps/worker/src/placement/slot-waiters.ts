import { Injectable } from '@nestjs/common';

/**
 * Jobs this worker holds while they wait for rank slots, woken in the order they began to
 * wait when it, or another worker (ControlListener), frees slots. Held here a job keeps its
 * queue entry: asking again costs one placement, where going back to the queue costs a move
 * to delayed, a promotion and a fetch (most of the queue traffic of short jobs that wait for
 * each other).
 */
@Injectable()
export class SlotWaiters {
  private readonly waiting: (() => void)[] = [];

  /** Resolves after `ms`, or sooner once woken. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        const index = this.waiting.indexOf(done);
        if (index >= 0) this.waiting.splice(index, 1);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiting.push(done);
    });
  }

  /** Wakes up to `count` of the longest waiting; returns how many it woke. */
  wake(count: number): number {
    const woken = this.waiting.slice(0, count);
    woken.forEach((done) => done());
    return woken.length;
  }

  get size(): number {
    return this.waiting.length;
  }
}
