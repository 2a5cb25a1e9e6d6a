import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Logger, type Provider } from '@nestjs/common';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { JOB_TMP_NAME, RankSandbox } from './rank-sandbox';

/**
 * Decides once, at boot, how ranks are confined, and checks — as the ranks' user, inside
 * that sandbox — that the interpreter runs with numpy and imports the mpiaas shim. The
 * worker refuses to start otherwise (a rank importing the system's mpi4py would hang).
 */
export const rankSandboxProvider: Provider = {
  provide: RankSandbox,
  inject: [WORKER_CONFIG],
  useFactory: (config: WorkerConfig): RankSandbox => {
    const logger = new Logger('RankSandbox');
    const sandbox = RankSandbox.forConfig(config, config.MPIAAS_PYTHON);
    if (sandbox.kind === 'launcher') {
      // Checked through the launcher, in the ranks' container (rankLauncherProvider).
      logger.log(`ranks: started by the rank launcher at ${config.RANK_LAUNCHER_SOCKET}, limits as=${config.RANK_MEMORY_BYTES} fsize=${config.RANK_FILE_SIZE_BYTES} nofile=${config.RANK_OPEN_FILES}`);
      return sandbox;
    }
    checkInterpreter(sandbox, config);
    const network = sandbox.isolatesNetwork ? 'no network' : 'host network';
    logger.log(`ranks: ${sandbox.kind} sandbox, ${network}, limits as=${config.RANK_MEMORY_BYTES} fsize=${config.RANK_FILE_SIZE_BYTES} nofile=${config.RANK_OPEN_FILES}`);
    if (sandbox.kind !== 'bwrap') logger.warn('bubblewrap is not available: ranks see the host\'s files and processes (install bubblewrap)');
    return sandbox;
  },
};

function checkInterpreter(sandbox: RankSandbox, config: WorkerConfig): void {
  const shimDir = config.MPIAAS_SHIM_PATH;
  if (!shimDir) return;
  const base = config.RANK_UID_BASE;
  const scratch = mkdtempSync(path.join(config.WORK_DIR, '.probe-'));
  try {
    mkdirSync(path.join(scratch, JOB_TMP_NAME));
    // Owned by the ranks' user, as a job's directory is.
    if (base !== undefined) for (const dir of [scratch, path.join(scratch, JOB_TMP_NAME)]) chownSync(dir, base, base);
    const launch = sandbox.launch(scratch, 'probe.py', shimDir);
    const [file, ...args] = [...launch.wrapper, config.MPIAAS_PYTHON, '-c', 'import numpy, mpi4py; print(mpi4py.__file__)'];
    const probe = spawnSync(file as string, args, {
      encoding: 'utf8',
      timeout: 30_000,
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', PYTHONPATH: launch.shimPath },
      ...(base === undefined ? {} : { uid: base, gid: base }),
    });
    const imported = probe.stdout?.trim() ?? '';
    if (probe.status !== 0 || !imported.startsWith(`${launch.shimPath}/`)) {
      const why = probe.stderr?.trim().split('\n').at(-1) ?? probe.error?.message ?? `imported ${imported}`;
      throw new Error(`ranks cannot start in the ${sandbox.kind} sandbox with ${config.MPIAAS_PYTHON}: ${why}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
