import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileRankShim, installRankShim } from './rank-shim';

const python = '/usr/bin/python3';

describe('the shim copy ranks import', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('is byte-compiled for the ranks interpreter, readable by any user, so no rank compiles it again', async () => {
    const workDir = await mkdtemp(path.join(os.tmpdir(), 'mpiaas-shim-'));
    dirs.push(workDir);
    const shim = await installRankShim(workDir);
    await compileRankShim(shim, python);

    const cache = path.join(shim, 'mpi4py', '__pycache__');
    const compiled = await readdir(cache);
    expect(compiled.some((file) => file.startsWith('_comm.') && file.endsWith('.pyc'))).toBe(true);
    expect((await stat(cache)).mode & 0o005).toBe(0o005);
    for (const file of compiled) expect((await stat(path.join(cache, file))).mode & 0o004).toBe(0o004);

    // Python takes the compiled file: importing the shim from a read-only view leaves no new .pyc
    // and reports the cached one as the module's bytecode source.
    const cached = execFileSync(python, ['-c', 'import mpi4py._comm as c; print(c.__cached__)'], {
      env: { PATH: process.env.PATH, PYTHONPATH: shim, PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
    }).trim();
    expect(cached.startsWith(cache)).toBe(true);
    expect((await stat(cached)).isFile()).toBe(true);
  });

  it("holds the ranks' sitecustomize, which closes what a rank inherited beyond fd 3 (ranks only)", async () => {
    const workDir = await mkdtemp(path.join(os.tmpdir(), 'mpiaas-shim-'));
    dirs.push(workDir);
    const shim = await installRankShim(workDir);
    const probe = 'import os; print(sorted(fd for fd in (3, 4, 200) if os.path.exists("/proc/self/fd/%d" % fd)))';
    const fds = (env: Record<string, string>) =>
      execFileSync('bash', ['-c', `exec 3</dev/null 4</dev/null 200</dev/null; exec ${python} -c '${probe}'`], {
        env: { PATH: process.env.PATH ?? '', PYTHONPATH: shim, ...env },
        encoding: 'utf8',
      }).trim();
    expect(fds({ MPIAAS_PROTOCOL: '2' })).toBe('[3]');
    expect(fds({})).toBe('[3, 4, 200]');
  });

  it('is left as it is when it cannot be written (an image compiled it at build)', async () => {
    await expect(compileRankShim('/nonexistent-shim', python)).resolves.toBeUndefined();
  });
});
