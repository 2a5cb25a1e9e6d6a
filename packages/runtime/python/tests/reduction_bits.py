"""The float64 SUMs test_grouping.py compares with Open MPI's, and the script that records
Open MPI's: run under mpirun with the real mpi4py (Debian's python3-mpi4py), it prints one
line per case for its np, e.g.

  for n in $(seq 2 16); do OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \\
      mpirun --oversubscribe -np $n /usr/bin/python3 reduction_bits.py; done

(`mpiaas exec -n N` runs it under mpiaas the same way).  A case is Allreduce, or Reduce to
root 0, 1 or np-1, over the COUNTS below (element counts on both sides of every size at
which Open MPI changes algorithm, 8 B to 1 MiB); its digest is the SHA-256 (first 16 hex
digits) of all its results, in order.  The ranks' values come from a fixed integer hash,
so they are the same with any Python or numpy, and their magnitudes differ enough for any
two groupings to round differently somewhere.
"""
import hashlib

COUNTS = (1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 32, 63, 64, 255, 256, 511, 512, 1023, 1024,
          2047, 2048, 8191, 8192, 32767, 32768, 65535, 65536, 131071, 131072)


def repeats(count):
    """How many different buffers of `count` elements each case sums (64 elements at least)."""
    return max(1, 64 // count)


def values(rank, count, salt):
    """Rank's buffer: +-[1, 2) * 2**e, e in 0..9, from splitmix64 of (rank, salt, index)."""
    import numpy as np
    z = np.arange(count, dtype=np.uint64) + np.uint64((rank << 40) | (count << 8) | salt)
    with np.errstate(over='ignore'):
        z = z * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    mantissa = 1.0 + (z >> np.uint64(12)).astype(np.float64) / 2.0 ** 52
    exponent = (z & np.uint64(0xF)).astype(np.int64) % 10
    sign = 1.0 - 2.0 * ((z >> np.uint64(4)) & np.uint64(1)).astype(np.float64)
    return sign * np.ldexp(mantissa, exponent)


def cases(size):
    """('allreduce', None) and ('reduce', root) for the roots recorded at this size."""
    return [('allreduce', None)] + [('reduce', root) for root in sorted({0, 1, size - 1})]


def main():
    import numpy as np
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    digests = {case: hashlib.sha256() for case in cases(size)}
    for count in COUNTS:
        for salt in range(repeats(count)):
            mine = values(rank, count, salt)
            for kind, root in cases(size):
                out = np.zeros(count)
                if kind == 'allreduce':
                    comm.Allreduce(mine, out, MPI.SUM)
                else:
                    comm.Reduce(mine, out, MPI.SUM, root)
                if rank == (0 if root is None else root):
                    digests[kind, root].update(out.tobytes())
    lines = ['    (%d, %r, %s): %r,' % (size, kind, root, digests[kind, root].hexdigest()[:16])
             for kind, root in cases(size) if rank == (0 if root is None else root)]
    everything = comm.gather(lines, 0)
    if rank == 0:
        print('\n'.join(line for part in everything for line in part))


if __name__ == '__main__':
    main()
