import fs from 'node:fs';
import { lengthOf, type Pieces } from '../protocol/pieces';

/**
 * A large bcast the agent hands to several of its ranks through one file in the job's
 * shared-memory folder rather than through each one's socket: data that came from another
 * agent (through Redis), or from a root of its own that could not leave a file itself.
 *
 * Through a socket the agent copies n bytes into the kernel once per receiving rank, and each
 * rank copies them out; into a file it copies them once (a write over a file it wrote before
 * measured 0.14 ms for 4 MiB here, against 0.5–1.4 ms of the agent's CPU through a socket),
 * hard-links a name per receiver and sends each a reference, which the rank reads as it reads
 * another rank's (mpi4py/_shared_memory.py, the same `<file> <n>` reference and `<file>.<r>`
 * names; the agent's files are `.mpiaas-a<agent>-p<n>`).
 *
 * The folder belongs to the ranks, who may rename what is in it or plant links there. So the
 * agent opens the folder once, when it starts (in the service, before the job's ranks do),
 * and reaches it only through that descriptor (`/proc/self/fd/<fd>/<name>`: the kernel resolves it from the open folder, as
 * openat would, whatever the folder's path has become); it creates its files with O_EXCL and
 * O_NOFOLLOW, writes them through their own descriptors, and never opens or reads anything a
 * rank left. A link() the ranks raced with names at worst a file of theirs, read by them.
 *
 * Files are reused once every receiver has read and unlinked its name (the file's link count
 * is back to 1); at most `budget` bytes of them exist at once, each bcast at most half of it
 * (and 32 MiB); past that, or when anything fails (no space, no /proc), data goes through the
 * socket as before. They count against the job's disk, and go with the folder when the job ends.
 *
 * The data is written off the agent's thread (fs.writev, in libuv's pool): a folder on a disk
 * under write-back pressure may stall a write, and the agent's thread also serves heartbeats
 * and every other rank. A file's names are linked first, so that no other bcast takes it while
 * it is written; the receivers learn of it only once it is.
 */
export class AgentFiles {
  private readonly dirFd: number;
  private readonly files: AgentFile[] = [];
  private next = 0;
  private closed = false;
  /** leaveOnce's references (to come), by key. */
  private readonly left = new WeakMap<object, Promise<Buffer | undefined>>();

  /** Opens `dir` (the folder as this process sees it), or throws. */
  constructor(
    dir: string,
    private readonly agent: number,
    private readonly budget: number,
  ) {
    this.dirFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  }

  /**
   * Leaves `body` in a file for the world ranks `receivers` (each gets its own name):
   * resolves with the reference to send them instead, or with undefined when it must go
   * through the sockets after all (no room, a failure). Undefined at once (no promise) when
   * the body is not for a file: too small or large, fewer than two receivers, or closed.
   */
  leave(receivers: readonly number[], body: Pieces): Promise<Buffer | undefined> | undefined {
    const n = lengthOf(body);
    if (!this.takes(n) || receivers.length < 2) return undefined;
    const file = this.fileFor(n);
    if (!file) return Promise.resolve(undefined);
    const made: string[] = [];
    try {
      for (const rank of receivers) {
        const name = `${file.name}.${rank}`;
        fs.linkSync(this.path(file.name), this.path(name));
        made.push(name);
      }
    } catch {
      this.abandon(file, made);
      return Promise.resolve(undefined);
    }
    file.writing = true;
    return writeAll(file.fd, body).then(
      () => {
        file.writing = false;
        if (!this.closed) return Buffer.from(`${file.name} ${n}`);
        this.closeFile(file); // closed while it was written: close() left it to us
        return undefined;
      },
      () => {
        file.writing = false;
        this.abandon(file, made);
        return undefined;
      },
    );
  }

  /** Whether n bytes are for a file: open, at least the threshold, at most half the budget and 32 MiB. */
  takes(n: number): boolean {
    return !this.closed && n >= AGENT_FILE_MIN_BYTES && n <= Math.min(AGENT_FILE_MAX_BYTES, this.budget / 2);
  }

