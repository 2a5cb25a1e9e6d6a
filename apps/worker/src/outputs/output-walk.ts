import { constants } from 'node:fs';
import { lstat, open, readdir, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** A regular file found under an output directory. */
export interface FoundFile {
  /** `/`-separated path under the walked directory. */
  rel: string;
  bytes: number;
}

/** Something under an output directory that is not kept, and why. */
export interface SkippedEntry {
  rel: string;
  why: string;
}

export interface OutputListing {
  files: FoundFile[];
  skipped: SkippedEntry[];
}

/** Deeper than this, folders are not entered (a script making a deep chain of folders). */
const MAX_DEPTH = 32;
/** Path parts a kept file may have: no control characters, no backslash. */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const SAFE_PART = /^[^\0-\x1f\x7f\\]+$/;

/**
 * The regular files under `root`, without following a symbolic link anywhere (a link is
 * skipped, whatever it points to, as are sockets, fifos and devices). At most `maxEntries`
 * entries are looked at.
 */
export async function listOutputFiles(root: string, maxEntries: number): Promise<OutputListing> {
  const files: FoundFile[] = [];
  const skipped: SkippedEntry[] = [];
  let seen = 0;
  const rootStat = await lstat(root).catch(() => undefined);
  if (!rootStat) return { files, skipped };
  if (!rootStat.isDirectory()) return { files, skipped: [{ rel: '.', why: 'the output directory was replaced by something else' }] };
  const pending: { dir: string; rel: string; depth: number }[] = [{ dir: root, rel: '', depth: 0 }];
  while (pending.length > 0) {
    const { dir, rel, depth } = pending.pop() as { dir: string; rel: string; depth: number };
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (error) {
      skipped.push({ rel: rel || '.', why: `cannot read the folder: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
      continue;
    }
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      if (++seen > maxEntries) {
        skipped.push({ rel: childRel, why: `more than ${maxEntries} entries: not looked at` });
        return { files, skipped };
      }
      if (!SAFE_PART.test(name)) {
        skipped.push({ rel: JSON.stringify(childRel), why: 'the name has control characters or a backslash' });
        continue;
      }
      const stat = await lstat(path.join(dir, name)).catch(() => undefined);
      if (!stat) continue;
      if (stat.isSymbolicLink()) skipped.push({ rel: childRel, why: 'a symbolic link (never followed)' });
      else if (stat.isDirectory()) {
        if (depth + 1 >= MAX_DEPTH) skipped.push({ rel: childRel, why: `deeper than ${MAX_DEPTH} folders` });
        else pending.push({ dir: path.join(dir, name), rel: childRel, depth: depth + 1 });
      } else if (stat.isFile()) files.push({ rel: childRel, bytes: stat.size });
      else skipped.push({ rel: childRel, why: 'not a regular file' });
    }
  }
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, skipped };
}

/**
 * Opens `rel` under `root` for reading, only if it still is a regular file reached through
 * no symbolic link: the last part is opened with O_NOFOLLOW, and the resolved path of what
 * was opened must lie under the resolved root.
 */
export async function openOutputFile(root: string, rel: string): Promise<{ handle: FileHandle; bytes: number }> {
  const parts = rel.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..')) throw new Error('not a plain relative path');
  const file = path.join(root, ...parts);
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error('not a regular file');
    const [realRoot, realFile] = await Promise.all([realpath(root), realpath(`/proc/self/fd/${handle.fd}`).catch(() => realpath(file))]);
    if (!realFile.startsWith(realRoot + path.sep)) throw new Error('reached through a symbolic link');
    return { handle, bytes: stat.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
