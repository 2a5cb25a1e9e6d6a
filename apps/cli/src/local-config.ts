import { z } from 'zod';

/** Settings of the local launcher, read once from the environment. */
const LocalConfigSchema = z.object({
  MPIAAS_REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  MPIAAS_REDIS_PREFIX: z.string().min(1).default('mpi:'),
  MPIAAS_PYTHON: z.string().min(1).default('python3'),
});

export interface LocalConfig {
  redisUrl: string;
  keyPrefix: string;
  python: string;
}

export function loadLocalConfig(env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const parsed = LocalConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  return {
    redisUrl: parsed.data.MPIAAS_REDIS_URL,
    keyPrefix: parsed.data.MPIAAS_REDIS_PREFIX,
    python: parsed.data.MPIAAS_PYTHON,
  };
}
