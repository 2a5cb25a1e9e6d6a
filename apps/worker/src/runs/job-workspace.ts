import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A job's fresh working directory with its script in it; removed when the job ends. */
export class JobWorkspace {
  private constructor(
    readonly dir: string,
    readonly scriptPath: string,
  ) {}

  static async create(root: string, jobId: string, script: string): Promise<JobWorkspace> {
    await mkdir(root, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(path.join(root, `${jobId}-`));
    const scriptPath = path.join(dir, 'script.py');
    await writeFile(scriptPath, script, { mode: 0o600 });
    return new JobWorkspace(dir, scriptPath);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
