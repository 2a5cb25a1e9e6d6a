import { spawn } from 'node:child_process';
import os from 'node:os';

/**
 * Where the `mpiaas` command (scripts/lib.sh, ensure_cli_command) puts NODE_EXTRA_CA_CERTS
 * for `mpiaas exec`. Node 20 reads and parses that bundle at start-up whether or not the
 * process ever opens a TLS connection (80 ms here, a third of `exec -n 4 hello.py`), and a
 * local run opens none unless its agents meet in a rediss:// Redis.
 */
export const DEFERRED_CA_CERTS = 'MPIAAS_DEFERRED_NODE_EXTRA_CA_CERTS';

/**
 * Puts NODE_EXTRA_CA_CERTS back into `env` as the user set it, so that the ranks inherit it
 * as they would under mpirun. Returns whether it had been deferred (this Node did not read it).
 */
export function restoreDeferredCaCerts(env: NodeJS.ProcessEnv = process.env): boolean {
  const deferred = env[DEFERRED_CA_CERTS];
  if (deferred === undefined) return false;
  env.NODE_EXTRA_CA_CERTS = deferred;
  delete env[DEFERRED_CA_CERTS];
  return true;
}

/**
 * Runs this command again in a Node that reads the bundle (the variable counts only at
 * start-up), for a run that will talk TLS; passes signals on and exits as it does.
 */
export function rerunWithCaCerts(): Promise<never> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: process.env });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  return new Promise(() => {
    child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
  });
}
