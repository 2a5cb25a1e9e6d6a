import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { systemCommand } from '../../apps/worker/src/runs/rank-sandbox';
import { REPO_ROOT } from './mpiaas-exec';
import { StackProcess } from './service-stack';

export const LAUNCHER_SCRIPT = path.join(REPO_ROOT, 'apps', 'worker', 'rank-launcher', 'rank_launcher.py');
const MEMORY_CGROUPS = '/sys/fs/cgroup/memory';

/** Why this machine cannot stand in for a ranks container, or undefined if it can. */
export function ranksContainerUnsupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (the launcher runs under a user of its own)';
  if (!systemCommand('setpriv') || !systemCommand('unshare')) return 'needs setpriv and unshare (util-linux)';
  return undefined;
}

/**
 * What a worker pod's `ranks` container gives the rank launcher, on this host: a user and
 * group of its own (the worker's group shares the work folder with it, as fsGroup does), a
 * PID namespace of its own with its own /proc (the worker's processes are not there), and,
 * where cgroup v1 memory is writable, a memory limit for all its processes together.
 */
export class RanksContainer {
  private constructor(
    readonly workDir: string,
    readonly socket: string,
    readonly uid: number,
    readonly gid: number,
    readonly process: StackProcess,
    private readonly cgroup: string | undefined,
    private readonly root: string,
  ) {}

  static async start(options: { memoryBytes?: number; uid?: number; gid?: number } = {}): Promise<RanksContainer> {
    const uid = options.uid ?? 190_001;
    const gid = options.gid ?? 190_000;
    const root = await mkdtemp(path.join(os.tmpdir(), 'mpiaas-ranks-'));
    await chmod(root, 0o755);
    const workDir = path.join(root, 'work');
    await mkdir(workDir);
    // As an emptyDir with fsGroup: the group's, setgid, so what either side makes stays shared.
    await chown(workDir, 0, gid);
    await chmod(workDir, 0o2770);
    const socket = path.join(workDir, 'launcher.sock');
    // The launcher as the image holds it, readable by its user: the checkout may sit under a
    // folder only root can enter (a CI clone in a private temporary directory).
    const launcher = path.join(root, 'rank_launcher.py');
    await copyFile(LAUNCHER_SCRIPT, launcher);
    await chmod(launcher, 0o644);
    let cgroup: string | undefined;
    if (options.memoryBytes !== undefined && existsSync(MEMORY_CGROUPS)) {
      cgroup = path.join(MEMORY_CGROUPS, `mpiaas-test-ranks-${process.pid}-${path.basename(root)}`);
      await mkdir(cgroup);
      await writeFile(path.join(cgroup, 'memory.limit_in_bytes'), String(options.memoryBytes));
      await writeFile(path.join(cgroup, 'memory.memsw.limit_in_bytes'), String(options.memoryBytes)).catch(() => undefined);
    }
    const launch = [
      systemCommand('unshare') as string, '--pid', '--fork', '--mount', '--mount-proc', '--',
      systemCommand('setpriv') as string, `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--',
      '/usr/bin/python3', launcher, '--socket', socket, '--work-dir', workDir,
    ];
    // The shell moves itself into the cgroup first: everything it starts is counted there.
    const enter = cgroup ? `echo $$ > ${cgroup}/cgroup.procs && ` : '';
    // A process group of its own: stop() signals the launcher too, which unshare does not
    // pass on (and the parent-death signal does not survive setpriv's change of user).
    const child = spawn('/bin/sh', ['-c', `${enter}exec "$@"`, 'sh', ...launch], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/bin:/bin' },
      detached: true,
    });
    const container = new RanksContainer(workDir, socket, uid, gid, new StackProcess('ranks', child), cgroup, root);
    const deadline = Date.now() + 10_000;
    while (!existsSync(socket)) {
      if (Date.now() > deadline) throw new Error(`the rank launcher did not start\n${container.process.output}`);
      await delay(50);
    }
    return container;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      if (this.process.child.pid !== undefined) process.kill(-this.process.child.pid, signal);
    } catch {
      // gone already
    }
  }

  /** Environment that points a worker at this launcher. */
  workerEnv(): Record<string, string> {
    return { RANK_LAUNCHER_SOCKET: this.socket, WORK_DIR: this.workDir };
  }

  async stop(): Promise<void> {
    this.signalGroup('SIGTERM');
    await Promise.race([this.process.exited, delay(5000)]);
    this.signalGroup('SIGKILL');
    await this.process.exited;
    if (this.cgroup) {
      for (let i = 0; i < 50; i++) {
        if (await rmdir(this.cgroup).then(() => true, () => false)) break;
        await delay(100);
      }
    }
    await rm(this.root, { recursive: true, force: true });
  }
}
