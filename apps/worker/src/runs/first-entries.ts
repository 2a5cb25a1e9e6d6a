import { opendirSync, type Dirent } from 'node:fs';

/**
 * The first `limit` entries of a folder, or undefined if it holds more: read synchronously in
 * batches, stopping there, so that a folder a job filled with a million files costs the
 * caller no more than a small one (readdirSync would list them all).
 */
export function firstEntries(dir: string, limit: number): Dirent[] | undefined {
  const folder = opendirSync(dir);
  try {
    const entries: Dirent[] = [];
    for (let entry = folder.readSync(); entry !== null; entry = folder.readSync()) {
      if (entries.length === limit) return undefined;
      entries.push(entry);
    }
    return entries;
  } finally {
    folder.closeSync();
  }
}
