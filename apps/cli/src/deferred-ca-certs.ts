import { spawn } from 'node:child_process';

/**
 * Where the `mpiaas` command (scripts/lib.sh, ensure_cli_command) puts NODE_EXTRA_CA_CERTS
 * for `mpiaas exec`. Node 20 reads and parses that bundle at start-up whether or not the
 * process ever opens a TLS connection (80 ms here, a third of `exec -n 4 hello.py`), and a
 * local run opens none unless its agents meet in a Redis spoken to over TLS.
 */
export const DEFERRED_CA_CERTS = 'MPIAAS_DEFERRED_NODE_EXTRA_CA_CERTS';

/**
 * Puts NODE_EXTRA_CA_CERTS back into `env` as the user set it, so that the ranks inherit it
 * as they would under mpirun. Returns whether this Node went without a bundle it should
 * have read (one was set aside, and it names a file).
 */
export function restoreDeferredCaCerts(env: NodeJS.ProcessEnv = process.env): boolean {
  const deferred = env[DEFERRED_CA_CERTS];
  if (deferred === undefined) return false;
  env.NODE_EXTRA_CA_CERTS = deferred;
  delete env[DEFERRED_CA_CERTS];
  return deferred !== '';
}

/** Whether ioredis speaks TLS to `redisUrl`: rediss://, or a `tls` query option (any value). */
export function redisUsesTls(redisUrl: string): boolean {
  const url = new URL(redisUrl);
  return url.protocol === 'rediss:' || url.searchParams.has('tls');
}

/**
 * Runs this command again in a Node that reads the bundle (the variable counts only at
 * start-up) and ends as it does. Ctrl-C reaches the new process from the terminal by itself:
 * this one only waits (passing SIGINT on would be a second one, which exec takes as "stop
 * now, skip the cleanup"); SIGTERM and SIGHUP, sent to this process alone, are passed on.
 */
export function rerunWithCaCerts(): Promise<never> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: process.env });
  process.on('SIGINT', () => undefined);
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  return new Promise(() => {
    child.on('exit', (code, signal) => {
      if (code !== null) process.exit(code);
      // ended by a signal: end by the same one, as a shell expects (handlers off first)
      process.removeAllListeners(signal ?? 'SIGTERM');
      process.kill(process.pid, signal ?? 'SIGTERM');
    });
  });
}
