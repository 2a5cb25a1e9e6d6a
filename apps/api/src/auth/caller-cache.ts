import { Injectable } from '@nestjs/common';
import type { Caller } from './caller';

/**
 * How long one api process reuses what it found for a key (its tenant and quotas), ms. A key
 * revoked or a quota changed through the admin API of this process counts at once; through
 * another replica (or by hand in the database), within this long.
 */
export const CALLER_CACHE_MS = 1000;
/** Keys remembered at most; past it, the oldest are dropped. */
const MAX_KEYS = 10_000;

interface Entry {
  at: number;
  caller: Promise<Caller | null>;
}

/**
 * The callers of recently used API keys, by key hash: under load every request of a key
 * would otherwise look the key and its tenant up in Postgres. Only found keys are kept (an
 * unknown or revoked key is looked up every time); concurrent lookups of one key share one query.
 */
@Injectable()
export class CallerCache {
  private readonly entries = new Map<string, Entry>();

  /** The caller of `keyHash`, from the cache if looked up less than CALLER_CACHE_MS ago, else from `lookUp`. */
  get(keyHash: string, lookUp: () => Promise<Caller | null>): Promise<Caller | null> {
    const now = Date.now();
    const cached = this.entries.get(keyHash);
    if (cached && now - cached.at < CALLER_CACHE_MS) return cached.caller;
    const caller = lookUp();
    this.entries.delete(keyHash); // re-inserted last: the Map's order is the age order
    this.entries.set(keyHash, { at: now, caller });
    if (this.entries.size > MAX_KEYS) this.entries.delete(this.entries.keys().next().value!);
    caller.then(
      (found) => found === null && this.forgetIf(keyHash, caller),
      () => this.forgetIf(keyHash, caller),
    );
    return caller;
  }

  /**
   * Forgets every key: called when a key is revoked or a tenant's quotas change on this
   * process (rare: admin calls), so its next request sees the change. A lookup already in
   * flight still answers the requests that were waiting for it, concurrent with the change.
   */
  clear(): void {
    this.entries.clear();
  }

  private forgetIf(keyHash: string, caller: Promise<Caller | null>): void {
    if (this.entries.get(keyHash)?.caller === caller) this.entries.delete(keyHash);
  }
}
