// What one operation of bench/op_cpu.py costs under `mpiaas exec`: wall time, CPU and wakeups of
// every part, per operation (bench:cpu, bench:hosted-cpu).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI_MAIN, median, python, root } from './common.mjs';
import { processSeconds, processWakeups, redisServerSeconds } from './cpu-time.mjs';

/**
 * One job of `times` operations `op` (op_cpu.py: pingpong, bcast, allreduce), per operation:
 * wall (the loop, every rank done), the ranks' CPU and wakeups in the loop (each rank's own
 * count), the agents' process (`mpiaas exec`, read from /proc as the loop starts and ends) and
 * the Redis server (likewise). Wakeups: voluntary context switches. `env`: the ranks' variables.
 */
export async function execJobBudget({ op, np, agents, times, prefix, env: extra = {} }) {
  const env = { ...process.env, ...extra, MPIAAS_REDIS_PREFIX: prefix };
  const args = [CLI_MAIN, 'exec', '-n', String(np), '--agents', String(agents), '--python', python, 'bench/op_cpu.py', String(times), op];
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const marks = {};
  const ranks = [];
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'start' || line === 'end') marks[line] = { agents: processSeconds(child.pid), agentWakeups: processWakeups(child.pid), redis: redisServerSeconds() };
    else if (line.startsWith('{')) ranks.push(JSON.parse(line));
  }
  const code = await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(child.exitCode)));
  if (code !== 0 || !marks.start || !marks.end || ranks.length !== np) throw new Error(`${op} job failed (exit ${code})`);
  return {
    wall: Math.max(...ranks.map((r) => r.seconds)) / times,
    ranks: ranks.reduce((sum, r) => sum + r.cpu, 0) / times,
    agents: (marks.end.agents - marks.start.agents) / times,
    // one agent runs without Redis (`mpiaas exec`): what the server spent meanwhile is not the job's
    redis: agents > 1 ? (marks.end.redis - marks.start.redis) / times : 0,
    rankWakeups: ranks.reduce((sum, r) => sum + r.wakeups, 0) / times,
    agentWakeups: (marks.end.agentWakeups - marks.start.agentWakeups) / times,
  };
}

/** Per key, the median over samples (objects of the same numeric keys). */
export function medianOf(samples) {
  return Object.fromEntries(Object.keys(samples[0]).map((key) => [key, median(samples.map((s) => s[key]))]));
}
