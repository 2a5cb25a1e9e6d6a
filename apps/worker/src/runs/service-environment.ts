/** Environment every rank gets in the service, under the job's own variables. */
export function serviceEnvironment(home: string, tmp: string): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    TMPDIR: tmp,
    LANG: 'C.UTF-8',
    // One rank per slot: numerical libraries must not start a thread per core in every rank.
    OMP_NUM_THREADS: '1',
    OPENBLAS_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
  };
}
