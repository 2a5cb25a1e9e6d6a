// Where the runtime bench's figures spend their time on this machine: the CPU seconds every part
// spends per operation (the ranks, the agents' process, Redis), beside its wall time and the
// machine's cores, for the figures whose targets are not met (issue 14): across two agents
// (`mpiaas exec -n 2 --agents 2`) a 4 MiB ping-pong round trip and a Bcast of 8 MiB, with the
// same for the Redis floor the runtime bench prints (SET + GET of 8 MiB in chunks, from one
// client, through the runtime's payload connection); on one agent an Allreduce of 8 B at np 2
// and 4, against 2x the floor (a rank's socket round trip + a Redis round trip), and the same
// Allreduce across two agents (one rank on each at np 2, two at np 4), against the same target.
// Work that needs C CPU-seconds cannot take less than C / cores of wall time, however well its
// stages overlap: where that bound is at or above a target, only less work can meet it. Beside
// the CPU, how often the ranks and the agents' process slept and were woken per operation
// (voluntary context switches), and, as a yardstick for the one-agent rows, the same Allreduce
// at np 2 and 4 both ways: with the ranks meeting in shared memory (the default,
// _shm_collectives.py) and through their agent (MPI4PY_SHM_COLLECTIVES=0), and at np 4 a bare
// prototype without the MPI layer (bench/shm_allreduce.py).
// Usage: npm run bench:cpu [-- --quick]     (prints a Markdown table)
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { CLI_MAIN, fmtMicros, machineLine, median, python, redisUrl, requireFiles, root } from './lib/common.mjs';
import { redisServerSeconds } from './lib/cpu-time.mjs';
import { execJobBudget, medianOf } from './lib/op-budget.mjs';
import { rawRedisPingMicros, socketRoundTripMicros } from './lib/floor.mjs';
import { storeThenFetch } from './lib/payload-floor.mjs';

const { PayloadConnection } = await import('../packages/runtime/dist/redis/payload-connection.js');
const { PAYLOAD_CHUNK_BYTES, chunksOf } = await import('../packages/runtime/dist/redis/payload-chunks.js');

const quick = process.argv.includes('--quick');
const TIMES = { pingpong: quick ? 40 : 200, bcast: quick ? 40 : 200, allreduce: quick ? 2000 : 10_000 };
/** Allreduces across agents take ~10x longer each: fewer of them for a loop of a few seconds. */
const ACROSS_AGENTS_TIMES = quick ? 500 : 4000;
const RUNS = quick ? 1 : 3;
const cores = os.availableParallelism();
const MIB = 1024 * 1024;
requireFiles([CLI_MAIN]);


/** The np-4 Allreduce of 8 B with ranks meeting in shared memory (bench/shm_allreduce.py), per call. */
function sharedMemoryBudget(np, times) {
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const ranks = execFileSync(python, ['bench/shm_allreduce.py', String(np), String(times)], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
    if (ranks.length !== np) throw new Error(`shm_allreduce.py: ${ranks.length} of ${np} ranks reported`);
    samples.push({
      wall: Math.max(...ranks.map((r) => r.seconds)),
      ranks: ranks.reduce((sum, r) => sum + r.cpu, 0),
      agents: 0,
      redis: 0,
      rankWakeups: ranks.reduce((sum, r) => sum + r.wakeups, 0),
    });
  }
  return medianOf(samples);
}

async function medianBudget(op, np, agents, env = {}, times = TIMES[op]) {
  const samples = [];
  for (let i = 0; i < RUNS; i++) samples.push(await execJobBudget({ op, np, agents, times, prefix: `bench:cpu:${process.pid}:`, env }));
  return medianOf(samples);
}

/** SET + GETDEL of 8 MiB in chunks from this process (the floor), per copy: wall, this process' CPU, Redis' CPU. */
async function floorBudget() {
  const connection = await PayloadConnection.open(redisUrl, 'bench-cpu');
  const key = `bench:cpu:${process.pid}:floor`;
  const chunks = chunksOf([Buffer.alloc(8 * MIB, 7)], PAYLOAD_CHUNK_BYTES);
  const copy = () => storeThenFetch(connection, key, chunks);
  const times = quick ? 20 : 100;
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    await copy();
    const redisBefore = redisServerSeconds();
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let n = 0; n < times; n++) await copy();
    const wall = Number(process.hrtime.bigint() - started) / 1e9 / times;
    const own = process.cpuUsage(cpuBefore);
    samples.push({ wall, ranks: 0, agents: (own.user + own.system) / 1e6 / times, system: own.system / 1e6 / times, redis: (redisServerSeconds() - redisBefore) / times });
  }
  connection.close();
  return medianOf(samples);
}


