import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Logger, type Provider } from '@nestjs/common';
import { WORKER_CONFIG, type WorkerConfig } from '../../config/worker-config';
import { jobCgroupsEnabled, workerCgroupDirs } from '../job-cgroup';
import { RANK_LAUNCHER } from '../launcher/rank-launcher.provider';
import type { RankLauncherClient } from '../launcher/rank-launcher-client';
import { JOB_TMP_NAME, RankSandbox, SANDBOX_JOB_DIR } from '../rank-sandbox';
import { serviceEnvironment } from '../service-environment';
import { workerScratch } from '../worker-scratch';
import { RankZygote } from './rank-zygote';
import { zygoteCommand } from './zygote-command';

/** The worker's rank zygote, or null where ranks start as fresh processes. */
export const RANK_ZYGOTE = Symbol('RANK_ZYGOTE');

const PROBE = [
  'import sys',
  'warm = "numpy" in sys.modules',
  'import numpy, mpi4py',
  'print(mpi4py.__file__)',
  'print("warm" if warm else "cold")',
].join('\n');

/**
 * RANK_WARM_POOL=auto: a root worker starting its ranks itself (bwrap or unshare sandbox)
 * forks them from a rank zygote, once it has run a probe rank through it (numpy and the shim
 * imported warm, as the ranks' user, in their sandbox). Anything else, or a zygote that does
 * not pass its probe, leaves ranks starting as fresh processes (said in the log).
 */
export const rankZygoteProvider: Provider = {
  provide: RANK_ZYGOTE,
  inject: [WORKER_CONFIG, RankSandbox, RANK_LAUNCHER],
  useFactory: async (config: WorkerConfig, sandbox: RankSandbox, launcher: RankLauncherClient | null): Promise<RankZygote | null> => {
    const logger = new Logger('RankZygote');
    if (config.RANK_WARM_POOL === 'off') return null;
    const why = unavailable(config, sandbox, launcher);
    if (why) {
      logger.log(`no warm pool: ${why}; ranks start as fresh processes`);
      return null;
    }
    const zygote = createZygote(config, sandbox, launcher, logger);
    try {
      await zygote.start();
      await probe(zygote, config);
      return zygote;
    } catch (error) {
      await zygote.stop();
      logger.warn(`no warm pool: ${(error as Error).message}; ranks start as fresh processes`);
      return null;
    }
  },
};

function unavailable(config: WorkerConfig, sandbox: RankSandbox, launcher: RankLauncherClient | null): string | undefined {
  if (launcher) return 'ranks start in the rank launcher’s container';
  if (process.getuid?.() !== 0 || config.RANK_UID_BASE === undefined) return 'the zygote confines ranks as root (the worker is not)';
  if (sandbox.kind !== 'bwrap' && sandbox.kind !== 'unshare') return `the ${sandbox.kind} sandbox is not one the zygote enters`;
  if (!config.MPIAAS_SHIM_PATH) return 'no shim folder';
  return undefined;
}

function createZygote(config: WorkerConfig, sandbox: RankSandbox, launcher: RankLauncherClient | null, logger: Logger): RankZygote {
  const scratch = workerScratch(config.WORK_DIR);
  mkdirSync(scratch, { recursive: true, mode: 0o711 });
  const cgroupDirs = jobCgroupsEnabled(config, launcher) ? workerCgroupDirs(config.CGROUP_ROOT, path.basename(scratch)) : [];
  for (const dir of cgroupDirs) mkdirSync(dir, { recursive: true });
  const kind = sandbox.kind as 'bwrap' | 'unshare';
  const home = kind === 'bwrap' ? SANDBOX_JOB_DIR : scratch;
  const socketPath = path.join(scratch, 'zygote.sock');
  const { command, env } = zygoteCommand({
    kind,
    python: config.MPIAAS_PYTHON,
    ...(sandbox.bwrapPath ? { bwrap: sandbox.bwrapPath } : {}),
    shimDir: config.MPIAAS_SHIM_PATH as string,
    scratch,
    socketPath,
    cgroupRoot: config.CGROUP_ROOT,
    cgroupDirs,
    interpreterDirs: sandbox.interpreterFolders,
    hostNetwork: sandbox.hostNetwork,
    limits: { memoryBytes: config.RANK_MEMORY_BYTES, fileSizeBytes: config.RANK_FILE_SIZE_BYTES, openFiles: config.RANK_OPEN_FILES },
    environment: serviceEnvironment(home, kind === 'bwrap' ? '/tmp' : path.join(scratch, JOB_TMP_NAME)),
  });
  return new RankZygote(command, env, socketPath, logger);
}

/** Runs one rank through the zygote, as a job's rank would run, and checks it started warm. */
async function probe(zygote: RankZygote, config: WorkerConfig): Promise<void> {
  const scratch = workerScratch(config.WORK_DIR);
  const dir = mkdtempSync(path.join(scratch, '.probe-'));
  try {
    mkdirSync(path.join(dir, JOB_TMP_NAME));
    writeFileSync(path.join(dir, 'probe.py'), PROBE);
    const uid = config.RANK_UID_BASE as number;
    for (const file of [dir, path.join(dir, JOB_TMP_NAME), path.join(dir, 'probe.py')]) chownSync(file, uid, uid);
    const rank = zygote.spawn(
      { rank: 0, python: config.MPIAAS_PYTHON, script: 'probe.py', args: [], cwd: dir, env: zygote.rankEnvironment },
      { jobDir: dir, uid, gid: uid, cgroups: [] },
    );
    let out = '';
    let err = '';
    rank.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    rank.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exit = await rank.exited;
    await Promise.race([rank.closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
    rank.channel.destroy();
    const [imported = '', how = ''] = out.trim().split('\n');
    if (exit.code !== 0 || !imported.includes('/mpi4py/') || how !== 'warm') {
      throw new Error(`its probe rank failed (exit ${exit.code ?? exit.signal}): ${err.trim().split('\n').at(-1) ?? out}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
