// 1M log lines (4 ranks × 250k lines of 40 bytes) stored by one worker, against the same 4
// processes writing to files in the same run: what bench/service.mjs and bench/log-lines.mjs measure.
import { spawn } from 'node:child_process';
import { closeSync, openSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fmtS, median, python, root, seconds } from './common.mjs';

const fmtRate = (r, unit) => `${r >= 100 ? r.toFixed(0) : r.toFixed(1)} ${unit}`;

/** The per-rank cap the worker needs for the 10 MB each rank prints. */
export const LOG_CAP_BYTES = String(64 * 1024 ** 2);

const LINE_SCRIPT = [
  'import os, sys',
  "if 'BENCH_RANK' in os.environ:",
  "    rank = int(os.environ['BENCH_RANK'])",
  'else:',
  '    from mpi4py import MPI',
  '    rank = MPI.COMM_WORLD.Get_rank()',
  'for i in range(int(sys.argv[1])):',
  "    print(f'rank {rank} line {i:09d} xxxxxxxxxxxxxxxxx')", // 40 bytes with the newline
  '',
].join('\n');

/** Starts `count` processes at once and waits for all: wall seconds. */
function runParallel(count, makeArgs) {
  const started = process.hrtime.bigint();
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      const { command, args, env, stdout } = makeArgs(i);
      return new Promise((resolve, reject) => {
        const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', stdout, 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')}: ${code}\n${stderr}`))));
      });
    }),
  ).then(() => seconds(started));
}

/**
 * Runs the log job on an opened private stack whose worker has LOG_CAP_BYTES, checks every
 * line was stored once, then runs the file baseline (3 times, median; once more unbuffered, as
 * ranks run). Returns the table row and a note.
 */
export async function measureLogLines(stack, { linesPerRank, worker }) {
  const { db, api, pollFinal, scratch } = stack;
  const lines = linesPerRank;
  const totalLines = 4 * lines;
  const totalBytes = totalLines * 40;
  const logsStarted = process.hrtime.bigint();
  const logJob = await api('POST', '/jobs', { script: LINE_SCRIPT, np: 4, args: [String(lines)], timeoutSeconds: 600 });
  const logFinal = await pollFinal(logJob.id, 50, 600_000);
  const logSeconds = seconds(logsStarted);
  if (logFinal.status !== 'SUCCEEDED') throw new Error(`log job ${logFinal.status}: ${logFinal.reason}\n${worker?.output ?? ''}`);
  const { rows: stored } = await db.query(
    `SELECT rank, sum(octet_length(text))::bigint AS bytes,
            sum(length(text) - length(replace(text, E'\\n', '')))::bigint AS lines, count(*)::int AS chunks
       FROM log_chunks WHERE job_id = $1 AND stream = 'STDOUT' GROUP BY rank ORDER BY rank`,
    [logJob.id],
  );
  const storedBytes = stored.reduce((sum, r) => sum + Number(r.bytes), 0);
  const storedLineCount = stored.reduce((sum, r) => sum + Number(r.lines), 0);
  const rankBytes = logFinal.ranks.reduce((sum, r) => sum + r.stdoutBytes, 0);
  if (storedBytes !== totalBytes || storedLineCount !== totalLines || rankBytes !== totalBytes || logFinal.ranks.some((r) => r.truncated)) {
    throw new Error(`log job stored ${storedLineCount} lines / ${storedBytes} bytes (ranks say ${rankBytes}), expected ${totalLines} / ${totalBytes}`);
  }
  const workerRun = (Date.parse(logFinal.finishedAt) - Date.parse(logFinal.startedAt)) / 1000;
  const scriptPath = path.join(scratch, 'lines.py');
  writeFileSync(scriptPath, LINE_SCRIPT);
  const toFile = async (extraEnv) => {
    const fds = [0, 1, 2, 3].map((rank) => openSync(path.join(scratch, `out${rank}.txt`), 'w'));
    let wall;
    try {
      wall = await runParallel(4, (rank) => ({
        command: python,
        args: [scriptPath, String(lines)],
        env: { ...process.env, BENCH_RANK: String(rank), ...extraEnv },
        stdout: fds[rank],
      }));
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
    const written = [0, 1, 2, 3].reduce((sum, rank) => sum + statSync(path.join(scratch, `out${rank}.txt`)).size, 0);
    if (written !== totalBytes) throw new Error(`file baseline wrote ${written} bytes, expected ${totalBytes}`);
    return wall;
  };
  const fileRuns = [];
  for (let i = 0; i < 3; i++) fileRuns.push(await toFile({}));
  const fileSeconds = median(fileRuns);
  const fileUnbufferedSeconds = await toFile({ PYTHONUNBUFFERED: '1' });
  const ranksExited = Math.max(...logFinal.ranks.map((r) => Date.parse(r.finishedAt))) - Date.parse(logFinal.startedAt);
  const storedAfter = Date.parse(logFinal.finishedAt) - Math.max(...logFinal.ranks.map((r) => Date.parse(r.finishedAt)));
  const mb = totalBytes / 1e6;
  const ourRate = totalLines / logSeconds;
  const fileRate = totalLines / fileSeconds;
  const row = {
    name: `${(totalLines / 1e6).toFixed(2)}M log lines (4 ranks × ${lines}, 40 B) stored, POST → SUCCEEDED`,
    base: `${fmtS(fileSeconds)}: ${fmtRate(fileRate / 1e3, 'k lines/s')}, ${fmtRate(mb / fileSeconds, 'MB/s')} (4 × python3 > file)`,
    ours: `${fmtS(logSeconds)}: ${fmtRate(ourRate / 1e3, 'k lines/s')}, ${fmtRate(mb / logSeconds, 'MB/s')}`,
    ratio: `${(ourRate / fileRate).toFixed(2)}x`,
    target: '≥ 0.8x file rate',
    met: ourRate >= fileRate * 0.8,
  };
  const note =
    `log lines: ${storedLineCount} lines / ${storedBytes} bytes stored in ${stored.reduce((s, r) => s + r.chunks, 0)} log_chunks rows ` +
    `(= JobRank stdoutBytes ${rankBytes}, none truncated); worker claimed→final ${workerRun.toFixed(2)} s, of which ` +
    `claimed→last rank exited ${(ranksExited / 1000).toFixed(2)} s and last rank exited→final (rest of the logs stored) ${(storedAfter / 1000).toFixed(2)} s; ` +
    `file baseline runs ${fileRuns.map((x) => x.toFixed(2)).join(', ')} s (median used); with PYTHONUNBUFFERED=1 (as ranks run): ${fmtS(fileUnbufferedSeconds)} = ${fmtRate(totalLines / fileUnbufferedSeconds / 1e3, 'k lines/s')}`;
  return { row, note, ratio: ourRate / fileRate };
}
