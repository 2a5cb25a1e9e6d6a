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
    expect(readFileSync(command, 'utf8')).toContain(`[ -n "\${MPIAAS_PYTHON:-}" ] || MPIAAS_PYTHON='/usr/bin/python3'`);
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
        'print(os.environ.get("NODE_EXTRA_CA_CERTS"), any(v.startswith(b"NODE_EXTRA_CA_CERTS=") for v in parent))',
        '',
      ].join('\n'),
    );
    const out = execFileSync('mpiaas', ['exec', '-n', '2', script], { cwd: os.tmpdir(), env, encoding: 'utf8' });
    expect(out.split('\n').filter(Boolean)).toEqual([`${bundle} False`, `${bundle} False`]);
  });

  it('runs exec again in a Node that reads the bundle when its agents meet in Redis over TLS', () => {
    install('/usr/bin/python3');
    // Node warns at start-up about a bundle it cannot read: only a Node that read it warns
    const missing = path.join(bin, 'no-such-bundle.pem');
    const script = path.join(bin, 'nothing.py');
    writeFileSync(script, 'pass\n');
    const run = (args: string[], redisUrl: string) =>
      spawnSync('mpiaas', ['exec', ...args, script], {
        cwd: os.tmpdir(),
        env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, NODE_EXTRA_CA_CERTS: missing, MPIAAS_REDIS_URL: redisUrl },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const warning = `Ignoring extra certs from \`${missing}\``;
    // one agent: no Redis, no TLS, no bundle read
    const local = run(['-n', '1'], 'redis://127.0.0.1:1/?tls=true');
    expect(local.status).toBe(0);
    expect(local.stderr).not.toContain(warning);
    // two agents over TLS (nothing listens there: the run fails, after a Node read the bundle)
    for (const url of ['rediss://127.0.0.1:1', 'redis://127.0.0.1:1/?tls=true']) {
      const tls = run(['-n', '2', '--agents', '2'], url);
      expect(tls.status).not.toBe(0);
      expect(tls.stderr).toContain(warning);
      expect(tls.stderr).toContain('cannot connect to Redis');
    }
  });

  it('keeps paths with spaces and quotes whole', () => {
    const odd = "/opt/dir with space/it's python3";
    install(odd);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    delete env.MPIAAS_PYTHON;
    const script = path.join(bin, 'nothing.py');
    writeFileSync(script, 'pass\n');
    const run = spawnSync('mpiaas', ['exec', '-n', '1', script], { cwd: os.tmpdir(), env, encoding: 'utf8' });
    expect(run.status).toBe(127);
    expect(run.stderr).toContain(`cannot start ${odd}`);
  });

  it('is rewritten only when it changes', () => {
    expect(install('/opt/other/python3')).toContain('installed the mpiaas command');
    expect(install('/usr/bin/python3')).toContain('installed the mpiaas command');
    const before = statSync(path.join(bin, 'mpiaas')).mtimeMs;
    expect(install('/usr/bin/python3')).not.toContain('installed');
    expect(statSync(path.join(bin, 'mpiaas')).mtimeMs).toBe(before);
  });
});
