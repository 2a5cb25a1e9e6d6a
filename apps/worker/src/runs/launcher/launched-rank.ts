import { randomUUID } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import { rankCommand, type RankExit, type RankHandle, type RankSpawnOptions } from '@mpiaas/runtime';
import { LineReader } from './line-reader';

/** A line the launcher writes on a rank's control connection. */
interface ControlReply {
  pid?: number;
  error?: string;
  exit?: number | null;
  signal?: NodeJS.Signals | null;
  oom?: boolean;
}

type Role = 'channel' | 'stdout' | 'stderr' | 'stdin';

/** Opens a connection to the launcher and sends its header line (and the lines after it). */
export function launcherConnection(socketPath: string, header: object, ...more: object[]): Socket {
  const socket = createConnection(socketPath);
  socket.write([header, ...more].map((line) => `${JSON.stringify(line)}\n`).join(''));
  return socket;
}

/**
 * A rank started by the rank launcher in the ranks' container, or forked by the worker's rank
 * zygote (warm-pool/rank-zygote.ts: same protocol). Its fds 3 (the channel to this agent), 1,
 * 2 and 0 are connections this worker opened to their socket, handed to the rank as they are:
 * the agent talks to the rank as it would to a child process.
 */
export class LaunchedRank implements RankHandle {
  readonly channel: Duplex;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly exited: Promise<RankExit>;
  readonly closed: Promise<void>;
  exit: RankExit | undefined;
  /** Killed by the kernel's OOM killer: the ranks container ran out of its memory limit. */
  oomKilled = false;
  private readonly control: Socket;

  /**
   * `request`: for the zygote, what it needs beyond the spawn options (the job's directory,
   * user, cgroups), sent on a line of its own after the control header.
   */
  constructor(socketPath: string, options: RankSpawnOptions, request?: object) {
    const id = randomUUID();
    const roles: Role[] = ['channel', 'stdout', 'stderr', ...(options.stdin ? (['stdin'] as const) : [])];
    const env = Object.fromEntries(Object.entries(options.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
    this.control = request
      ? launcherConnection(socketPath, { spawn: id, role: 'control', fds: roles }, { argv: [options.script, ...options.args], env, cwd: options.cwd, ...request })
      : launcherConnection(socketPath, { spawn: id, role: 'control', argv: rankCommand(options), env, cwd: options.cwd, fds: roles });
    const connections = Object.fromEntries(roles.map((role) => [role, launcherConnection(socketPath, { spawn: id, role })])) as Record<Role, Socket>;
    this.channel = connections.channel;
    // A failed connection is the rank's failure to start, reported through `exited`.
    for (const socket of Object.values(connections)) socket.on('error', () => undefined);
    connections.stdout.pipe(this.stdout);
    connections.stderr.pipe(this.stderr);
    // Only the rank writes to these: the worker's side of them is done.
    connections.stdout.end();
    connections.stderr.end();
    if (options.stdin) options.stdin.pipe(connections.stdin);

    this.exited = new Promise((resolve) => {
      const finish = (exit: RankExit): void => {
        this.exit ??= exit;
        resolve(this.exit);
      };
      const lines = new LineReader<ControlReply>((reply) => {
        if (reply.error !== undefined) {
          this.stderr.write(`cannot start the rank: ${reply.error}\n`);
          finish({ code: 127, signal: null });
        } else if ('exit' in reply) {
          this.oomKilled = reply.oom === true;
          finish({ code: reply.exit ?? null, signal: reply.signal ?? null });
        }
      });
      this.control.on('data', (chunk: Buffer) => lines.push(chunk));
      this.control.on('error', (error: NodeJS.ErrnoException) => {
        // EPIPE: a kill written just as the launcher closed after the rank's exit, its exit line
        // not read yet. Nothing the rank did; the close below ends it as ever.
        if (error.code === 'EPIPE') return;
        this.stderr.write(`rank launcher: ${error.message}\n`);
      });
      // The launcher never leaves a rank running without its control: no exit line means it is gone.
      this.control.on('close', () => finish(this.exit ?? { code: 127, signal: null }));
    });
    this.closed = Promise.all([ended(this.stdout), ended(this.stderr)]).then(() => undefined);
    // If the rank never ran, its streams close with the launcher's connections.
    void this.exited.then(() => {
      for (const socket of [connections.stdout, connections.stderr]) {
        if (socket.destroyed || socket.readableEnded) continue;
        setTimeout(() => socket.destroy(), 2000).unref();
      }
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.killGroup(signal);
  }

  /**
   * The launcher SIGKILLs a rank's group when it exits: afterwards there is nothing to signal,
   * and the launcher may already have closed its end (a write would fail with EPIPE).
   */
  killGroup(signal: NodeJS.Signals): void {
    if (!this.running || this.control.destroyed || !this.control.writable) return;
    this.control.write(`${JSON.stringify({ kill: signal })}\n`);
  }
}

function ended(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}
