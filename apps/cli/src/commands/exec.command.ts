import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { MPI4PY_OPTION_HELP, mpi4pyRelease, positiveSeconds, wholeNumber } from './argument-parsers';
// Only what exec needs, before its ranks start: the contracts' index loads their schemas.
import { rankEntry } from '@mpiaas/contracts/launcher';
import { MPI4PY_RELEASE_ENV } from '@mpiaas/contracts/mpi4py-release';
import { roundRobinPlacement, startRanksEarly, type ForkRanks } from '@mpiaas/runtime/early-ranks';
import { redisUsesTls, restoreDeferredCaCerts, rerunWithCaCerts } from '../deferred-ca-certs';
import { loadLocalConfig } from '../local-config';
import { RankOutputWriter } from '../output/rank-output-writer';

interface ExecOptions {
  np: number;
  tagOutput: boolean;
  timeout?: number;
  python?: string;
  agents: number;
  futures: boolean;
  mpi4py?: string;
  profile: boolean;
}

/** Exit status of a producer whose reader went away (128 + SIGPIPE), as in a shell pipe. */
const EXIT_EPIPE = 141;

/** `mpiaas exec`: the local launcher, this host's mpirun. */
export function execCommand(): Command {
  return new Command('exec')
    .description('run an mpi4py script on N local ranks (like mpirun); with --agents K, their traffic goes through Redis as between hosts')
    .argument('<script>', 'the Python script')
    .argument('[args...]', 'arguments passed to the script')
    .requiredOption('-n, --np <N>', 'number of ranks', wholeNumber('N', 1))
    .option('--tag-output', 'prefix every line with [1,rank]<stream>: as mpirun does', false)
    .option('--timeout <seconds>', 'kill every rank after this long (exit code 124)', positiveSeconds)
    .option('--python <path>', 'interpreter for the ranks (default: $MPIAAS_PYTHON or python3; needs numpy)')
    .option('--agents <K>', 'spread the ranks over K agents, each with its own Redis connections, as on K hosts (one agent needs no Redis)', wholeNumber('K', 1), 1)
    .option('--futures', 'run as `python -m mpi4py.futures script`: rank 0 runs the script, the others serve its MPIPoolExecutor tasks', false)
    .option('--mpi4py <release>', MPI4PY_OPTION_HELP, mpi4pyRelease)
    .option('--profile', 'at the end, print on stderr where the time went: per MPI op and per rank (as mpiaas profile)', false)
    .passThroughOptions()
    .addHelpText('after', '\nExample:\n  $ mpiaas exec -n 4 examples/pi.py\n  $ mpiaas exec -n 2 --tag-output --timeout 60 job.py --steps 10')
    .action(async (script: string, args: string[], options: ExecOptions) => {
      const scriptPath = path.resolve(script);
      if (!existsSync(scriptPath)) {
        process.stderr.write(`mpiaas: cannot open script ${script}: no such file\n`);
        process.exit(2);
      }
      const config = loadLocalConfig();
      if (restoreDeferredCaCerts() && options.agents > 1 && redisUsesTls(config.redisUrl)) await rerunWithCaCerts();
      const writer = new RankOutputWriter({ stdout: process.stdout, stderr: process.stderr }, options.tagOutput);
      const cancel = new AbortController();
      // `mpiaas exec ... | head`: once the reader is gone, stop the job and leave quietly
      // (an unhandled EPIPE would crash with a stack trace)
      let readerGone = false;
      const onOutputError = (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') throw err;
        readerGone = true;
        cancel.abort();
      };
      process.stdout.on('error', onOutputError);
      process.stderr.on('error', onOutputError);
      let interrupts = 0;
      process.on('SIGINT', () => {
        if (++interrupts > 1) process.exit(130);
        cancel.abort();
      });
      process.on('SIGTERM', () => cancel.abort());

      // the script path as given, so the ranks' sys.argv[0] is what the user typed (as
      // with mpirun); the ranks run in this directory. --futures puts `-m mpi4py.futures`
      // before it: the rank's command line is `python -u <script> <args...>`.
      const jobId = localJobId();
      const start = {
        jobId,
        placement: roundRobinPlacement(options.np, options.agents),
        ...rankEntry(options.futures ? 'futures' : 'script', script, args),
        python: options.python ?? config.python,
        cwd: process.cwd(),
        inheritEnv: true,
        ...(options.mpi4py === undefined ? {} : { env: { [MPI4PY_RELEASE_ENV]: options.mpi4py } }),
        stdin: process.stdin,
      };
      // The ranks boot while the runtime and its Redis client load and connect: their first
      // MPI call waits in its socket until the agent attaches.
      const early = startRanksEarly(start, forkRanksSetting(process.env.MPIAAS_FORK_RANKS));
      // One agent runs without Redis: this entry point loads no Redis client unless it is needed
      const { runJob } = await import('@mpiaas/runtime/run-job');
      const outcome = await runJob({
        ...start,
        np: options.np,
        agents: options.agents,
        spawnRank: early.spawnRank,
        // MPIAAS_DEADLOCK_DETECTION=0: no deadlock watch (bench/deadlock.mjs measures its cost).
        detectDeadlocks: process.env.MPIAAS_DEADLOCK_DETECTION !== '0',
        ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout * 1000 }),
        // ranks on one agent talk through it, as mpirun's on one node share memory; agents
        // apart meet in Redis, as on several hosts
        ...(options.agents > 1 ? { redisUrl: config.redisUrl } : {}),
        keyPrefix: config.keyPrefix,
        signal: cancel.signal,
        onOutput: (rank, stream, chunk) => writer.write(rank, stream, chunk),
        onWarning: (message) => process.stderr.write(`mpiaas: warning: ${message}\n`),
        sharedMemory: { dir: sharedMemoryDir() },
      }).finally(() => early.discard());
      if (readerGone) process.exit(EXIT_EPIPE);
      writer.flush();
      if (outcome.status !== 'SUCCEEDED') {
        process.stderr.write(`mpiaas: job ${outcome.status}: ${outcome.reason ?? ''}\n`);
        if (outcome.diagnosis) process.stderr.write(`mpiaas: where the ranks were: ${outcome.diagnosis.summary}\n`);
      }
      if (options.profile) {
        const { formatProfile } = await import('../output/profile-format.js');
        process.stderr.write(outcome.profile ? `${formatProfile(outcome.profile)}\n` : 'mpiaas: no profile: no rank reached MPI_Finalize\n');
      }
      process.stdout.write('', () => process.exit(outcome.exitCode));
    });
}

/**
 * MPIAAS_FORK_RANKS: `0` starts an interpreter for each rank, `1` forks the ranks from one at
 * any np; unset, from 4 ranks on, where forking is faster (bench/exec-start.mjs).
 */
function forkRanksSetting(value: string | undefined): ForkRanks {
  return value === '0' ? 'never' : value === '1' ? 'always' : 'auto';
}

/**
 * A folder of this user's (0700) where ranks of one agent leave large data for each other
 * (PROTOCOL.md, "Shared memory"), removed when the command exits, however it exits.
 */
function sharedMemoryDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-shm-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A local job's id, naming its Redis keys when its agents meet there: unique among the jobs
 * of this host (its pid, while it runs) and, by its time and random part, of others sharing
 * the Redis. Not a UUID: node:crypto alone takes ~15 ms to load, before the ranks can start.
 */
function localJobId(): string {
  return `${process.pid.toString(36)}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}
