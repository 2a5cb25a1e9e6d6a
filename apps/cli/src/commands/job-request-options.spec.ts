// The POST /jobs body `run` and `submit` build from their flags: --mpi4py names the release
// in the job's environment (over an --env of the same name); a release the shim does not
// offer is a usage error before anything is sent.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { addJobRequestOptions, buildJobRequest, type JobRequestFlags } from './job-request-options';

const folder = mkdtempSync(path.join(os.tmpdir(), 'job-request-'));
const script = path.join(folder, 'job.py');
writeFileSync(script, 'print(1)\n');
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function requestFor(argv: string[]) {
  let built: unknown;
  const command = addJobRequestOptions(new Command('run'))
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .action(async (file: string, args: string[], flags: JobRequestFlags) => {
      built = await buildJobRequest(file, args, flags);
    });
  await command.parseAsync(argv, { from: 'user' });
  return built;
}

describe('run/submit --mpi4py', () => {
  it('sets MPIAAS_MPI4PY in the job’s env, over an --env of the same name', async () => {
    expect(await requestFor(['-n', '2', '--mpi4py', '4', script])).toMatchObject({ np: 2, env: { MPIAAS_MPI4PY: '4' } });
    expect(await requestFor(['-n', '1', '--env', 'A=1', '--env', 'MPIAAS_MPI4PY=4', '--mpi4py', '3.1', script])).toMatchObject({
      env: { A: '1', MPIAAS_MPI4PY: '3.1' },
    });
  });

  it('leaves the env out when nothing asks for one', async () => {
    expect(await requestFor(['-n', '1', script])).not.toHaveProperty('env');
  });

  it('refuses a release the shim does not offer, naming the rule', async () => {
    await expect(requestFor(['-n', '1', '--mpi4py', '4.2', script])).rejects.toThrow(
      "option '--mpi4py <release>' argument '4.2' is invalid. release must be 3, 3.1 or 3.1.x (mpi4py 3.1.4), or 4, 4.0, 4.1, 4.0.x or 4.1.x (4.1.2)",
    );
  });
});
