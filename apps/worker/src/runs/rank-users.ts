import { readdir, stat } from 'node:fs/promises';

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

  /** Shares waiting for an id, first come first served. */
  private readonly waiting: ((uid: number) => void)[] = [];

  /**
   * An id, waiting until `deadline` (ms since the epoch) for one to be released. The cluster
   * never orders more shares than slots, unless it lost track of what runs (Redis lost the
   * scheduler's keys while jobs ran): then a share waits for the job it was put beside to
   * end, rather than fail and make its job run again.
   */
  async acquire(deadline: number): Promise<number> {
    const uid = this.free.shift();
    if (uid !== undefined) return uid;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.waiting.indexOf(give);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(new Error('no free rank user id: more jobs than slots'));
      }, Math.max(0, deadline - Date.now()));
      const give = (id: number): void => {
        clearTimeout(timer);
        resolve(id);
      };
      this.waiting.push(give);
    });
  }

  release(uid: number): void {
    const next = this.waiting.shift();
    if (next) next(uid);
    else this.free.push(uid);
  }
}

/**
 * SIGKILLs every process running as `uid` (the owner of /proc/<pid> is the process's
 * effective user, which a rank cannot change); returns how many there were.
 */
export async function killProcessesOf(uid: number): Promise<number> {
  const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
  const owners = await Promise.all(pids.map((pid) => stat(`/proc/${pid}`).then((s) => s.uid, () => -1)));
  let killed = 0;
  pids.forEach((pid, i) => {
    if (owners[i] !== uid) return;
    try {
      process.kill(Number(pid), 'SIGKILL');
      killed++;
    } catch {
      // exited meanwhile
    }
  });
  return killed;
}
