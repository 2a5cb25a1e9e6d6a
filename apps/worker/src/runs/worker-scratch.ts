import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';

const PREFIX = 'w-';

/**
 * The folder under WORK_DIR holding the job directories of this worker process. Named after
 * its pid, so that a worker starting later can tell which folders belong to processes that
 * are gone (several workers may share WORK_DIR on one host).
 */
export function workerScratch(workDir: string, pid: number = process.pid): string {
  return path.join(workDir, `${PREFIX}${pid}`);
}

/**
 * Removes what workers that died without cleaning up (SIGKILL, a crash, a lost node) left
 * in WORK_DIR: the job directories of every worker process that no longer exists. Their
 * ranks are gone already (bubblewrap ends them with their worker). Returns what it removed.
 */
export async function removeStaleScratch(workDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(workDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (!isStaleScratch(entry)) continue;
    await rm(path.join(workDir, entry), { recursive: true, force: true });
    removed.push(entry);
  }
  return removed;
}

/** Whether a folder named by workerScratch belongs to a worker process that no longer exists. */
export function isStaleScratch(name: string): boolean {
  if (!name.startsWith(PREFIX)) return false;
  const pid = Number(name.slice(PREFIX.length));
  return Number.isInteger(pid) && !isAlive(pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
