import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefix of every key, so one found in a log or a repository is recognisable. */
const KEY_PREFIX = 'mpk_';
/** Characters of a key shown in listings: the prefix and 8 random ones (48 bits, no use to a thief). */
const VISIBLE_LENGTH = KEY_PREFIX.length + 8;

/** A new random API key (shown once; only its hash is stored). */
export function newApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** What listings show of a key, so its owner can tell which one it is. */
export function visiblePrefix(key: string): string {
  return key.slice(0, VISIBLE_LENGTH);
}

/**
 * What the database keeps of a key. Keys are 256 random bits, so a plain SHA-256 (no salt,
 * no slow hash) cannot be reversed and lets a request's key be found by an index lookup.
 */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Whether `given` is `expected`, in time independent of where they differ: both are hashed
 * first, so neither their contents nor the expected key's length leak through timing.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** A new key of `tenantId`: the key (to show once) and what the database keeps of it. */
export function issueApiKey(tenantId: string, name: string): { key: string; record: { tenantId: string; name: string; prefix: string; keyHash: string } } {
  const key = newApiKey();
  return { key, record: { tenantId, name, prefix: visiblePrefix(key), keyHash: apiKeyHash(key) } };
}
