# cartesian.py - arrange ranks on a grid and exchange "halo" cells with neighbours.
#
#   MPI.Compute_dims(n, 2)       : a balanced 2-D grid shape for n ranks, e.g. 8 -> [4, 2]
#   comm.Create_cart(dims, ...)  : a communicator that knows the grid; periods says
#                                  which directions wrap around (like a torus)
#   cart.Get_coords(rank)        : grid coordinates of a rank (and Get_cart_rank back)
#   cart.Shift(direction, disp)  : (source, dest) neighbours along one direction;
#                                  MPI.PROC_NULL where a non-periodic grid ends
#
# A send to / receive from MPI.PROC_NULL does nothing, so edge ranks need no special
# code in the halo exchange.
#
# Run:  mpiaas exec -n 4 examples/cartesian.py

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()


def name(r):
    """Print PROC_NULL as 'none' (its numeric value differs between MPI libraries)."""
    return "none" if r == MPI.PROC_NULL else str(r)


# --- a 2-D grid, periodic in direction 0 and not in direction 1 ---
dims = MPI.Compute_dims(size, 2)
grid = comm.Create_cart(dims, periods=[True, False], reorder=False)
coords = grid.Get_coords(grid.Get_rank())
up, down = grid.Shift(0, 1)          # direction 0 wraps around
west, east = grid.Shift(1, 1)        # direction 1 ends at the edges
print("rank %d: grid %s, periodic %s, coords %s, back to rank %d" % (
    rank, dims, [bool(p) for p in grid.periods], coords, grid.Get_cart_rank(coords)))
print("rank %d: direction 0 neighbours (source, dest) = (%s, %s); direction 1 = (%s, %s)"
      % (rank, name(up), name(down), name(west), name(east)))

# Neighbours can talk with ordinary point-to-point calls on the grid communicator:
# everyone sends its coordinates "down" in direction 0 and receives from "up".
from_up = grid.sendrecv(coords, dest=down, source=up)
print("rank %d: the rank above me (wrapping round) is at %s" % (rank, from_up))
grid.Free()

# --- halo exchange on a 1-D non-periodic line of ranks ---
# Each rank owns 4 cells of a long array, plus one "ghost" cell at each end holding
# a copy of the neighbour's edge cell. -1 marks a ghost with no neighbour.
line = comm.Create_cart([size], periods=[False])
left, right = line.Shift(0, 1)
u = np.full(4 + 2, -1, dtype=np.int64)
u[1:-1] = np.arange(4) + 4 * rank          # global cell numbers: rank 1 owns 4..7

# send my last real cell to the right, receive my left ghost from the left...
line.Sendrecv(u[-2:-1], dest=right, sendtag=0, recvbuf=u[0:1], source=left, recvtag=0)
# ...and my first real cell to the left, receive my right ghost from the right.
line.Sendrecv(u[1:2], dest=left, sendtag=1, recvbuf=u[-1:], source=right, recvtag=1)
print("rank %d: neighbours (%s, %s), cells with ghosts %s"
      % (rank, name(left), name(right), u))

# A 3-point stencil on the real cells needs the ghosts: the sum of each cell and its
# two neighbours (the missing neighbour at the two outer ends counts as 0).
padded = np.where(u < 0, 0, u)
stencil = padded[:-2] + padded[1:-1] + padded[2:]
print("rank %d: 3-point sums %s" % (rank, stencil))

# Check against doing it on one process: gather everything to rank 0.
pieces = line.gather(stencil.tolist(), root=0)
if rank == 0:
    print("rank 0: the whole line of 3-point sums %s" % sum(pieces, []))
line.Free()
