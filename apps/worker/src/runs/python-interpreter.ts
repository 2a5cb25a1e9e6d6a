import { execFileSync } from 'node:child_process';

/**
 * The real path of the ranks' interpreter, found once at boot with the worker's own PATH.
 * Ranks run with a minimal environment, and launchers such as pyenv's shims need variables
 * they would not have; `sys.executable` is the interpreter itself. Also checks numpy.
 */
export function resolvePythonInterpreter(command: string, user?: { uid: number; gid: number }): string {
  let output: string;
  try {
    output = execFileSync(command, ['-c', 'import sys, numpy; print(sys.executable)'], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Checked as the ranks' user: an interpreter under a private home would fail for them.
      ...(user ?? {}),
      cwd: '/',
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? (error as Error).message;
    const who = user ? ` as uid ${user.uid}` : '';
    throw new Error(`MPIAAS_PYTHON=${command} cannot run ranks${who} (it needs python3 with numpy, readable by that user): ${stderr}`);
  }
  return output.trim();
}
