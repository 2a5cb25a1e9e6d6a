/**
 * How each rank of a job starts. `script`: `python script.py args`, as `mpirun python script.py`;
 * `futures`: `python -m mpi4py.futures script.py args`, mpi4py's own launcher — rank 0 runs the
 * script and the other ranks serve the tasks of its `MPIPoolExecutor`s.
 */
export const JOB_LAUNCHERS = ['script', 'futures'] as const;
export type JobLauncher = (typeof JOB_LAUNCHERS)[number];

/** What a rank's interpreter is given after `python -u`: the entry (a script, or `-m`) and its arguments. */
export interface RankEntry {
  script: string;
  args: string[];
}

/** The rank's command line after `python -u` for `launcher`: the script and its arguments, or the module that runs it. */
export function rankEntry(launcher: JobLauncher, script: string, args: readonly string[]): RankEntry {
  switch (launcher) {
    case 'script':
      return { script, args: [...args] };
    case 'futures':
      return { script: '-m', args: ['mpi4py.futures', script, ...args] };
  }
}
