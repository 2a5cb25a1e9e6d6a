/** Limits of a job request that the api enforces and the cli can check before sending. */
export const JOB_LIMITS = {
  /** Largest script, bytes of UTF-8. */
  maxScriptBytes: 512 * 1024,
  maxArgs: 256,
  maxArgBytes: 4096,
  maxEnvVars: 128,
  maxEnvValueBytes: 16 * 1024,
  maxNameLength: 200,
  maxLabels: 32,
  maxLabelLength: 128,
  /** Upper bound of `limit` when listing jobs or log lines. */
  maxPageSize: 100,
  /** Upper bound of `limit` for log pages. */
  maxLogPageSize: 1000,
} as const;

/** Names a job may give its environment variables. */
export const ENV_NAME_PATTERN = /^[A-Z_][A-Z0-9_]*$/;

/**
 * Variable names the runtime sets itself; a job may not set them. (Credentials never reach a
 * rank whatever the job asks: the worker does not have them in the ranks' environment.)
 */
export const RESERVED_ENV_NAMES: readonly string[] = [
  'PYTHONPATH',
  'PYTHONUNBUFFERED',
  'MPIAAS_RANK',
  'MPIAAS_SIZE',
  'MPIAAS_JOB_ID',
  'MPIAAS_PROTOCOL',
  'MPIAAS_OUTPUT',
  'MPIAAS_RESULT',
  'OMPI_COMM_WORLD_RANK',
  'OMPI_COMM_WORLD_SIZE',
  'OMPI_COMM_WORLD_LOCAL_RANK',
  'PMI_RANK',
  'PMI_SIZE',
];

/**
 * Names no job may set because the dynamic loader reads them in the programs that confine
 * a rank before it is confined (LD_PRELOAD would run the job's code outside the sandbox).
 */
export const LOADER_ENV_PATTERN = /^(LD_|GLIBC_TUNABLES$)/;

/** Whether a job may not set this variable (the runtime's own, or the loader's). */
export function isReservedEnvName(name: string): boolean {
  return RESERVED_ENV_NAMES.includes(name) || LOADER_ENV_PATTERN.test(name);
}

/** A label key: lower-case words separated by '.', '-', '_' or '/'. */
export const LABEL_KEY_PATTERN = /^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?$/;
