import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT } from '../support/mpiaas-exec';
import { ServiceStack } from '../support/service-stack';

let stack: ServiceStack;
let key: string;

beforeAll(async () => {
  stack = await ServiceStack.start({ workers: 1, workerEnv: { AUTH_MODE: 'api-key' } });
  // The operator's way to make a key: the api's create-api-key script, on the stack's database.
  key = execFileSync(process.execPath, [path.join(REPO_ROOT, 'apps/api/dist/create-api-key.js'), 'cli-test'], {
    env: { ...process.env, DATABASE_URL: stack.harness.databaseUrl },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
});

afterAll(async () => {
  await stack?.stop();
});

const mpiaas = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, MPIAAS_URL: stack.url, ...env }, encoding: 'utf8' });

describe('mpiaas CLI against a server that requires API keys', () => {
  it('sends the key from --token or MPIAAS_TOKEN as a bearer token', () => {
    expect(key).toMatch(/^mpk_[A-Za-z0-9_-]{43}$/);
    const withFlag = mpiaas(['run', '-n', '2', '--token', key, 'examples/hello.py']);
    expect(withFlag.status, withFlag.stderr).toBe(0);
    expect(withFlag.stdout).toContain("Hello! I'm rank 1 from 2 running in total...");
    const withEnv = mpiaas(['list', '--limit', '1'], { MPIAAS_TOKEN: key });
    expect(withEnv.status, withEnv.stderr).toBe(0);
  });

  it('says in one line that a key is needed', () => {
    const result = mpiaas(['list']);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('mpiaas: 401 Unauthorized: an API key is required: Authorization: Bearer <key>\n');
  });
});
