"""Graph and distributed graph topologies: what MPI.Graphcomm and MPI.Distgraphcomm add
to a communicator (its edges), checked arguments of the calls that make them, and the
weights sentinels.

As with the Cartesian grid (_topology), nothing here makes a communicator: the classes are
declared in _comm and mix these in; they read only the edges and the communicator's
`_rank`.  No reordering: a process keeps its rank, as Open MPI does by default.
"""

from ._errors import Exception as MPIException, ERR_ARG, ERR_RANK
from ._status import UNDEFINED
from ._topology import GRAPH, DIST_GRAPH


class _Weights:
    """MPI.UNWEIGHTED and MPI.WEIGHTS_EMPTY: distinct from None and from each other."""

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return 'MPI.%s' % self._name

    def __reduce__(self):
        return self._name


UNWEIGHTED = _Weights('UNWEIGHTED')
WEIGHTS_EMPTY = _Weights('WEIGHTS_EMPTY')


def _occurrence_slots(inedges, source):
    """Where the blocks of `source` land: the k-th in its out-edge order in the k-th
    occurrence of it among our in-edges."""
    return [k for k, r in enumerate(inedges) if r == source]


class GraphTopology:
    """The graph of MPI.Graphcomm (MPI_Graph_create): `_index` (cumulative degrees, no
    leading 0) and `_edges`, the same for every member."""

    def _copy_topo(self, other):
        self._index = list(other._index)
        self._edges = list(other._edges)
        return self

    def Get_topology(self):
        self._chk()
        return GRAPH

    def Get_dims(self):
        self._chk()
        return len(self._index), len(self._edges)

    dims = property(Get_dims)
    nnodes = property(lambda self: self.Get_dims()[0])
    nedges = property(lambda self: self.Get_dims()[1])

    def Get_topo(self):
        self._chk()
        return list(self._index), list(self._edges)

    topo = property(Get_topo)
    index = property(lambda self: self.Get_topo()[0])
    edges = property(lambda self: self.Get_topo()[1])

    def Get_neighbors_count(self, rank):
        return len(self.Get_neighbors(rank))

    def Get_neighbors(self, rank):
        self._chk()
        if rank < 0 or rank >= len(self._index):
            raise MPIException(ERR_RANK)
        start = self._index[rank - 1] if rank > 0 else 0
        return list(self._edges[start:self._index[rank]])

    nneighbors = property(lambda self: self.Get_neighbors_count(self._rank))
    neighbors = property(lambda self: self.Get_neighbors(self._rank))

    def Map(self, index, edges):
        return graph_map(self._rank, index, edges)

    def _in_out(self):
        neighbors = self.Get_neighbors(self._rank)
        return neighbors, neighbors

    def _arrival_slots(self, source):
        return _occurrence_slots(self._in_out()[0], source)


class DistGraphTopology:
    """The graph of MPI.Distgraphcomm: this process's own in- and out-edges and, if the
    graph is weighted, their weights."""

    def _copy_topo(self, other):
        self._sources = list(other._sources)
        self._destinations = list(other._destinations)
        self._weights = None if other._weights is None else tuple(list(w) for w in other._weights)
        return self

    def Get_topology(self):
        self._chk()
        return DIST_GRAPH

    def Get_dist_neighbors_count(self):
        self._chk()
        return len(self._sources), len(self._destinations), self._weights is not None

    def Get_dist_neighbors(self):
        self._chk()
        weights = None if self._weights is None else tuple(list(w) for w in self._weights)
        return list(self._sources), list(self._destinations), weights

    def _in_out(self):
        return self._sources, self._destinations

    def _arrival_slots(self, source):
        return _occurrence_slots(self._sources, source)


