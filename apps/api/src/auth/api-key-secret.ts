import { createHash, randomBytes } from 'node:crypto';

/** Prefix of every key, so one found in a log or a repository is recognisable. */
const KEY_PREFIX = 'mpk_';

/** A new random API key (shown once; only its hash is stored). */
export function newApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * What the database keeps of a key. Keys are 256 random bits, so a plain SHA-256 (no salt,
 * no slow hash) cannot be reversed and lets a request's key be found by an index lookup.
 */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
