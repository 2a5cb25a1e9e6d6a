import { chownSync, lstatSync, mkdirSync, mkdtempSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { firstEntries } from './first-entries';
import { JOB_TMP_NAME } from './rank-sandbox';

/** Roots whose modes are set (a worker's scratch folder); removed roots must be forgotten. */
const preparedRoots = new Set<string>();

/** The root is gone (a clean shutdown removed it): the next job prepares it again. */
export function forgetPreparedRoot(root: string): void {
  preparedRoots.delete(root);
}

/** A job's fresh working directory with its script in it; removed when the job ends. */
export class JobWorkspace {
  private constructor(
    readonly dir: string,
    readonly scriptPath: string,
  ) {}

  /**
   * `owner`: the ranks' user and group, when they differ from the worker's. `shared`: the
   * ranks run in another container as another user of the worker's group (rank launcher).
   * The folder, the script and /tmp are made synchronously: on the worker's own scratch disk
   * each call takes microseconds, and handing each to libuv's thread pool cost the worker more
   * CPU than the call itself (see job-cgroup.ts, readSmallFile).
   */
  static async create(root: string, jobId: string, script: string, owner?: { uid: number; gid: number }, shared = false): Promise<JobWorkspace> {
    // The root is traversable so ranks of another user reach their own directory; each job's
    // directory is private to its ranks. Once per root and process: it stays so.
    if (!preparedRoots.has(root)) {
      await mkdir(root, { recursive: true });
      if (owner) {
        await chmod(path.dirname(root), 0o711);
        await chmod(root, 0o711);
      }
      if (!shared) preparedRoots.add(root);
    }
    let dir: string;
    try {
      dir = mkdtempSync(path.join(root, `${jobId}-`));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !preparedRoots.delete(root)) throw error;
      return JobWorkspace.create(root, jobId, script, owner, shared); // removed behind our back: prepared again
    }
    const scriptPath = path.join(dir, 'script.py');
    writeFileSync(scriptPath, script, { mode: 0o600 });
    // The job's own /tmp (shared by its ranks on this worker, removed with the directory).
    const tmp = path.join(dir, JOB_TMP_NAME);
    mkdirSync(tmp, { mode: 0o700 });
    if (owner) {
      for (const file of [dir, scriptPath, tmp]) chownSync(file, owner.uid, owner.gid);
    }
    if (shared) {
      await chmod(root, 0o2750);
      await sharedModes(dir, tmp);
      await chmod(scriptPath, 0o640);
    }
    return new JobWorkspace(dir, scriptPath);
  }

  async remove(): Promise<void> {
    try {
      if (removeSmallTree(this.dir)) return;
    } catch {
      // gone meanwhile, or something it cannot remove alone: rm says what, or forces it
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Most jobs leave their folder as it was made (script, /tmp, output folders): removed with a
 * few synchronous calls, as it was made. A folder with more than this in it goes through the
 * thread pool, so that a job leaving thousands of files does not hold up the other jobs'
 * traffic in the worker's event loop.
 */
const SYNC_REMOVE_ENTRIES = 32;

/**
 * Removes `dir` if it holds at most SYNC_REMOVE_ENTRIES entries (false: it holds more, nothing
 * removed). A link is removed, never followed: every folder is checked to be one (lstat) just
 * before it is read. The job's processes are gone by now, so nothing swaps a folder for a link
 * meanwhile: a sandboxed rank is its PID namespace's first process (all it started die with
 * it), and the job's cgroup, its user's processes or the launcher's container are emptied first.
 */
export function removeSmallTree(dir: string): boolean {
  const files: string[] = [];
  const dirs = [dir];
  for (let i = 0; i < dirs.length; i++) {
    const folder = dirs[i] as string;
    if (!lstatSync(folder).isDirectory()) return false;
    const entries = firstEntries(folder, SYNC_REMOVE_ENTRIES);
    if (!entries) return false;
    for (const entry of entries) (entry.isDirectory() ? dirs : files).push(path.join(folder, entry.name));
    if (files.length + dirs.length > SYNC_REMOVE_ENTRIES) return false;
  }
  for (const file of files) unlinkSync(file);
  for (const folder of dirs.reverse()) rmdirSync(folder);
  return true;
}

/**
 * Folders the worker and the ranks' user share through their group: both read and write,
 * and what is made inside keeps the group (setgid). Other users get nothing.
 */
export async function sharedModes(...dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o2770);
  }
}
