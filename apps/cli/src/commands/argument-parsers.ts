import { InvalidArgumentError } from 'commander';
// the release rule alone: exec loads this file, and the contracts' index loads their schemas
import { MPI4PY_RELEASE_PATTERN } from '@mpiaas/contracts/mpi4py-release';

/** Parses a whole number within [min, max]; `what` names it in the error. */
export function wholeNumber(what: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`${what} must be a whole number ${range}`);
    }
    return parsed;
  };
}

/** Parses a duration in seconds (> 0, fractions allowed). */
export function positiveSeconds(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('seconds must be a number > 0');
  return parsed;
}

/** Parses an mpi4py release for --mpi4py (the job's MPIAAS_MPI4PY): 3, 3.1, 3.1.y, 4, 4.0, 4.1, 4.0.y, 4.1.y. */
export function mpi4pyRelease(value: string): string {
  if (!MPI4PY_RELEASE_PATTERN.test(value)) {
    throw new InvalidArgumentError('release must be 3, 3.1 or 3.1.x (mpi4py 3.1.4), or 4, 4.0, 4.1, 4.0.x or 4.1.x (4.1.2)');
  }
  return value;
}

/** The --mpi4py help line, the same for every command that starts ranks. */
export const MPI4PY_OPTION_HELP = 'answer as this mpi4py release where 3.1.4 and 4.x differ (default 3.1.4): 3 or 4 (sets MPIAAS_MPI4PY)';