def graph_shape(index, edges, size):
    """Intracomm.Create_graph's arguments checked against a communicator of `size` ranks:
    (index without a leading 0, edges). mpi4py's extension: an index given in the 'standard'
    form, starting with 0 and ending with the number of edges, is taken as well."""
    index = [int(i) for i in index]
    edges = [int(e) for e in edges]
    if len(index) > 1 and index[0] == 0 and index[-1] == len(edges):
        index = index[1:]
    nnodes = len(index)
    if nnodes > size or (index and index[-1] != len(edges)):
        raise MPIException(ERR_ARG)
    previous = 0
    for i in index:
        if i < previous:
            raise MPIException(ERR_ARG)
        previous = i
    for e in edges:
        if e < 0 or e >= nnodes:
            raise MPIException(ERR_RANK)
    return index, edges


def graph_map(rank, index, edges):
    """Intracomm.Graph_map (no reordering): the rank itself if the graph has room for it."""
    nnodes = len(graph_shape(index, edges, float('inf'))[0])
    return rank if rank < nnodes else UNDEFINED


def adjacent_edges(ranks, weights, size, what):
    """One side of Create_dist_graph_adjacent: (ranks, their weights or UNWEIGHTED)."""
    ranks = [] if ranks is None else [int(r) for r in ranks]
    for r in ranks:
        if r < 0 or r >= size:
            raise MPIException(ERR_RANK)
    if weights is None or weights is UNWEIGHTED:
        return ranks, UNWEIGHTED
    if weights is WEIGHTS_EMPTY:
        if ranks:
            raise ValueError('%s: WEIGHTS_EMPTY with %d edges' % (what, len(ranks)))
        return ranks, []
    weights = [int(w) for w in weights]
    if len(weights) != len(ranks):
        raise ValueError('%s: expecting %d weights, got %d' % (what, len(ranks), len(weights)))
    return ranks, weights


def dist_graph_weights(sources, sourceweights, destinations, destweights):
    """The weights a Distgraphcomm keeps: None if both sides are UNWEIGHTED, else a pair of
    lists (a side given as UNWEIGHTED weighs each of its edges 1)."""
    if sourceweights is UNWEIGHTED and destweights is UNWEIGHTED:
        return None
    if sourceweights is UNWEIGHTED:
        sourceweights = [1] * len(sources)
    if destweights is UNWEIGHTED:
        destweights = [1] * len(destinations)
    return list(sourceweights), list(destweights)


def specified_edges(sources, degrees, destinations, weights, size):
    """Create_dist_graph's arguments as the edges this process names: [(source, dest,
    weight or None)]."""
    sources = [int(s) for s in sources]
    degrees = [int(d) for d in degrees]
    destinations = [int(d) for d in destinations]
    if len(degrees) != len(sources) or sum(degrees) != len(destinations) or \
            any(d < 0 for d in degrees):
        raise ValueError('Create_dist_graph: %d sources, %d degrees summing to %d, %d '
                         'destinations' % (len(sources), len(degrees), sum(degrees), len(destinations)))
    weighted = not (weights is None or weights is UNWEIGHTED)
    if weights is WEIGHTS_EMPTY:
        if destinations:
            raise ValueError('Create_dist_graph: WEIGHTS_EMPTY with %d edges' % len(destinations))
        weights = []
    elif weighted:
        weights = [int(w) for w in weights]
        if len(weights) != len(destinations):
            raise ValueError('Create_dist_graph: expecting %d weights, got %d'
                             % (len(destinations), len(weights)))
    for r in sources + destinations:
        if r < 0 or r >= size:
            raise MPIException(ERR_RANK)
    edges, k = [], 0
    for source, degree in zip(sources, degrees):
        for _ in range(degree):
            edges.append((source, destinations[k], weights[k] if weighted else None))
            k += 1
    return edges, weighted


def my_dist_graph(everyone, rank):
    """From every process's specified_edges (in rank order), this process's (sources,
    destinations, source weights, destination weights)."""
    sources, destinations, sw, dw = [], [], [], []
    for edges in everyone:
        for source, dest, weight in edges:
            if dest == rank:
                sources.append(source)
                sw.append(weight)
            if source == rank:
                destinations.append(dest)
                dw.append(weight)
    return sources, destinations, sw, dw
