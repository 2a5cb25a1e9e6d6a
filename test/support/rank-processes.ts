import { readdir, readFile } from 'node:fs/promises';

/**
 * Pids of the rank processes of a job still alive on this machine, found by the job id the
 * runtime puts in every rank's environment (`MPIAAS_JOB_ID=<job>.<attempt>`). Needs root to
 * read other users' environments (ranks run under their own user ids).
 */
export async function rankProcessesOf(jobId: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = await readFile(`/proc/${entry}/environ`, 'latin1');
      if (environ.split('\0').some((variable) => variable.startsWith(`MPIAAS_JOB_ID=${jobId}`))) found.push(Number(entry));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return found;
}

/** Pids of the processes whose command line contains `text`. */
export async function processesWhoseCommandHas(text: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readFile(`/proc/${entry}/cmdline`, 'latin1')).split('\0').join(' ').includes(text)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return found;
}
