import { readdir, readFile } from 'node:fs/promises';

/** Rank user ids one worker process owns: enough for its slots (SLOTS is at most this). */
export const RANK_USER_IDS_PER_WORKER = 256;

/**
 * User ids for ranks, one per running job. Ranks of different jobs then cannot read each
 * other's files or /proc entries or signal each other, and whatever a job leaves running
 * (a daemon that escaped its process group) is found by its uid and killed when the job
 * ends. Needs a root worker; ids need no /etc/passwd entry.
 *
 * Several workers may share a host: each owns the block of ids derived from its pid
 * (`base + pid × 256 …`), unique among live processes, so no two running jobs on a host
 * ever share an id and no lock is needed.
 */
export class RankUserPool {
  private readonly free: number[];

  constructor(base: number, slots: number, pid: number = process.pid) {
    const first = base + pid * RANK_USER_IDS_PER_WORKER;
    this.free = Array.from({ length: Math.min(slots, RANK_USER_IDS_PER_WORKER) }, (_, i) => first + i);
  }

  take(): number {
    const uid = this.free.shift();
    if (uid === undefined) throw new Error('no free rank user id: more jobs than slots');
    return uid;
  }

  release(uid: number): void {
    this.free.push(uid);
  }
}

/** SIGKILLs every process whose real user id is `uid`; returns how many there were. */
export async function killProcessesOf(uid: number): Promise<number> {
  let killed = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      status = await readFile(`/proc/${entry}/status`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    if (real === String(uid)) {
      try {
        process.kill(Number(entry), 'SIGKILL');
        killed++;
      } catch {
        // exited meanwhile
      }
    }
  }
  return killed;
}
