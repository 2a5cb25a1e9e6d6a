/**
 * The job environment variable choosing which mpi4py release's API the ranks answer with,
 * where 3.1.4 (Debian's) and 4.x (pip's) differ: Datatype.Get_envelope/Get_contents/decode,
 * mpi4py.util.dtlib's pair types, recv's buffer warning (docs/compat.md, *Choosing the release*). Unset: 3.1.4.
 */
export const MPI4PY_RELEASE_ENV = 'MPIAAS_MPI4PY';

/**
 * Its values: 3, 3.1 or 3.1.N (3.1.4) and 4, 4.0, 4.1, 4.0.N or 4.1.N (4.1.2). The shim's
 * mpi4py/_api_release.py holds the same rule, for ranks started without the api.
 */
export const MPI4PY_RELEASE_PATTERN = /^(3(\.1(\.[0-9]+)?)?|4(\.[01](\.[0-9]+)?)?)$/;

/** Why a job may not give MPIAAS_MPI4PY this value, or undefined when it may. */
export function mpi4pyReleaseProblem(value: string): string | undefined {
  if (MPI4PY_RELEASE_PATTERN.test(value)) return undefined;
  return `value of "${MPI4PY_RELEASE_ENV}" must name an mpi4py release: 3, 3.1 or 3.1.x (3.1.4), or 4, 4.0, 4.1, 4.0.x or 4.1.x (4.1.2)`;
}