const loadBefore = os.loadavg();
const floor = await floorBudget();
const pingpong = await medianBudget('pingpong', 2, 2);
const bcast = await medianBudget('bcast', 2, 2);
const throughAgent = { MPI4PY_SHM_COLLECTIVES: '0' };
const allreduce2 = await medianBudget('allreduce', 2, 1, throughAgent);
const allreduce4 = await medianBudget('allreduce', 4, 1, throughAgent);
const sharedMemory4 = sharedMemoryBudget(4, TIMES.allreduce * 10);
const allreduce2Shm = await medianBudget('allreduce', 2, 1);
const allreduce4Shm = await medianBudget('allreduce', 4, 1);
const allreduce2Across = await medianBudget('allreduce', 2, 2, {}, ACROSS_AGENTS_TIMES);
const allreduce4Across = await medianBudget('allreduce', 4, 2, {}, ACROSS_AGENTS_TIMES);
// the floor of a small call: its medians over samples taken before and after the runs
const sockets = [await socketRoundTripMicros(), await socketRoundTripMicros(), await socketRoundTripMicros()];
const pings = [await rawRedisPingMicros(), await rawRedisPingMicros(), await rawRedisPingMicros()];
const smallFloor = (median(sockets) + median(pings)) / 1e6;

const ms = (s) => fmtMicros(s * 1e6);
const cpuOf = (b) => b.ranks + b.agents + b.redis;
// The targets: 1 GB/s for a round trip's 2 × 4 MiB; a Bcast of 8 MiB within 1.2x the floor.
const rows = [
  ['4 MiB ping-pong round trip, 2 agents', pingpong, (8 * MIB) / 1e9, '1 GB/s'],
  ['Bcast of 8 MiB, np 2, 2 agents', bcast, 1.2 * floor.wall, '1.2x the floor'],
  ['Redis floor: SET + GET of 8 MiB, one client', floor, undefined, ''],
  ['Allreduce of 8 B, np 2, 1 agent (shared memory)', allreduce2Shm, 2 * smallFloor, '2x the floor'],
  ['Allreduce of 8 B, np 4, 1 agent (shared memory)', allreduce4Shm, 2 * smallFloor, '2x the floor'],
  ['Allreduce of 8 B, np 2, 1 agent, through it (MPI4PY_SHM_COLLECTIVES=0)', allreduce2, 2 * smallFloor, '2x the floor'],
  ['Allreduce of 8 B, np 4, 1 agent, through it (MPI4PY_SHM_COLLECTIVES=0)', allreduce4, 2 * smallFloor, '2x the floor'],
  ['Allreduce of 8 B, np 4, ranks through shared memory (prototype, no MPI layer)', sharedMemory4, 2 * smallFloor, '2x the floor'],
  ['Allreduce of 8 B, np 2, 2 agents', allreduce2Across, 2 * smallFloor, '2x the floor'],
  ['Allreduce of 8 B, np 4, 2 agents', allreduce4Across, 2 * smallFloor, '2x the floor'],
];
console.log(machineLine(loadBefore, quick));
console.log(`${cores} cores; medians of ${RUNS} jobs each (CPU: from /proc as the timed loop starts and ends)`);
console.log(`Floor of a small call: ${ms(smallFloor)} (a rank's socket round trip ${fmtMicros(median(sockets))} + a Redis PING ${fmtMicros(median(pings))})\n`);
console.log('| per operation | wall | CPU: ranks | CPU: agents / client | CPU: Redis | CPU in all | CPU / cores | target | (CPU / cores) / target | wakeups: ranks / agents |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [name, b, target, what] of rows) {
  const bound = cpuOf(b) / cores;
  const targetCell = target === undefined ? '—' : `${ms(target)} (${what})`;
  const ratio = target === undefined ? '—' : `${(bound / target).toFixed(2)}x`;
  const redisCell = b.redis === 0 ? '—' : ms(b.redis);
  const agentsCell = b.agents === 0 && b.ranks ? '—' : ms(b.agents);
  const wakeups = b.rankWakeups === undefined ? '—' : `${b.rankWakeups.toFixed(1)} / ${b.agentWakeups === undefined ? '—' : b.agentWakeups.toFixed(1)}`;
  console.log(`| ${name} | ${ms(b.wall)} | ${b.ranks ? ms(b.ranks) : '—'} | ${agentsCell} | ${redisCell} | ${ms(cpuOf(b))} | ${ms(bound)} | ${targetCell} | ${ratio} | ${wakeups} |`);
}
console.log(`\nA ratio in the last column at or near 1x: the operation's CPU, spread perfectly over ${cores} cores with nothing else running, already fills the target's time.`);
console.log(`Of the floor's client CPU, ${ms(floor.system)} is system time (the kernel's copies through loopback TCP).`);
console.log('A small call is a chain (the rank writes, the agent answers, the rank reads): its wall time is at least the CPU on that chain, not only CPU / cores.');
console.log('Wakeups: voluntary context switches per operation, all ranks together, and of the agents\' process; every one is a sleep and a wake on the chain.');
