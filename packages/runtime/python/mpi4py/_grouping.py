"""The order Open MPI adds up the ranks' contributions to a Reduce or Allreduce.

Floating-point addition is not associative, so a sum's last bits depend on how the partial
results are grouped.  mpiaas folds everything at the ranks, so it can group them exactly as
Open MPI 4.1's `tuned` component does with its fixed decision rules (coll_tuned_decision_
fixed.c, for commutative ops: every predefined one), which choose an algorithm by the
number of ranks and the message's bytes; each algorithm fixes a grouping:

  recursive doubling    pairs (0,1), (2,3), ... then pairs of pairs; with np not a power of
                        two the first 2*(np - 2^k) ranks are paired up first.  Rabenseifner's
                        reduce-scatter + allgather groups every element the same way.
  ring                  the buffer is cut in np blocks; block b is summed left to right from
                        rank b round the ring: ((x_b + x_b+1) + x_b+2) + ...
  linear (Reduce)       x0 + (x1 + (x2 + ...)), whatever the root
  pipeline (Reduce)     a chain from the root: x_root + (x_root+1 + (...)), ranks mod np
  binary (Reduce)       Open MPI's fanout-2 tree below the root: (own + first child) + second
  binomial (Reduce)     the in-order binomial tree: ((own + child 1) + child 2) + child 4 ...

Measured bit for bit against mpirun (Open MPI 4.1.4, one node) at np 2..16, messages of
8 B to 1 MiB, every root of Reduce (tests/test_grouping.py keeps what mpirun computed).
Larger communicators follow the same rules but were not measured; from 256 ranks on (where
Open MPI picks algorithms not reproduced here) the parts fold left in rank order, as do
Scan/Exscan and user-defined ops.  A grouping is a nested tuple of rank indices: (a, b)
means "a op b".
"""

from ._memo import memoized

MAX_RANKS = 255


def plan(kind, nparts, count, itemsize, root=0):
    """How to group parts 0..nparts-1 of a `kind` ('reduce' or 'allreduce') of `count`
    elements of `itemsize` bytes: a list of (first, stop, tree) element ranges covering the
    buffer, or None for a plain left fold."""
    if nparts < 3 or nparts > MAX_RANKS or count == 0:
        return None
    nbytes = count * itemsize
    if kind == 'allreduce':
        return _allreduce(nparts, count, nbytes)
    if kind == 'reduce':
        tree = _reduce(nparts, count, nbytes, root)
        return None if tree is None else [(0, count, tree)]
    return None


@memoized(512)
def program(kind, nparts, count, itemsize, root=0):
    """plan() with each tree as a postfix program (see run), kept for the next call of the
    same shape: a job reduces the same shapes over and over, and planning plus walking the
    tree cost more than the numpy work on a few elements."""
    ranges = plan(kind, nparts, count, itemsize, root)
    return None if ranges is None else tuple((first, stop, postfix(tree)) for first, stop, tree in ranges)


def postfix(tree):
    """A grouping as a tuple of steps: a part index pushes that part, None combines the two
    values on top (the lower one is the left operand)."""
    steps = []

    def walk(node):
        if isinstance(node, int):
            steps.append(node)
        else:
            walk(node[0])
            walk(node[1])
            steps.append(None)
    walk(tree)
    return tuple(steps)


def run(steps, parts, combine):
    """evaluate() for a postfix program: parts[i] is part i."""
    stack = []
    for step in steps:
        if step is None:
            right = stack.pop()
            stack[-1] = combine(stack[-1], right)
        else:
            stack.append(parts[step])
    return stack[0]


