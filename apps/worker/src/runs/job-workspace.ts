import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
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
    const dir = await mkdtemp(path.join(root, `${jobId}-`)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT' || !preparedRoots.delete(root)) throw error;
      return undefined; // removed behind our back: prepared again below
    });
    if (dir === undefined) return JobWorkspace.create(root, jobId, script, owner, shared);
    const scriptPath = path.join(dir, 'script.py');
    await writeFile(scriptPath, script, { mode: 0o600 });
    // The job's own /tmp (shared by its ranks on this worker, removed with the directory).
    const tmp = path.join(dir, JOB_TMP_NAME);
    await mkdir(tmp, { mode: 0o700 });
    if (owner) {
      for (const file of [dir, scriptPath, tmp]) await chown(file, owner.uid, owner.gid);
    }
    if (shared) {
      await chmod(root, 0o2750);
      await sharedModes(dir, tmp);
      await chmod(scriptPath, 0o640);
    }
    return new JobWorkspace(dir, scriptPath);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
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
