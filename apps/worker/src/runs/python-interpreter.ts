import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * The real path of the ranks' interpreter, found once at boot with the worker's own PATH,
 * after checking — as the ranks' user — that it has numpy and imports our shim.
 * Ranks run with a minimal environment, and launchers such as pyenv's shims need variables
 * they would not have; `sys.executable` is the interpreter itself. Also checks numpy.
 */
export function resolvePythonInterpreter(command: string, shimPath: string, user?: { uid: number; gid: number }): string {
  let output: string;
  try {
    output = execFileSync(command, ['-c', 'import sys, numpy, mpi4py; print(sys.executable); print(mpi4py.__file__)'], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Checked as the ranks' user: an interpreter under a private home would fail for them.
      ...(user ?? {}),
      cwd: '/',
      env: { PATH: process.env.PATH, PYTHONPATH: shimPath },
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? (error as Error).message;
    const who = user ? ` as uid ${user.uid}` : '';
    throw new Error(`MPIAAS_PYTHON=${command} cannot run ranks${who} (it needs python3 with numpy, readable by that user): ${stderr}`);
  }
  const [executable = '', shim = ''] = output.trim().split('\n');
  if (!path.resolve(shim).startsWith(path.resolve(shimPath) + path.sep)) {
    throw new Error(`ranks would import ${shim} instead of the mpiaas shim in ${shimPath}: it must be readable by the ranks' user`);
  }
  return executable;
}