  /**
   * As leave, once per `key` (a collective's parts, handed to each of its members): the
   * members of one bcast share one file, each with its own name.
   */
  leaveOnce(key: object, receivers: readonly number[], body: Pieces): Promise<Buffer | undefined> | undefined {
    let left = this.left.get(key);
    if (!left) {
      left = this.leave(receivers, body);
      if (!left) return undefined;
      this.left.set(key, left);
    }
    return left;
  }

  /**
   * Closes the files (the folder and what is in it go with the job); one being written is
   * closed when its write ends. Nothing is left after it, however often it is called.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const file of this.files.splice(0)) if (!file.writing) this.closeFile(file);
    fs.closeSync(this.dirFd);
  }

  /** A file every receiver is done with that holds n bytes, or a new one within the budget. */
  private fileFor(n: number): AgentFile | undefined {
    let free: AgentFile[];
    try {
      free = this.files.filter((file) => !file.writing && fs.fstatSync(file.fd).nlink === 1);
    } catch {
      return undefined;
    }
    const fits = free.find((file) => file.size >= n);
    if (fits) return fits;
    // Room for a new file: smaller free ones make way, if that makes enough.
    let used = this.files.reduce((sum, file) => sum + file.size, 0);
    if (used - free.reduce((sum, file) => sum + file.size, 0) + n > this.budget) return undefined;
    for (const file of free) {
      if (used + n <= this.budget) break;
      used -= file.size;
      this.abandon(file, []);
    }
    const name = `.mpiaas-a${this.agent}-p${++this.next}`;
    try {
      const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
      // The ranks may run as another user: they read it, the folder lets only them in.
      const fd = fs.openSync(this.path(name), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
      fs.fchmodSync(fd, 0o644); // whatever the umask
      const file = { name, fd, size: n, writing: false };
      this.files.push(file);
      return file;
    } catch {
      return undefined;
    }
  }

  /** Gives a file up: its receivers' names `made` and its own unlinked, its descriptor closed. */
  private abandon(file: AgentFile, made: readonly string[]): void {
    const at = this.files.indexOf(file);
    if (at >= 0) this.files.splice(at, 1);
    this.closeFile(file);
    if (this.closed) return; // the folder is not reachable any more; it goes with the job
    for (const name of [...made, file.name]) {
      try {
        fs.unlinkSync(this.path(name));
      } catch {
        // gone already
      }
    }
  }

  private closeFile(file: AgentFile): void {
    try {
      fs.closeSync(file.fd);
    } catch {
      // closed already
    }
  }

  /** `name` in the folder opened at the start, wherever its path now leads. */
  private path(name: string): string {
    return `/proc/self/fd/${this.dirFd}/${name}`;
  }
}

interface AgentFile {
  name: string;
  fd: number;
  /** Bytes it holds room for. */
  size: number;
  /** Being written: neither chosen again nor closed until the write ends. */
  writing: boolean;
}

/** Below this the socket is as quick (as for the ranks' own files: _shared_memory.MIN_BYTES). */
export const AGENT_FILE_MIN_BYTES = 256 * 1024;
/** Above this, through the socket whatever the budget (_shared_memory.MAX_BYTES). */
export const AGENT_FILE_MAX_BYTES = 32 * 1024 * 1024;

/** Writes the pieces at the start of the file, through as many writes as it takes (off the thread). */
async function writeAll(fd: number, body: Pieces): Promise<void> {
  let position = 0;
  const pieces = [...body];
  while (pieces.length > 0) {
    let { bytesWritten: written } = await new Promise<{ bytesWritten: number }>((resolve, reject) =>
      fs.writev(fd, pieces, position, (error, bytesWritten) => (error ? reject(error) : resolve({ bytesWritten }))),
    );
    if (written === 0) throw new Error('a write made no progress');
    position += written;
    while (pieces.length > 0 && written >= (pieces[0] as Buffer).length) {
      written -= (pieces[0] as Buffer).length;
      pieces.shift();
    }
    if (written > 0) pieces[0] = (pieces[0] as Buffer).subarray(written);
  }
}
