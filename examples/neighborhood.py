# neighborhood.py - halo exchange in one call with neighbourhood collectives.
#
#   cart.Neighbor_alltoall(send, recv) : block k of `send` goes to neighbour k, block k of
#                                        `recv` comes from neighbour k; on a Cartesian grid
#                                        the neighbours are, per direction, Shift's source
#                                        (-1) then dest (+1)
#   cart.neighbor_allgather(obj)       : the same object to every neighbour, a list back
#   comm.Create_graph / Create_dist_graph_adjacent : any neighbourhood, not just a grid
#
# A neighbour past a non-periodic edge is MPI.PROC_NULL: nothing is sent to it and its
# receive block is left as it was. On a periodic direction of 2 ranks the same rank is
# both neighbours: what it sent towards +1 arrives in the -1 block, and the other way.
#
# Run:  mpiaas exec -n 4 examples/neighborhood.py

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()

dims = MPI.Compute_dims(size, 2)
grid = comm.Create_cart(dims, periods=[True, False])

# each rank sends rank*10 + k to its k-th neighbour; -1 marks a block nobody filled
send = np.array([rank * 10 + k for k in range(2 * len(dims))], dtype="i")
recv = np.full(2 * len(dims), -1, dtype="i")
grid.Neighbor_alltoall(send, recv)
print("rank %d: neighbours %s got %s" % (
    rank, ["none" if r == MPI.PROC_NULL else r for r in grid.inedges],
    ["none" if v == -1 else int(v) for v in recv]))

# a ring as a graph: every rank is linked to its left and right
index = [2 * (i + 1) for i in range(size)]
edges = [n for i in range(size) for n in ((i - 1) % size, (i + 1) % size)]
ring = comm.Create_graph(index, edges)
print("rank %d: ring neighbours %s say %s" % (
    rank, ring.neighbors, ring.neighbor_allgather("hello from %d" % rank)))

# a distributed graph: each rank names only its own edges (here: receives from the two
# ranks before it, sends to the two after it), with weights
sources = [(rank - 1) % size, (rank - 2) % size]
destinations = [(rank + 1) % size, (rank + 2) % size]
chain = comm.Create_dist_graph_adjacent(sources, destinations, [1, 2], [1, 2])
total = np.zeros(2, dtype="d")
chain.Neighbor_allgather(np.array([rank * 1.5]), total)
print("rank %d: from %s got %s, weights %s" % (
    rank, chain.Get_dist_neighbors()[0], total.tolist(), chain.Get_dist_neighbors()[2]))

for c in (grid, ring, chain):
    c.Free()
