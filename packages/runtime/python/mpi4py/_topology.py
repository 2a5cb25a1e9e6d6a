"""Cartesian topologies: the grid a Cartcomm adds to a communicator (dims, periods,
row-major coordinates, shifts, its neighbours) and MPI.Compute_dims.  Graph and
distributed graph topologies are in _graphs.

Nothing here knows the communicator: MPI.Cartcomm is declared in _comm (Create_cart and
Sub make communicators, which is _comm's business) and mixes in CartTopology, which only
reads the grid (`_dims`, `_periods`) and the communicator's `_rank`/`_size`.
"""

from ._errors import Exception as MPIException, ERR_RANK, ERR_DIMS, ERR_ARG
from ._status import PROC_NULL, UNDEFINED

CART, GRAPH, DIST_GRAPH = 1, 2, 3


class CartTopology:
    """The Cartesian grid of MPI.Cartcomm."""

    def _copy_topo(self, other):
        self._dims = list(other._dims)
        self._periods = list(other._periods)
        return self

    def Get_topology(self):
        return CART

    def Get_dim(self):
        return len(self._dims)

    ndim = property(Get_dim)
    dim = property(Get_dim)

    def Get_topo(self):
        return (list(self._dims), list(self._periods), self.Get_coords(self._rank))

    topo = property(Get_topo)
    dims = property(lambda self: list(self._dims))
    periods = property(lambda self: list(self._periods))
    coords = property(lambda self: self.Get_coords(self._rank))

    def Get_coords(self, rank):
        if rank < 0 or rank >= self._size:
            raise MPIException(ERR_RANK)
        coords = []
        for d in reversed(self._dims):
            coords.append(rank % d)
            rank //= d
        return coords[::-1]

    def Get_cart_rank(self, coords):
        rank = 0
        for c, d, p in zip(coords, self._dims, self._periods):
            if p:
                c %= d
            elif c < 0 or c >= d:
                raise MPIException(ERR_RANK)
            rank = rank * d + c
        return rank

    def Shift(self, direction, disp):
        if direction < 0 or direction >= len(self._dims):
            raise MPIException(ERR_DIMS)
        coords = self.Get_coords(self._rank)

        def neighbour(delta):
            c = list(coords)
            c[direction] += delta
            d = self._dims[direction]
            if not self._periods[direction] and (c[direction] < 0 or c[direction] >= d):
                return PROC_NULL
            return self.Get_cart_rank(c)
        return (neighbour(-disp), neighbour(disp))

    def Map(self, dims, periods=None):
        return cart_map(self._rank, dims)

    def _in_out(self):
        """In- and out-neighbours, the same list: per dimension the -1 then the +1
        neighbour (PROC_NULL past a non-periodic edge), as MPI orders them."""
        edges = self.__dict__.get('_edges_cache')
        if edges is None:
            edges = []
            for d in range(len(self._dims)):
                edges.extend(self.Shift(d, 1))
            edges = self._edges_cache = (edges, edges)
        return edges

    def _arrival_slots(self, source):
        """The in-edge slots the blocks of `source` land in, in the order it sends them
        (its out-edge order): its block towards +1 of a dimension is ours from -1."""
        coords = self.Get_coords(source)
        me = self._rank
        slots = []
        for d, size in enumerate(self._dims):
            for delta in (-1, 1):
                c = coords[d] + delta
                if not self._periods[d] and (c < 0 or c >= size):
                    continue
                moved = list(coords)
                moved[d] = c % size
                if self.Get_cart_rank(moved) == me:
                    slots.append(2 * d + (0 if delta == 1 else 1))
        return slots


def cart_map(rank, dims):
    """Intracomm.Cart_map (no reordering): the rank itself if the grid has room for it."""
    n = 1
    for d in dims:
        n *= int(d)
    return rank if rank < n else UNDEFINED


def sub_grid(coords, dims, periods, remain_dims):
    """Cartcomm.Sub from the rank at coords: (the Split color of its sub-grid, the
    sub-grid's dims, its periods)."""
    color = 0
    sub_dims, sub_periods = [], []
    for c, d, p, keep in zip(coords, dims, periods, remain_dims):
        if keep:
            sub_dims.append(d)
            sub_periods.append(p)
        else:
            color = color * d + c
    return color, sub_dims, sub_periods


def cart_shape(dims, periods, size):
    """Intracomm.Create_cart's grid checked against a communicator of `size` ranks:
    (dims, periods as 0/1, how many ranks the grid takes)."""
    dims = [int(d) for d in dims]
    if periods is None:
        periods = [False] * len(dims)
    elif isinstance(periods, (bool, int)):
        periods = [periods] * len(dims)     # one for every dimension, as mpi4py takes it
    periods = [int(bool(p)) for p in periods]
    if len(periods) != len(dims):
        raise ValueError('expecting %d items, got %d' % (len(dims), len(periods)))
    n = 1
    for d in dims:
        if d <= 0:
            raise MPIException(ERR_DIMS)
        n *= d
    if n > size:
        raise MPIException(ERR_ARG)
    return dims, periods, n


def Compute_dims(nnodes, dims):
    """Balanced factorisation of nnodes over the zero entries of dims (non-increasing)."""
    if isinstance(dims, int):
        dims = [0] * dims
    dims = [int(d) for d in dims]
    fixed = 1
    for d in dims:
        if d < 0:
            raise MPIException(ERR_DIMS)
        if d:
            fixed *= d
    free = [i for i, d in enumerate(dims) if d == 0]
    if fixed == 0 or nnodes % fixed:
        raise MPIException(ERR_DIMS)
    rest = nnodes // fixed
    if not free:
        if rest != 1:
            raise MPIException(ERR_DIMS)
        return dims
    factors, p, m = [], 2, rest
    while p * p <= m:
        while m % p == 0:
            factors.append(p)
            m //= p
        p += 1
    if m > 1:
        factors.append(m)
    sizes = [1] * len(free)
    for f in sorted(factors, reverse=True):
        i = sizes.index(min(sizes))
        sizes[i] *= f
    sizes.sort(reverse=True)
    for i, s in zip(free, sizes):
        dims[i] = s
    return dims
