/** Settings of the local launcher, read once from the environment. */
export interface LocalConfig {
  redisUrl: string;
  keyPrefix: string;
  python: string;
}

/**
 * Three variables, checked by hand: `mpiaas exec` is timed against mpirun, and loading a
 * schema library for them cost ~90 ms of its start.
 */
export function loadLocalConfig(env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const problems: string[] = [];
  const redisUrl = env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!URL.canParse(redisUrl) || !/^rediss?:$/.test(new URL(redisUrl).protocol)) {
    problems.push(`MPIAAS_REDIS_URL: must be a redis:// or rediss:// URL (got ${JSON.stringify(redisUrl)})`);
  }
  const keyPrefix = env.MPIAAS_REDIS_PREFIX ?? 'mpi:';
  if (keyPrefix === '') problems.push('MPIAAS_REDIS_PREFIX: must not be empty');
  const python = env.MPIAAS_PYTHON ?? 'python3';
  if (python === '') problems.push('MPIAAS_PYTHON: must not be empty');
  if (problems.length > 0) throw new Error(`invalid configuration: ${problems.join('; ')}`);
  return { redisUrl, keyPrefix, python };
}
