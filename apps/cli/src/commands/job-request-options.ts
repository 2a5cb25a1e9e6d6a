import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ENV_NAME_PATTERN, MPI4PY_RELEASE_ENV, PLACEMENT_POLICIES, type CreateJobRequest, type PlacementPolicy } from '@mpiaas/contracts';
import { MPI4PY_OPTION_HELP, mpi4pyRelease, wholeNumber } from './argument-parsers';

export interface JobRequestFlags {
  np: number;
  timeout?: number;
  name?: string;
  label: Record<string, string>;
  env: Record<string, string>;
  placement?: PlacementPolicy;
  oversubscribe?: boolean;
  futures?: boolean;
  mpi4py?: string;
}

function keyValue(kind: string, check?: (key: string) => string | undefined) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const at = value.indexOf('=');
    if (at <= 0) throw new InvalidArgumentError(`${kind} must look like KEY=VALUE`);
    const key = value.slice(0, at);
    const problem = check?.(key);
    if (problem) throw new InvalidArgumentError(problem);
    return { ...previous, [key]: value.slice(at + 1) };
  };
}

/** The options `run` and `submit` share: what the job is. */
export function addJobRequestOptions(command: Command): Command {
  return command
    .argument('<script>', 'the mpi4py script to run')
    .argument('[args...]', 'arguments for the script (put them after --)')
    .requiredOption('-n, --np <N>', 'number of ranks', wholeNumber('N', 1))
    .option('--timeout <seconds>', 'time limit of the job (server default: 600)', wholeNumber('seconds', 1))
    .option('--name <name>', 'a name to find the job by')
    .addOption(
      new Option('--placement <policy>', 'pack ranks on as few workers as possible, or spread them over as many (server default: pack)').choices(
        PLACEMENT_POLICIES,
      ),
    )
    .option('--oversubscribe', 'run even if np exceeds every live worker\'s slots together (several ranks per slot)')
    .option('--futures', 'run as `python -m mpi4py.futures script`: rank 0 runs the script, the others serve its MPIPoolExecutor tasks')
    .option('--mpi4py <release>', MPI4PY_OPTION_HELP, mpi4pyRelease)
    .addOption(new Option('--label <key=value>', 'a label (repeatable)').argParser(keyValue('a label')).default({}, 'none'))
    .addOption(
      new Option('--env <NAME=VALUE>', 'an environment variable for the ranks (repeatable)')
        .argParser(keyValue('an env variable', (key) => (ENV_NAME_PATTERN.test(key) ? undefined : `env name ${key} must match ${ENV_NAME_PATTERN}`)))
        .default({}, 'none'),
    );
}

/** Reads the script and builds the POST /jobs body. */
export async function buildJobRequest(script: string, args: string[], flags: JobRequestFlags): Promise<CreateJobRequest> {
  let text: string;
  try {
    text = await readFile(script, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`cannot read script ${script}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const request: CreateJobRequest = { script: text, np: flags.np };
  if (args.length > 0) request.args = args;
  if (flags.timeout !== undefined) request.timeoutSeconds = flags.timeout;
  if (flags.name !== undefined) request.name = flags.name;
  if (Object.keys(flags.label).length > 0) request.labels = flags.label;
  const env = flags.mpi4py === undefined ? flags.env : { ...flags.env, [MPI4PY_RELEASE_ENV]: flags.mpi4py };
  if (Object.keys(env).length > 0) request.env = env;
  if (flags.placement !== undefined) request.placement = flags.placement;
  if (flags.oversubscribe) request.oversubscribe = true;
  if (flags.futures) request.launcher = 'futures';
  return request;
}
