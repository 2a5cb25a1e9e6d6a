// `mpiaas login` and the CLI's config file, and the quick start's key reaching the CLI
// (scripts/quickstart-login.sh: the part of the quick start that makes the key and stores it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT } from '../support/mpiaas-exec';
import { ServiceStack } from '../support/service-stack';

let stack: ServiceStack;
let home: string;

beforeAll(async () => {
  stack = await ServiceStack.start({ workers: 1, workerEnv: { AUTH_MODE: 'api-key' } });
  home = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-cli-login-'));
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(home, { recursive: true, force: true });
});

/** The CLI with a config dir of its own and no key or URL from the test's environment. */
function mpiaas(args: string[], configHome: string, env: Record<string, string> = {}) {
  const base: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: configHome };
  delete base.MPIAAS_TOKEN;
  delete base.MPIAAS_URL;
  return spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...base, ...env }, encoding: 'utf8' });
}

const configFile = (configHome: string) => path.join(configHome, 'mpiaas', 'config.json');

function quickstartLogin(configHome: string) {
  const env = { ...process.env, XDG_CONFIG_HOME: configHome, DATABASE_URL: stack.harness.databaseUrl, MPIAAS_URL: stack.url };
  return spawnSync('bash', [path.join(REPO_ROOT, 'scripts/quickstart-login.sh')], { cwd: REPO_ROOT, env, encoding: 'utf8' });
}

describe('the quick start’s key', () => {
  it('is made for tenant quickstart and stored for the CLI (0600), which then runs a job with no --token', async () => {
    const configHome = path.join(home, 'quickstart');
    const made = quickstartLogin(configHome);
    expect(made.status, made.stderr).toBe(0);
    expect(statSync(configFile(configHome)).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(configFile(configHome))).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(readFileSync(configFile(configHome), 'utf8')) as { url: string; token: string };
    expect(stored).toEqual({ url: stack.url, token: expect.stringMatching(/^mpk_/) });

    const run = mpiaas(['run', '-n', '2', 'examples/hello.py'], configHome);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("Hello! I'm rank 1 from 2 running in total...");
    const tenant = await stack.harness.prisma.tenant.findUniqueOrThrow({ where: { name: 'quickstart' }, include: { apiKeys: true, jobs: true } });
    expect(tenant.apiKeys).toHaveLength(1);
    expect(tenant.jobs).toHaveLength(1);

    // Run again (the quick start is re-runnable): the working key is kept, no new one made.
    const again = quickstartLogin(configHome);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain('kept');
    expect(JSON.parse(readFileSync(configFile(configHome), 'utf8'))).toEqual(stored);
    expect(await stack.harness.prisma.apiKey.count({ where: { tenantId: tenant.id } })).toBe(1);
  });
});

describe('mpiaas login', () => {
  it('checks the key, stores URL and key (0600); later commands use them; --token and MPIAAS_TOKEN still win', () => {
    const configHome = path.join(home, 'login');
    const key = quickstartLogin(path.join(home, 'login-source')).status === 0
      ? (JSON.parse(readFileSync(configFile(path.join(home, 'login-source')), 'utf8')) as { token: string }).token
      : '';
    expect(key).toMatch(/^mpk_/);
    const login = mpiaas(['login', '--url', stack.url, '--token', key], configHome);
    expect(login.status, login.stderr).toBe(0);
    expect(login.stderr).toContain(`logged in to ${stack.url}`);
    expect(statSync(configFile(configHome)).mode & 0o777).toBe(0o600);

    const list = mpiaas(['list', '--limit', '1'], configHome);
    expect(list.status, list.stderr).toBe(0);
    const wrongFlag = mpiaas(['list', '--token', 'mpk_wrong'], configHome);
    expect([wrongFlag.status, wrongFlag.stderr]).toEqual([1, expect.stringContaining('401')]);
    const wrongEnv = mpiaas(['list'], configHome, { MPIAAS_TOKEN: 'mpk_wrong' });
    expect([wrongEnv.status, wrongEnv.stderr]).toEqual([1, expect.stringContaining('401')]);
  });

  it('refuses a key the server does not take, and writes nothing', () => {
    const configHome = path.join(home, 'bad');
    const login = mpiaas(['login', '--url', stack.url, '--token', 'mpk_not-a-key'], configHome);
    expect(login.status).toBe(1);
    expect(login.stderr).toContain('401');
    expect(() => statSync(configFile(configHome))).toThrow();
  });
});
