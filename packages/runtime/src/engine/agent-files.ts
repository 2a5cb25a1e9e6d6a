import fs from 'node:fs';
import { lengthOf, type Pieces } from '../protocol/pieces';

/**
 * Large data the agent hands its ranks through files in the job's shared-memory folder
 * rather than through their sockets: messages and bcasts that came from other agents
 * (through Redis), or that a rank could not leave in a file itself.
 *
 * Through a socket the agent copies n bytes into the kernel once per receiving rank, and each
 * rank copies them out; into a file it copies them once (a write over a file it wrote before
 * measured 0.14 ms for 4 MiB here, against 0.5–1.4 ms of the agent's CPU through a socket),
 * hard-links a name per receiver and sends each a reference, which the rank reads as it reads
 * another rank's (mpi4py/_shared_memory.py, the same `<file> <n>` reference and `<file>.<r>`
 * names; the agent's files are `.mpiaas-a<agent>-p<n>`).
 *
 * The folder belongs to the ranks, who may rename what is in it or plant links there. So the
 * agent opens the folder once, before any rank runs, and reaches it only through that
 * descriptor (`/proc/self/fd/<fd>/<name>`: the kernel resolves it from the open folder, as
 * openat would, whatever the folder's path has become); it creates its files with O_EXCL and
 * O_NOFOLLOW, writes them through their own descriptors, and never opens or reads anything a
 * rank left. A link() the ranks raced with names at worst a file of theirs, read by them.
 *
 * Files are reused once every receiver has read and unlinked its name (the file's link count
 * is back to 1); at most `budget` bytes of them exist at once, each message at most half of it
 * (and 32 MiB); past that, or when anything fails (no space, no /proc), data goes through the
 * socket as before. They count against the job's disk, and go with the folder when the job ends.
 */
export class AgentFiles {
  private readonly dirFd: number;
  private readonly files: { name: string; fd: number; size: number }[] = [];
  private next = 0;
  /** leaveOnce's references, by key. */
  private readonly left = new WeakMap<object, Buffer | undefined>();

  /** Opens `dir` (the folder as this process sees it), or throws. */
  constructor(
    dir: string,
    private readonly agent: number,
    private readonly budget: number,
  ) {
    this.dirFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  }

  /**
   * Leaves `body` in a file for the world ranks `receivers` (each gets its own name) and
   * returns the reference to send them instead, or undefined when the body must go through
   * the socket (too small, too large, no room, or a failure).
   */
  leave(receivers: readonly number[], body: Pieces): Buffer | undefined {
    const n = lengthOf(body);
    if (n < AGENT_FILE_MIN_BYTES || n > Math.min(AGENT_FILE_MAX_BYTES, this.budget / 2) || receivers.length === 0) return undefined;
    const file = this.fileFor(n);
    if (!file) return undefined;
    const made: string[] = [];
    try {
      writeAll(file.fd, body);
      for (const rank of receivers) {
        const name = `${file.name}.${rank}`;
        fs.linkSync(this.path(file.name), this.path(name));
        made.push(name);
      }
    } catch {
      for (const name of made) this.unlink(name);
      this.drop(file);
      return undefined;
    }
    return Buffer.from(`${file.name} ${n}`);
  }

  /**
   * As leave, once per `key` (a collective's parts, handed to each of its members): the
   * members of one bcast share one file, each with its own name.
   */
  leaveOnce(key: object, receivers: readonly number[], body: Pieces): Buffer | undefined {
    if (!this.left.has(key)) this.left.set(key, this.leave(receivers, body));
    return this.left.get(key);
  }

  /** Closes the files (the folder and what is in it go with the job). */
  close(): void {
    for (const file of this.files.splice(0)) fs.closeSync(file.fd);
    fs.closeSync(this.dirFd);
  }

  /** A file every receiver is done with that holds n bytes, or a new one within the budget. */
  private fileFor(n: number): { name: string; fd: number; size: number } | undefined {
    let free: { name: string; fd: number; size: number }[];
    try {
      free = this.files.filter((file) => fs.fstatSync(file.fd).nlink === 1);
    } catch {
      return undefined;
    }
    const fits = free.find((file) => file.size >= n);
    if (fits) return fits;
    // Room for a new file: smaller free ones make way.
    let used = this.files.reduce((sum, file) => sum + file.size, 0);
    for (const file of free) {
      if (used + n <= this.budget) break;
      used -= file.size;
      this.drop(file);
    }
    if (used + n > this.budget) return undefined;
    const name = `.mpiaas-a${this.agent}-p${++this.next}`;
    try {
      const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
      // The ranks may run as another user: they read it, the folder lets only them in.
      const fd = fs.openSync(this.path(name), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
      fs.fchmodSync(fd, 0o644); // whatever the umask
      const file = { name, fd, size: n };
      this.files.push(file);
      return file;
    } catch {
      return undefined;
    }
  }

  /** Forgets a file: closed, its name unlinked (a receiver's name keeps it until read). */
  private drop(file: { name: string; fd: number }): void {
    const at = this.files.indexOf(file as (typeof this.files)[number]);
    if (at >= 0) this.files.splice(at, 1);
    fs.closeSync(file.fd);
    this.unlink(file.name);
  }

  private unlink(name: string): void {
    try {
      fs.unlinkSync(this.path(name));
    } catch {
      // gone already
    }
  }

  /** `name` in the folder opened at the start, wherever its path now leads. */
  private path(name: string): string {
    return `/proc/self/fd/${this.dirFd}/${name}`;
  }
}

/** Below this the socket is as quick (as for the ranks' own files: _shared_memory.MIN_BYTES). */
export const AGENT_FILE_MIN_BYTES = 256 * 1024;
/** Above this, through the socket whatever the budget (_shared_memory.MAX_BYTES). */
export const AGENT_FILE_MAX_BYTES = 32 * 1024 * 1024;

/** Writes the pieces at the start of the file, through as many writes as it takes. */
function writeAll(fd: number, body: Pieces): void {
  let position = 0;
  const pieces = [...body];
  while (pieces.length > 0) {
    let written = fs.writevSync(fd, pieces, position);
    position += written;
    while (pieces.length > 0 && written >= (pieces[0] as Buffer).length) {
      written -= (pieces[0] as Buffer).length;
      pieces.shift();
    }
    if (written > 0) pieces[0] = (pieces[0] as Buffer).subarray(written);
  }
}
