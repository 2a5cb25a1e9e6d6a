import { chmod, cp, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { SHIM_PATH } from '@mpiaas/runtime';

/**
 * Copies the mpi4py shim to where ranks of another user can read it, and returns the
 * folder to put on their PYTHONPATH. The checkout may sit under a private directory; Python
 * would then skip the shim without a word and a rank would import whatever mpi4py the
 * system has.
 */
export async function installRankShim(workDir: string): Promise<string> {
  const target = path.join(workDir, '.runtime', 'python');
  await mkdir(workDir, { recursive: true });
  await chmod(workDir, 0o711);
  await rm(target, { recursive: true, force: true });
  await cp(path.join(SHIM_PATH, 'mpi4py'), path.join(target, 'mpi4py'), {
    recursive: true,
    filter: (source) => !source.includes('__pycache__'),
  });
  await makeReadable(path.join(workDir, '.runtime'));
  return target;
}

async function makeReadable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await makeReadable(full);
    else await chmod(full, 0o644);
  }
}
