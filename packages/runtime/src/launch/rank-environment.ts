import { SHIM_PATH } from '../shim-path';
import { PROTOCOL_VERSION } from '../protocol/version';

/**
 * Variables a rank never inherits: anything of mpiaas's own configuration and the usual
 * names of database and Redis credentials. Ranks are untrusted code. MPIAAS_PROFILE and
 * MPIAAS_MPI4PY are no configuration of ours but the ranks' own switches (the shim's profile
 * timers; which mpi4py release's API it answers with): they pass.
 */
const WITHHELD = /^(MPIAAS_(?!(PROFILE|MPI4PY)$)|REDIS|DATABASE_URL$|PG[A-Z]+$|POSTGRES)/;

export interface RankEnvironmentOptions {
  rank: number;
  size: number;
  /** Index of the rank among those on its host. @defaultValue rank */
  localRank?: number;
  jobId: string;
  /** The launcher's own environment, passed through minus withheld names (local `exec`). */
  inherited?: NodeJS.ProcessEnv;
  /** Variables the job asked for; they win over inherited ones. */
  extra?: Record<string, string>;
  /** Folder holding the `mpi4py` shim package. @defaultValue SHIM_PATH */
  shimPath?: string;
}

/** The environment of one rank: what the job may see plus what the runtime needs. */
export function rankEnvironment(options: RankEnvironmentOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(options.inherited ?? { PATH: process.env.PATH })) {
    if (!WITHHELD.test(name)) env[name] = value;
  }
  Object.assign(env, options.extra);
  const shim = options.shimPath ?? SHIM_PATH;
  const rank = String(options.rank);
  const size = String(options.size);
  return {
    ...env,
    PYTHONPATH: env.PYTHONPATH ? `${shim}:${env.PYTHONPATH}` : shim,
    PYTHONUNBUFFERED: '1',
    MPIAAS_RANK: rank,
    MPIAAS_SIZE: size,
    MPIAAS_JOB_ID: options.jobId,
    MPIAAS_PROTOCOL: String(PROTOCOL_VERSION),
    // The names Open MPI and MPICH set, for scripts that read them before importing mpi4py.
    OMPI_COMM_WORLD_RANK: rank,
    OMPI_COMM_WORLD_SIZE: size,
    OMPI_COMM_WORLD_LOCAL_RANK: String(options.localRank ?? options.rank),
    PMI_RANK: rank,
    PMI_SIZE: size,
  };
}
