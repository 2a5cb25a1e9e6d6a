"""This process's place in the job: its COMM_WORLD rank and the job's size, read once from
the environment its launcher set (mpiaas's own variables first, then Open MPI's and PMI's,
so a script started by hand outside mpiaas is rank 0 of 1)."""

import os


def _env_int(*names, default):
    for n in names:
        v = os.environ.get(n)
        if v:
            try:
                return int(v)
            except ValueError:
                pass
    return default


world_rank = _env_int('MPIAAS_RANK', 'OMPI_COMM_WORLD_RANK', 'PMI_RANK', default=0)
world_size = _env_int('MPIAAS_SIZE', 'OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', default=1)
