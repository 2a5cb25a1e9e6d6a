import type { Logger } from '@nestjs/common';
import type { LogStreamName } from '@mpiaas/contracts';
import { OutputBatcher, type OutputRecord, type OutputTotals } from './output-batcher';

export interface LogStore {
  insertLogs(jobId: string, records: readonly OutputRecord[]): Promise<void>;
}

export interface LogSinkOptions {
  capBytes: number;
  flushMs: number;
  /** A partial line (a progress bar, a prompt) is stored anyway after waiting this long. */
  partialLineMs?: number;
}

/**
 * Streams one job's rank output into Postgres: batched (one multi-row insert per flush, at
 * most one in flight), whole lines where possible, nothing lost when an insert fails (the
 * records are kept and retried on the next flush).
 */
export class LogSink {
  private readonly batcher: OutputBatcher;
  private readonly timer: NodeJS.Timeout;
  private unsaved: OutputRecord[] = [];
  private flushing: Promise<void> | undefined;
  private lastPartialFlush = Date.now();

  constructor(
    private readonly jobId: string,
    private readonly store: LogStore,
    private readonly options: LogSinkOptions,
    private readonly logger: Logger,
  ) {
    this.batcher = new OutputBatcher(options.capBytes);
    this.timer = setInterval(() => void this.flush(false), options.flushMs);
  }

  push(rank: number, stream: LogStreamName, chunk: Buffer): void {
    this.batcher.push(rank, stream, chunk);
  }

  totals(rank: number): OutputTotals {
    return this.batcher.totalsOf(rank);
  }

  /** Stops without storing anything more (the job is no longer this worker's). */
  discard(): void {
    clearInterval(this.timer);
    this.unsaved = [];
    this.batcher.take(true);
  }

  /** Stores everything still held, partial lines included; retries a few times. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    for (let attempt = 1; attempt <= 5; attempt++) {
      await this.flush(true);
      if (this.unsaved.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
    throw new Error(`could not store ${this.unsaved.length} log records of job ${this.jobId}`);
  }

  private flush(final: boolean): Promise<void> {
    if (this.flushing) return this.flushing;
    const partial = final || Date.now() - this.lastPartialFlush >= (this.options.partialLineMs ?? 1000);
    if (partial) this.lastPartialFlush = Date.now();
    this.unsaved.push(...this.batcher.take(partial));
    if (this.unsaved.length === 0) return Promise.resolve();
    const batch = this.unsaved;
    this.unsaved = [];
    this.flushing = this.store
      .insertLogs(this.jobId, batch)
      .catch((error: Error) => {
        this.logger.warn(`storing ${batch.length} log records of job ${this.jobId} failed, will retry: ${error.message}`);
        this.unsaved = [...batch, ...this.unsaved];
      })
      .finally(() => (this.flushing = undefined));
    return this.flushing;
  }
}
