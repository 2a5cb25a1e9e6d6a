// CPU seconds spent by the processes a benchmark drives, read from /proc (Linux): on a shared,
// loaded machine the CPU each part spends per request moves far less than its throughput does.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * utime + stime of a process, seconds (with `children`, also those of the children it has
 * reaped); 0 if it is gone.
 */
export function processSeconds(pid, { children = false } = {}) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return (f[11] + f[12] + (children ? f[13] + f[14] : 0)) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * Voluntary context switches of a process so far (/proc/PID/status): how often it went to
 * sleep waiting for something and was woken; 0 if it is gone.
 */
export function processWakeups(pid) {
  try {
    return Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The processes whose command line passes `test`. */
export function pidsWhose(test) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (test(readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** CPU seconds so far of the Redis server (shared with whatever else runs on the machine). */
export function redisServerSeconds() {
  return pidsWhose((cmd) => cmd.startsWith('redis-server')).reduce((sum, pid) => sum + processSeconds(pid), 0);
}

/**
 * CPU seconds so far of: the api process, the Postgres backends serving `database`, the
 * Redis server (shared with whatever else runs on the machine) and this process (the load
 * generator). Postgres backends that ended meanwhile are not counted.
 */
export function cpuSnapshot({ apiPid, database }) {
  const sum = (pids) => new Map(pids.map((pid) => [pid, processSeconds(pid)]));
  return {
    api: processSeconds(apiPid),
    postgres: sum(pidsWhose((cmd) => cmd.startsWith('postgres: ') && cmd.includes(` ${database} `))),
    redis: redisServerSeconds(),
    loadGenerator: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  };
}

/** CPU seconds spent between two snapshots, per part. */
export function cpuSpent(before, after) {
  let postgres = 0;
  for (const [pid, seconds] of after.postgres) postgres += seconds - (before.postgres.get(pid) ?? 0);
  return {
    api: after.api - before.api,
    postgres,
    redis: after.redis - before.redis,
    loadGenerator: after.loadGenerator - before.loadGenerator,
  };
}
