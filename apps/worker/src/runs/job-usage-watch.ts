import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { StopVerdict } from '@mpiaas/runtime';
import type { JobCgroup } from './job-cgroup';

export interface UsageLimits {
  /** Bytes under the job's directory (its /tmp included). */
  diskBytes: number;
  /** Files and folders under it. */
  files: number;
  /** CPU seconds of the share's ranks together; 0: none (the wall-clock limit still holds). */
  cpuSeconds: number;
}

const CHECK_MS = 1000;

/**
 * Watches what a job's share uses that no kernel limit bounds here: disk under its directory
 * (bytes and files; RLIMIT_FSIZE only bounds one file) and CPU seconds (counted by its cgroup).
 * Crossing a limit ends the job with a verdict naming it. Checked every second, so a job
 * may overshoot by what it writes in that second.
 */
export class JobUsageWatch {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly dir: string,
    private readonly cgroup: JobCgroup | undefined,
    private readonly limits: UsageLimits,
    private readonly worker: string,
    private readonly onExceeded: (verdict: StopVerdict) => void,
    private readonly measure: (dir: string, maxFiles: number) => Promise<{ bytes: number; files: number }> = diskUsage,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), CHECK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const why = await this.exceeded();
      if (why) {
        this.stop();
        this.onExceeded({ status: 'FAILED', exitCode: 1, reason: `${why} on worker ${this.worker}` });
      }
    } finally {
      this.checking = false;
    }
  }

  private async exceeded(): Promise<string | undefined> {
    const { diskBytes, files, cpuSeconds } = this.limits;
    if (cpuSeconds > 0 && this.cgroup) {
      const used = await this.cgroup.cpuSeconds();
      if (used > cpuSeconds) return `CPU limit exceeded: the job's ranks used ${used.toFixed(1)} s of CPU, more than ${cpuSeconds} s (JOB_CPU_SECONDS)`;
    }
    const usage = await this.measure(this.dir, files + 1).catch(() => ({ bytes: 0, files: 0 }));
    if (usage.files > files) return `disk limit exceeded: the job's directory holds more than ${files} files (JOB_FILES)`;
    if (usage.bytes > diskBytes) return `disk limit exceeded: the job's directory holds ${usage.bytes} bytes, more than ${diskBytes} (JOB_DISK_BYTES)`;
    return undefined;
  }
}

/**
 * Bytes (allocated blocks) and entries under `dir`, without following links; stops counting
 * past `maxFiles`. A file with several names (hard links: how ranks hand each other large
 * data, PROTOCOL.md "Shared memory") takes its blocks once, so its bytes count once.
 */
export async function diskUsage(dir: string, maxFiles: number): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const linked = new Set<string>();
  const countedBefore = (stat: Stats): boolean => {
    if (stat.nlink < 2 || stat.isDirectory()) return false;
    const key = `${stat.dev}:${stat.ino}`;
    if (linked.has(key)) return true;
    linked.add(key);
    return false;
  };
  const pending = [dir];
  while (pending.length > 0 && files <= maxFiles) {
    const current = pending.pop() as string;
    const entries = await readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      files++;
      const full = path.join(current, entry.name);
      const stat = await lstat(full).catch(() => undefined);
      if (stat && !countedBefore(stat)) bytes += stat.blocks * 512;
      if (entry.isDirectory()) pending.push(full);
      if (files > maxFiles) break;
    }
  }
  return { bytes, files };
}
