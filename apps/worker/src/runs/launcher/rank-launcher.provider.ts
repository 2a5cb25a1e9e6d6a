import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Logger, type Provider } from '@nestjs/common';
import { WORKER_CONFIG, type WorkerConfig } from '../../config/worker-config';
import { JOB_TMP_NAME, RankSandbox } from '../rank-sandbox';
import { sharedModes } from '../job-workspace';
import { RankLauncherClient } from './rank-launcher-client';

/** The rank launcher client, or null where ranks are the worker's own children. */
export const RANK_LAUNCHER = Symbol('RANK_LAUNCHER');

/** How long the worker waits at boot for the ranks' container to answer. */
const LAUNCHER_BOOT_TIMEOUT_MS = 60_000;

/**
 * With RANK_LAUNCHER_SOCKET set: waits for the launcher, then checks — in the ranks'
 * container, as their user — that the interpreter runs with numpy and imports the mpiaas
 * shim. The worker refuses to start otherwise, as it does for its own sandbox.
 */
export const rankLauncherProvider: Provider = {
  provide: RANK_LAUNCHER,
  inject: [WORKER_CONFIG, RankSandbox],
  useFactory: async (config: WorkerConfig, sandbox: RankSandbox): Promise<RankLauncherClient | null> => {
    if (!config.RANK_LAUNCHER_SOCKET) return null;
    const client = new RankLauncherClient(config.RANK_LAUNCHER_SOCKET);
    const hello = await client.waitUntilUp(LAUNCHER_BOOT_TIMEOUT_MS);
    if (hello.uid === process.getuid?.()) {
      new Logger('RankLauncher').warn(`the rank launcher runs as the worker's own user (${hello.uid}): give the ranks' container a user of its own`);
    }
    await probeInterpreter(client, sandbox, config);
    const memory = hello.memoryLimit === null ? 'no memory limit' : `memory limit ${hello.memoryLimit} bytes for all ranks`;
    new Logger('RankLauncher').log(`ranks start in the launcher's container (uid ${hello.uid}, ${memory})`);
    return client;
  },
};

async function probeInterpreter(client: RankLauncherClient, sandbox: RankSandbox, config: WorkerConfig): Promise<void> {
  const shimDir = config.MPIAAS_SHIM_PATH;
  if (!shimDir) return;
  await mkdir(config.WORK_DIR, { recursive: true });
  const scratch = await mkdtemp(path.join(config.WORK_DIR, '.probe-'));
  try {
    await sharedModes(scratch, path.join(scratch, JOB_TMP_NAME));
    const launch = sandbox.launch(scratch, 'probe.py', shimDir);
    const rank = client.spawn({
      rank: 0,
      python: config.MPIAAS_PYTHON,
      script: '-c',
      args: ['import numpy, mpi4py; print(mpi4py.__file__)'],
      wrapper: launch.wrapper,
      cwd: scratch,
      env: { PATH: '/usr/bin:/bin', PYTHONPATH: launch.shimPath },
    });
    let out = '';
    let err = '';
    rank.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    rank.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exit = await rank.exited;
    await Promise.race([rank.closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
    rank.channel.destroy();
    if (exit.code !== 0 || !out.trim().startsWith(`${launch.shimPath}/`)) {
      const why = err.trim().split('\n').at(-1) || `exit ${exit.code ?? exit.signal}, imported ${out.trim()}`;
      throw new Error(`ranks cannot start through the rank launcher with ${config.MPIAAS_PYTHON}: ${why}`);
    }
  } finally {
    await client.remove(scratch).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}
