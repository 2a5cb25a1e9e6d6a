import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { SHIM_PATH } from '@mpiaas/runtime';

/** Beside the mpi4py package: what every rank runs before its script (it closes stray descriptors). */
const SITE_CUSTOMIZE = 'sitecustomize.py';

/**
 * Copies the mpi4py shim to where ranks of another user can read it, and returns the
 * folder to put on their PYTHONPATH. The checkout may sit under a private directory; Python
 * would then skip the shim without a word and a rank would import whatever mpi4py the
 * system has.
 *
 * The copy is named by its contents and moved into place in one rename, so workers sharing
 * WORK_DIR never change a copy another one's ranks are using.
 */
export async function installRankShim(workDir: string): Promise<string> {
  const source = path.join(SHIM_PATH, 'mpi4py');
  const files = await shimFiles(source);
  const hash = createHash('sha256');
  for (const file of files) hash.update(file).update(await readFile(path.join(source, file)));
  hash.update(SITE_CUSTOMIZE).update(await readFile(path.join(SHIM_PATH, SITE_CUSTOMIZE)));
  const target = path.join(workDir, `.shim-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(target)) return target;

  await mkdir(workDir, { recursive: true });
  await makeTraversable(workDir);
  const staging = `${target}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  await cp(source, path.join(staging, 'mpi4py'), { recursive: true, filter: (file) => !file.includes('__pycache__') });
  await cp(path.join(SHIM_PATH, SITE_CUSTOMIZE), path.join(staging, SITE_CUSTOMIZE));
  await makeReadable(staging);
  try {
    await rename(staging, target);
  } catch (error) {
    // Another worker put the same copy in place first.
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(target)) throw error;
  }
  return target;
}

/**
 * Byte-compiles the shim copy for the ranks' interpreter. Ranks run as a user who cannot
 * write `__pycache__` beside it, so without this every rank compiled the whole shim again
 * at import (~35 ms of each rank's start; 50 ms → 16 ms for `from mpi4py import MPI`).
 * Workers sharing the copy may compile it at the same time: Python writes each .pyc with
 * an atomic rename. A read-only copy (an image's, compiled at build) is left as it is.
 */
export async function compileRankShim(shimDir: string, python: string): Promise<void> {
  try {
    await promisify(execFile)(python, ['-m', 'compileall', '-q', path.join(shimDir, 'mpi4py'), path.join(shimDir, SITE_CUSTOMIZE)], {
      timeout: 60_000,
      env: { PATH: process.env.PATH },
    });
    await makeReadable(shimDir);
  } catch {
    // Ranks then compile it in memory at each start: slower, never wrong.
  }
}

/** The shim's source files, relative and sorted (what the copy is named after). */
async function shimFiles(dir: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const relative = path.join(prefix, entry.name);
    if (entry.name === '__pycache__') continue;
    if (entry.isDirectory()) found.push(...(await shimFiles(dir, relative)));
    else found.push(relative);
  }
  return found.sort();
}

async function makeReadable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await makeReadable(full);
    else await chmod(full, 0o644);
  }
}

/**
 * Lets ranks of other users pass through WORK_DIR to their own directories without listing
 * it, keeping its group's access and setgid bit (a folder shared with a rank launcher's
 * container). A folder the worker does not own (a volume's root) stays as it is.
 */
async function makeTraversable(dir: string): Promise<void> {
  const { mode } = await stat(dir);
  const wanted = (mode & 0o2070) | 0o711;
  if ((mode & 0o7777) === wanted) return;
  await chmod(dir, wanted).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPERM') throw error;
  });
}