def schedule(kind, nparts, nbytes, root=0):
    """The one grouping of a buffer of nbytes (8-byte elements), None for a left fold or
    when blocks of the buffer are grouped differently (ring)."""
    ranges = plan(kind, nparts, max(1, nbytes // 8), 8, root)
    if ranges is None or len({tree for _, _, tree in ranges}) != 1:
        return None
    return ranges[0][2]


# -- the decision rules (Open MPI 4.1 coll/tuned, commutative ops) ------------------------
def _allreduce(n, count, nbytes):
    if n < 4:
        alg = _first(nbytes, ((8, 'ring'), (4096, 'rd'), (8192, 'ring'), (16384, 'rd'),
                              (65536, 'ring'), (262144, 'ring'), (None, 'rabenseifner')))
    elif n < 8:
        alg = _first(nbytes, ((16, 'ring'), (8192, 'rd'), (None, 'rabenseifner')))
    elif n < 16:
        alg = _first(nbytes, ((8192, 'rd'), (None, 'rabenseifner')))
    elif n < 32:
        alg = _first(nbytes, ((64, 'ring'), (4096, 'rd'), (None, 'rabenseifner')))
    elif n < 64:
        alg = _first(nbytes, ((128, 'ring'), (None, 'rabenseifner')))
    elif n < 128:
        alg = _first(nbytes, ((262144, 'rd'), (None, 'rabenseifner')))
    else:
        alg = _first(nbytes, ((131072, 'reduce+bcast'), (262144, 'rd'), (None, 'rabenseifner')))
    if alg == 'ring':                   # (the segmented ring with no segment size is the ring)
        if count < n:                   # too few elements for a block each
            return [(0, count, recursive_doubling(n))]
        return ring(n, count)
    if alg == 'rabenseifner' and count < _pow2_floor(n):
        return [(0, count, linear(n))]  # Open MPI's fallback: a linear reduce + bcast
    if alg == 'reduce+bcast':
        tree = _reduce(n, count, nbytes, 0)
        return None if tree is None else [(0, count, tree)]
    return [(0, count, recursive_doubling(n))]


def _reduce(n, count, nbytes, root):
    if n < 4:
        alg = _first(nbytes, ((8, 'redscat'), (16, 'binary'), (32, 'pipeline'),
                              (262144, 'linear'), (None, 'pipeline')))
    elif n < 8:
        alg = _first(nbytes, ((4096, 'binary'), (65536, 'pipeline'), (262144, 'binomial'),
                              (524288, 'linear'), (1048576, 'binomial'), (None, 'linear')))
    elif n < 16:
        alg = _first(nbytes, ((8192, 'binary'), (None, 'binomial')))
    elif n < 32:
        alg = _first(nbytes, ((4096, 'binary'), (None, 'binomial')))
    else:
        alg = 'binomial'
    if alg == 'redscat':                # Rabenseifner's reduce; with fewer elements than
        if count < _pow2_floor(n):      # ranks Open MPI falls back to linear
            return linear(n)
        return None
    if alg == 'linear':
        return linear(n)
    # the chain (fanout 0 is taken as 1) and the pipeline are one chain from the root
    children = {'binary': _binary_children, 'pipeline': _chain_children,
                'binomial': _binomial_children}[alg]
    return _tree(n, root, children)


def _first(nbytes, table):
    for limit, alg in table:
        if limit is None or nbytes < limit:
            return alg


def _pow2_floor(n):
    p = 1
    while p * 2 <= n:
        p *= 2
    return p


# -- the groupings ------------------------------------------------------------------------
def linear(n):
    tree = n - 1
    for r in range(n - 2, -1, -1):
        tree = (r, tree)
    return tree


def recursive_doubling(n):
    extra = n - _pow2_floor(n)
    level = [(r - 1, r) for r in range(1, 2 * extra, 2)] + list(range(2 * extra, n))
    while len(level) > 1:
        level = [(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def ring(n, count):
    """Blocks of count // n elements, the first count % n of them one longer; block b is
    folded left starting at rank b."""
    small, big = divmod(count, n)
    ranges, first = [], 0
    for b in range(n):
        size = small + (1 if b < big else 0)
        tree = b
        for k in range(1, n):
            tree = (tree, (b + k) % n)
        ranges.append((first, first + size, tree))
        first += size
    return ranges


def _tree(n, root, children):
    """A reduction tree over shifted ranks s = rank - root: every node adds its own part to
    its first child's subtree, then each further child's subtree in turn."""
    def subtree(s):
        tree = (s + root) % n
        for child in children(s, n):
            tree = (tree, subtree(child))
        return tree
    return subtree(0)


def _binary_children(s, n):
    # ompi_coll_base_topo_build_tree(2): levels of 1, 2, 4, ... ranks; a rank on level l
    # has children s + 2^l and s + 2^(l+1)
    level, first, width = 0, 0, 1
    while not first <= s < first + width:
        first += width
        width *= 2
        level += 1
    step = 1 << level
    return [c for c in (s + step, s + 2 * step) if c < n]


def _chain_children(s, n):
    return [s + 1] if s + 1 < n else []


def _binomial_children(s, n):
    # ompi_coll_base_topo_build_in_order_bmtree: children s ^ mask for the masks below s's
    # lowest set bit, in increasing order
    out, mask = [], 1
    while mask < n:
        peer = s ^ mask
        if peer < s:
            break
        if peer < n:
            out.append(peer)
        mask <<= 1
    return out


def evaluate(tree, leaf, combine):
    """Fold following `tree`: leaf(i) gives part i, combine(a, b) computes a op b."""
    if isinstance(tree, int):
        return leaf(tree)
    return combine(evaluate(tree[0], leaf, combine), evaluate(tree[1], leaf, combine))
