// The setup's `mpiaas` command: a launcher on the PATH that runs this checkout's CLI with the
// interpreter chosen at setup, from any directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/mpiaas-exec';

const bin = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-bin-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

/** Runs the setup step; returns what it logged (stderr). */
function install(python: string): string {
  const run = spawnSync('bash', ['-c', '. scripts/lib.sh && ensure_cli_command'], {
    cwd: REPO_ROOT,
    env: { ...process.env, MPIAAS_BIN_DIR: bin, MPIAAS_PYTHON: python },
    encoding: 'utf8',
  });
  expect(run.status).toBe(0);
  return run.stderr;
}

describe('the mpiaas command installed by setup', () => {
  it('runs the CLI from anywhere, with the interpreter chosen at setup unless MPIAAS_PYTHON says otherwise', () => {
    install('/usr/bin/python3');
    const command = path.join(bin, 'mpiaas');
    expect(statSync(command).mode & 0o777).toBe(0o755);
    expect(readFileSync(command, 'utf8')).toContain(': "${MPIAAS_PYTHON:=/usr/bin/python3}"');
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    delete env.MPIAAS_PYTHON;
    expect(execFileSync('mpiaas', ['--version'], { cwd: os.tmpdir(), env, encoding: 'utf8' }).trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const script = path.join(bin, 'which.py');
    writeFileSync(script, 'import sys\nfrom mpi4py import MPI\nprint(MPI.COMM_WORLD.rank, sys.executable)\n');
    const out = execFileSync('mpiaas', ['exec', '-n', '2', script], { cwd: os.tmpdir(), env, encoding: 'utf8' });
    expect(out.split('\n').filter(Boolean).sort()).toEqual(['0 /usr/bin/python3', '1 /usr/bin/python3']);
  });

  it("starts exec's Node without NODE_EXTRA_CA_CERTS (Node would read the bundle at start-up for nothing), the ranks still get it", () => {
    install('/usr/bin/python3');
    const bundle = '/etc/ssl/certs/ca-certificates.crt';
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, NODE_EXTRA_CA_CERTS: bundle, MPIAAS_FORK_RANKS: '0' };
    const script = path.join(bin, 'ca_certs.py');
    // a rank started by exec's Node (not forked) reads its parent's start-up environment
    writeFileSync(
      script,
      [
        'import os',
        'from mpi4py import MPI',
        'parent = open(f"/proc/{os.getppid()}/environ", "rb").read().split(b"\\0")',
        'print(os.environ.get("NODE_EXTRA_CA_CERTS"), "MPIAAS_DEFERRED_NODE_EXTRA_CA_CERTS" in os.environ,',
        '      any(v.startswith(b"NODE_EXTRA_CA_CERTS=") for v in parent))',
        '',
      ].join('\n'),
    );
    const out = execFileSync('mpiaas', ['exec', '-n', '2', script], { cwd: os.tmpdir(), env, encoding: 'utf8' });
    expect(out.split('\n').filter(Boolean)).toEqual([`${bundle} False False`, `${bundle} False False`]);
  });

  it('is rewritten only when it changes', () => {
    expect(install('/opt/other/python3')).toContain('installed the mpiaas command');
    expect(install('/usr/bin/python3')).toContain('installed the mpiaas command');
    const before = statSync(path.join(bin, 'mpiaas')).mtimeMs;
    expect(install('/usr/bin/python3')).not.toContain('installed');
    expect(statSync(path.join(bin, 'mpiaas')).mtimeMs).toBe(before);
  });
});
