import type { JobProfileView, MinAvgMaxView } from '@mpiaas/contracts';

const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const triple = (v: MinAvgMaxView): string => `${fmtMs(v.min)} / ${fmtMs(v.avg)} / ${fmtMs(v.max)}`;

function fmtBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function table(header: string[], rows: string[][], rightAligned: ReadonlySet<number>): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => (rightAligned.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/**
 * A job's profile as two tables, IPM-style: per MPI op (calls and bytes over all ranks; each
 * rank's time in the op and the part waiting for the last rank, min / avg / max over ranks,
 * ms), then per rank (wall time, time in MPI, its share).
 */
export function formatProfile(profile: JobProfileView): string {
  const ops = table(
    ['op', 'calls', 'bytes', 'time ms (min / avg / max)', 'wait ms (min / avg / max)', 'wait %'],
    profile.ops.map((op) => [
      op.op,
      String(op.calls),
      fmtBytes(op.bytes),
      triple(op.timeMs),
      triple(op.waitMs),
      op.timeMs.avg > 0 ? `${((100 * op.waitMs.avg) / op.timeMs.avg).toFixed(0)}%` : '-',
    ]),
    new Set([1, 2, 3, 4, 5]),
  );
  const ranks = table(
    ['rank', 'wall ms', 'mpi ms', 'mpi %'],
    profile.ranks.map((rank) => [
      String(rank.rank),
      fmtMs(rank.wallMs),
      fmtMs(rank.mpiMs),
      rank.wallMs > 0 ? `${((100 * rank.mpiMs) / rank.wallMs).toFixed(1)}%` : '-',
    ]),
    new Set([1, 2, 3]),
  );
  return [...ops, '', ...ranks].join('\n');
}
