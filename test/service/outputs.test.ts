// Output files and the result through the service (docs/outputs.md): 3 ranks on two workers
// writing files in subfolders and trying links out of their folder, the per-job limits, a
// result and a bad one, downloads, and the retention pass. Object store: the local driver.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobFileList, JobView } from '@mpiaas/contracts';
import { CLI } from '../support/mpiaas-exec';
import { ServiceStack } from '../support/service-stack';

describe('output files and results through the service', () => {
  let stack: ServiceStack;
  let filesDir: string;

  beforeAll(async () => {
    filesDir = await mkdtemp(path.join(os.tmpdir(), 'mpiaas-files-test-'));
    stack = await ServiceStack.start({
      workers: 2,
      workerEnv: { SLOTS: '2', STORAGE_DRIVER: 'local', STORAGE_LOCAL_DIR: filesDir, OUTPUT_MAX_FILES: '12', OUTPUT_MAX_BYTES: '100000' },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(filesDir, { recursive: true, force: true });
  });

  async function run(body: object): Promise<JobView> {
    const id = ((await request(stack.url).post('/jobs').send(body).expect(201)).body as JobView).id;
    const deadline = Date.now() + 40_000;
    for (;;) {
      const job = (await request(stack.url).get(`/jobs/${id}`).expect(200)).body as JobView;
      if (!['QUEUED', 'RUNNING'].includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}\n${stack.logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const files = async (id: string) => ((await request(stack.url).get(`/jobs/${id}/files`).expect(200)).body as JobFileList).items;
  const download = (id: string, filePath: string) =>
    request(stack.url)
      .get(`/jobs/${id}/files/${filePath}`)
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });

  let firstJob: string;

  it('keeps every rank’s files, subfolders included, over two workers; links and escapes are not followed; rank 0’s result', async () => {
    const script = [
      'import json, os',
      'from mpi4py import MPI',
      'comm = MPI.COMM_WORLD',
      'r = comm.rank',
      "out = os.environ['MPIAAS_OUTPUT']",
      "os.makedirs(os.path.join(out, 'sub', 'deep'))",
      "open(os.path.join(out, f'hello-{r}.txt'), 'w').write(f'rank {r}\\n')",
      "open(os.path.join(out, 'sub', 'deep', 'data.csv'), 'w').write('a,b\\n1,%d\\n' % r)",
      "os.symlink('/etc/passwd', os.path.join(out, 'passwd'))",
      "os.symlink('..', os.path.join(out, 'up'))",
      // Outside the rank's folder: in the job's directory, never collected.
      "open(os.path.join(out, '..', f'escape-{r}.txt'), 'w').write('x')",
      'if r == 0:',
      "    assert os.environ['MPIAAS_RESULT'].endswith('result.json')",
      "    json.dump({'pi': 3.14159, 'size': comm.size}, open(os.environ['MPIAAS_RESULT'], 'w'))",
      'else:',
      "    assert 'MPIAAS_RESULT' not in os.environ",
      'print(out)',
      'comm.Barrier()',
    ].join('\n');
    const job = await run({ script, np: 3 });
    firstJob = job.id;
    expect(job.status, JSON.stringify(job)).toBe('SUCCEEDED');
    expect(new Set(job.ranks.map((rank) => rank.worker)).size).toBe(2);
    expect(job.result).toEqual({ pi: 3.14159, size: 3 });
    expect(job.resultError).toBeNull();
    // The two links of each rank are not kept; they are listed in its marker.
    expect(job.filesDropped).toBe(6);
    expect(await files(job.id)).toEqual([
      { path: '0/hello-0.txt', bytes: 7, rank: 0 },
      { path: '0/sub/deep/data.csv', bytes: 8, rank: 0 },
      { path: '1/hello-1.txt', bytes: 7, rank: 1 },
      { path: '1/sub/deep/data.csv', bytes: 8, rank: 1 },
      { path: '2/hello-2.txt', bytes: 7, rank: 2 },
      { path: '2/sub/deep/data.csv', bytes: 8, rank: 2 },
      { path: '_mpiaas/dropped-0.txt', bytes: expect.any(Number), rank: null },
      { path: '_mpiaas/dropped-1.txt', bytes: expect.any(Number), rank: null },
      { path: '_mpiaas/dropped-2.txt', bytes: expect.any(Number), rank: null },
    ]);
    const csv = await download(job.id, '2/sub/deep/data.csv').expect(200);
    expect(csv.headers['content-type']).toBe('application/octet-stream');
    expect(csv.headers['content-disposition']).toContain('filename="data.csv"');
    expect((csv.body as Buffer).toString()).toBe('a,b\n1,2\n');
    const marker = (await download(job.id, '_mpiaas/dropped-1.txt').expect(200)).body as Buffer;
    expect(marker.toString()).toContain('1/passwd\ta symbolic link (never followed)');
    expect(marker.toString()).toContain('1/up\ta symbolic link (never followed)');
    // Paths that are not a listed file: 404, whatever they try.
    await download(job.id, '0/passwd').expect(404);
    await download(job.id, '..%2F..%2F..%2Fetc%2Fpasswd').expect(404);
    await download(job.id, '0/..%2F..%2Fescape-0.txt').expect(404);
    await download(job.id, 'escape-0.txt').expect(404);
  });

  it('the per-job limits: files past OUTPUT_MAX_FILES or OUTPUT_MAX_BYTES are dropped and listed; the job succeeds', async () => {
    const script = [
      'import os',
      'from mpi4py import MPI',
      'comm = MPI.COMM_WORLD',
      "out = os.environ['MPIAAS_OUTPUT']",
      "open(os.path.join(out, 'big.bin'), 'wb').write(b'x' * 200000)",
      'for i in range(7):',
      "    open(os.path.join(out, f'f{i:02d}-{comm.rank}.txt'), 'w').write('0123456789')",
    ].join('\n');
    const job = await run({ script, np: 2 });
    expect(job.status).toBe('SUCCEEDED');
    const kept = await files(job.id);
    const ranksFiles = kept.filter((file) => file.rank !== null);
    // 14 small files for 12 places; big.bin never fits.
    expect(ranksFiles).toHaveLength(12);
    expect(ranksFiles.some((file) => file.path.endsWith('big.bin'))).toBe(false);
    expect(job.filesDropped).toBe(4);
    const markers = kept.filter((file) => file.rank === null).map((file) => file.path);
    expect(markers.length).toBeGreaterThanOrEqual(1);
    const listed = (await Promise.all(markers.map(async (marker) => ((await download(job.id, marker).expect(200)).body as Buffer).toString()))).join('');
    expect(listed).toContain("big.bin\tover the job's size limit of 100000 bytes (OUTPUT_MAX_BYTES)");
    expect(listed).toContain("over the job's file-count limit of 12 (OUTPUT_MAX_FILES)");
  });

  it('a result that is not JSON is a resultError, not a failed job; a job with no result has neither', async () => {
    const bad = await run({ script: "import os\nopen(os.environ['MPIAAS_RESULT'], 'w').write('{not json')\n", np: 1 });
    expect(bad.status).toBe('SUCCEEDED');
    expect(bad.result).toBeNull();
    expect(bad.resultError).toMatch(/^the result is not valid JSON: /);
    const big = await run({ script: "import os\nopen(os.environ['MPIAAS_RESULT'], 'w').write('\"' + 'x' * (1024 * 1024) + '\"')\n", np: 1 });
    expect(big.resultError).toBe(`the result is ${1024 * 1024 + 2} bytes, over the limit of 1048576 (1 MiB)`);
    const none = await run({ script: 'print(1)\n', np: 1 });
    expect([none.result, none.resultError, none.filesDropped]).toEqual([null, null, 0]);
    expect(await files(none.id)).toEqual([]);
  });

  it('mpiaas files and mpiaas download (one file, to stdout, and all of them)', async () => {
    const cli = (...args: string[]) => promisify(execFile)(process.execPath, [CLI, ...args], { cwd: filesDir, env: { ...process.env, MPIAAS_URL: stack.url } });
    const listed = await cli('files', firstJob);
    expect(listed.stdout).toMatch(/^BYTES {2}RANK {2}PATH\n/);
    expect(listed.stdout).toContain('    8     2  2/sub/deep/data.csv\n');
    expect(listed.stdout).toContain('    -  _mpiaas/dropped-0.txt');
    expect((await cli('download', firstJob, '1/sub/deep/data.csv', '-o', '-')).stdout).toBe('a,b\n1,1\n');
    await cli('download', firstJob, '0/hello-0.txt');
    expect(await readFile(path.join(filesDir, 'hello-0.txt'), 'utf8')).toBe('rank 0\n');
    const all = await cli('download', firstJob, '-d', 'all');
    expect(all.stderr).toMatch(/^9 file\(s\), \d+ bytes → all\/\n$/);
    expect(await readFile(path.join(filesDir, 'all', '2', 'sub', 'deep', 'data.csv'), 'utf8')).toBe('a,b\n1,2\n');
    await expect(cli('download', firstJob, 'nope.txt')).rejects.toMatchObject({ stderr: expect.stringContaining('has no file nope.txt') });
    await rm(path.join(filesDir, 'all'), { recursive: true });
    await rm(path.join(filesDir, 'hello-0.txt'));
  });

  it('the retention pass deletes files past FILES_RETENTION_SECONDS from the store and the listing', async () => {
    expect((await readdir(filesDir)).length).toBeGreaterThan(0);
    const cleaner = stack.startWorker({ FILES_RETENTION_SECONDS: '1', FILES_CLEANUP_INTERVAL_MS: '300' });
    const deadline = Date.now() + 20_000;
    while ((await files(firstJob)).length > 0) {
      if (Date.now() > deadline) throw new Error(`files not deleted\n${stack.logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const job = (await request(stack.url).get(`/jobs/${firstJob}`).expect(200)).body as JobView;
    expect(job.filesExpiredAt).not.toBeNull();
    const gone = await download(firstJob, '0/hello-0.txt').expect(404);
    expect(JSON.parse((gone.body as Buffer).toString()).message).toMatch(/deleted at .*past their retention/);
    expect(await readdir(path.join(filesDir, 'jobs')).catch(() => [])).not.toContain(firstJob);
    cleaner.kill('SIGTERM');
    await cleaner.exited;
  });
});
