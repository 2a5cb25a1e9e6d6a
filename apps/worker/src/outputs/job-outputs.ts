import { chmodSync, chownSync, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { OUTPUT_ENV, RESULT_ENV, RESULT_MAX_BYTES, SERVICE_FILES_PREFIX } from '@mpiaas/contracts';
import { Prisma } from '@mpiaas/db';
import type { RankSpawnOptions } from '@mpiaas/runtime';
import type { ObjectStore } from '@mpiaas/storage';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import type { RankLauncherClient } from '../runs/launcher/rank-launcher-client';
import { RANK_LAUNCHER } from '../runs/launcher/rank-launcher.provider';
import { JobFilesRepository, type FileCandidate } from './job-files.repository';
import { OBJECT_STORE } from './object-store.provider';
import { listOutputFiles, openOutputFile } from './output-walk';
import { firstEntries } from '../runs/first-entries';

/** The folder of the job's directory holding one folder per rank (MPIAAS_OUTPUT). */
export const OUTPUT_DIR_NAME = 'output';
/** Rank 0's result file in the job's directory (MPIAAS_RESULT). */
export const RESULT_FILE_NAME = 'result.json';
/** Lines of a dropped-files marker at most. */
const MARKER_LINES = 1000;

/** The object key of an output file of an attempt. */
export const storageKeyOf = (jobId: string, attempt: number, filePath: string): string => `jobs/${jobId}/${attempt}/${filePath}`;

export interface ShareOutputs {
  files: number;
  dropped: number;
}

/**
 * What a job gives back besides its exit and output: each rank's folder of files (kept in
 * the object store) and rank 0's JSON result. docs/outputs.md.
 */
@Injectable()
export class JobOutputs {
  private readonly logger = new Logger(JobOutputs.name);

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly files: JobFilesRepository,
    @Inject(RANK_LAUNCHER) private readonly launcher: RankLauncherClient | null,
  ) {}

  /** Makes the output folder of each rank of the share in the job's directory, owned like the directory. */
  async prepare(jobDir: string, ranks: readonly number[], owner: { uid: number; gid: number } | undefined): Promise<void> {
    const root = path.join(jobDir, OUTPUT_DIR_NAME);
    for (const dir of [root, ...ranks.map((rank) => path.join(root, String(rank)))]) {
      // Shared with the ranks' container through the group (setgid); otherwise the ranks' own
      // (0700 whatever the umask, which only takes bits away).
      mkdirSync(dir, { mode: 0o700 });
      if (this.launcher) chmodSync(dir, 0o2770);
      if (owner) chownSync(dir, owner.uid, owner.gid);
    }
  }

  /** A rank's spawn options with its MPIAAS_OUTPUT (and rank 0's MPIAAS_RESULT), as the rank sees its directory at `home`. */
  withEnvironment(options: RankSpawnOptions, home: string): RankSpawnOptions {
    return {
      ...options,
      env: {
        ...options.env,
        [OUTPUT_ENV]: path.join(home, OUTPUT_DIR_NAME, String(options.rank)),
        ...(options.rank === 0 ? { [RESULT_ENV]: path.join(home, RESULT_FILE_NAME) } : {}),
      },
    };
  }

  /**
   * After the share's ranks ended, before its report: stores rank 0's result (if rank 0 ran
   * here) and the files of the share's ranks. Never throws: a failure here is logged and
   * costs the files, not the job.
   */
  async collect(jobId: string, attempt: number, jobDir: string, ranks: readonly number[]): Promise<ShareOutputs> {
    const outcome: ShareOutputs = { files: 0, dropped: 0 };
    try {
      if (ranks.includes(0)) await this.collectResult(jobId, attempt, jobDir);
    } catch (error) {
      this.logger.error(`job ${jobId}: result not stored: ${(error as Error).message}`);
    }
    for (const rank of ranks) {
      try {
        const kept = await this.collectRank(jobId, attempt, jobDir, rank);
        outcome.files += kept.files;
        outcome.dropped += kept.dropped;
      } catch (error) {
        this.logger.error(`job ${jobId}: rank ${rank}'s output files not stored: ${(error as Error).message}`);
      }
    }
    return outcome;
  }

  private async collectResult(jobId: string, attempt: number, jobDir: string): Promise<void> {
    const file = path.join(jobDir, RESULT_FILE_NAME);
    // The ranks' user may have taken the worker's read access away: the launcher gives it back.
    if (this.launcher) await this.launcher.collect(file, 1).catch(() => undefined);
    // Most jobs leave none (a synchronous look: see job-cgroup.ts, readSmallFile); any other
    // answer than "no such file" is the open's below to report.
    if (!existsNoFollow(file)) return;
    let opened;
    try {
      opened = await openOutputFile(jobDir, RESULT_FILE_NAME);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return; // no result: nothing to say
      const why = code === 'ELOOP' ? 'is a symbolic link' : code ? `cannot be read (${code})` : (error as Error).message;
      await this.files.setResult(jobId, attempt, { error: `the result file ${why}` });
      return;
    }
    try {
      if (opened.bytes > RESULT_MAX_BYTES) {
        await this.files.setResult(jobId, attempt, { error: `the result is ${opened.bytes} bytes, over the limit of ${RESULT_MAX_BYTES} (1 MiB)` });
        return;
      }
      const text = (await opened.handle.readFile()).subarray(0, RESULT_MAX_BYTES).toString('utf8');
      let value: Prisma.InputJsonValue;
      try {
        value = JSON.parse(text) as Prisma.InputJsonValue;
      } catch (error) {
        await this.files.setResult(jobId, attempt, { error: `the result is not valid JSON: ${(error as Error).message}` });
        return;
      }
      await this.files.setResult(jobId, attempt, { value: value === null ? Prisma.JsonNull : value });
    } finally {
      await opened.handle.close();
    }
  }

  private async collectRank(jobId: string, attempt: number, jobDir: string, rank: number): Promise<ShareOutputs> {
    const root = path.join(jobDir, OUTPUT_DIR_NAME, String(rank));
    const maxEntries = Math.max(this.config.OUTPUT_MAX_FILES, 1) * 4 + 100;
    if (this.launcher) await this.launcher.collect(root, maxEntries).catch((error: Error) => this.logger.warn(`job ${jobId}: ${error.message}`));
    // The rank may have replaced `output` or its own folder by a link: nothing is read through one.
    const real = realpathOrUndefined(root);
    const listing =
      real === undefined
        ? { files: [], skipped: [] }
        : real !== path.join(realpathSync(jobDir), OUTPUT_DIR_NAME, String(rank))
          ? { files: [], skipped: [{ rel: '.', why: 'the output folder was replaced by a symbolic link' }] }
          : isEmptyFolder(real)
            ? { files: [], skipped: [] } // most ranks leave nothing: looked at synchronously, as above
            : await listOutputFiles(root, maxEntries);
    const candidates: FileCandidate[] = listing.files.map((file) => {
      const filePath = `${rank}/${file.rel}`;
      return { path: filePath, rank, bytes: file.bytes, storageKey: storageKeyOf(jobId, attempt, filePath) };
    });
    // Most ranks leave nothing: no transaction to record nothing.
    if (candidates.length === 0 && listing.skipped.length === 0) return { files: 0, dropped: 0 };
    const reservation = await this.files.reserve(jobId, attempt, candidates, { maxBytes: this.config.OUTPUT_MAX_BYTES, maxFiles: this.config.OUTPUT_MAX_FILES });
    if (!reservation.current) return { files: 0, dropped: 0 };
    const notKept: { rel: string; why: string }[] = [
      ...listing.skipped.map((s) => ({ rel: `${rank}/${s.rel}`, why: s.why })),
      ...reservation.dropped.map((d) => ({ rel: d.path, why: d.why })),
    ];
    let stored = 0;
    for (const file of reservation.accepted) {
      try {
        await this.upload(root, file);
        stored += 1;
      } catch (error) {
        const why = `not stored: ${(error as Error).message}`;
        this.logger.warn(`job ${jobId}: ${file.path} ${why}`);
        await this.files.unrecord(jobId, file.path);
        notKept.push({ rel: file.path, why });
      }
    }
    // The limits' drops are counted when reserved; a skipped link or special file is counted here.
    const uncounted = listing.skipped.length;
    if (notKept.length > 0) await this.writeMarker(jobId, attempt, rank, notKept, uncounted);
    return { files: stored, dropped: notKept.length };
  }

  private async upload(root: string, file: FileCandidate): Promise<void> {
    const rel = file.path.slice(file.path.indexOf('/') + 1);
    const { handle, bytes } = await openOutputFile(root, rel);
    try {
      if (bytes !== file.bytes) throw new Error(`it changed size (${file.bytes} → ${bytes} bytes)`);
      const body = handle.createReadStream({ start: 0, end: Math.max(bytes - 1, 0), autoClose: false });
      await this.store.put(file.storageKey, bytes === 0 ? Readable.from([]) : body, bytes);
      if (bytes === 0) body.destroy();
    } finally {
      await handle.close();
    }
  }

  /** `_mpiaas/dropped-<rank>.txt`: what of the rank's output was not kept, one `path<TAB>why` a line. */
  private async writeMarker(jobId: string, attempt: number, rank: number, notKept: readonly { rel: string; why: string }[], uncounted: number): Promise<void> {
    const lines = notKept.slice(0, MARKER_LINES).map((entry) => `${entry.rel}\t${entry.why}`);
    if (notKept.length > MARKER_LINES) lines.push(`… and ${notKept.length - MARKER_LINES} more`);
    const text = Buffer.from(`# output of rank ${rank} that was not kept (docs/outputs.md)\n${lines.join('\n')}\n`);
    const markerPath = `${SERVICE_FILES_PREFIX}dropped-${rank}.txt`;
    const storageKey = storageKeyOf(jobId, attempt, markerPath);
    await this.store.put(storageKey, Readable.from([text]), text.length);
    await this.files.record(jobId, attempt, [{ path: markerPath, rank: null, bytes: text.length, storageKey }]);
    if (uncounted > 0) await this.files.countDropped(jobId, attempt, uncounted);
  }
}

function realpathOrUndefined(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}

function isEmptyFolder(dir: string): boolean {
  try {
    return firstEntries(dir, 0) !== undefined;
  } catch {
    return false; // listOutputFiles says why
  }
}

function existsNoFollow(file: string): boolean {
  try {
    return lstatSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}
