# The ping-pong the bench scripts time (mpi_micro.py, profile_ab.py, pingpong_sizes.py),
# imported from beside them: a script's own directory is first on sys.path.
from mpi4py import MPI


def pingpong(buf, datatype, comm=MPI.COMM_WORLD):
    """One round trip of buf between ranks 0 and 1 (the others idle)."""
    rank = comm.rank

    def roundtrip():
        if rank == 0:
            comm.Send([buf, datatype], dest=1, tag=1)
            comm.Recv([buf, datatype], source=1, tag=2)
        elif rank == 1:
            comm.Recv([buf, datatype], source=0, tag=1)
            comm.Send([buf, datatype], dest=0, tag=2)
    return roundtrip
