"""The order Open MPI adds up the ranks' contributions to a small Reduce or Allreduce.

Floating-point addition is not associative, so a sum's last bits depend on how the partial
results are grouped.  mpiaas folds everything at the ranks, so it can group them exactly as
Open MPI 4.1's tuned collectives do for small messages (measured against mpirun on one
node: sums of float64 come out bit-identical at np 2..8):

  Allreduce, np <= 8, < 4096 bytes      recursive doubling: pairs (0,1), (2,3), ... then
                                        pairs of pairs; with np not a power of two the
                                        first 2*(np - 2^k) ranks are paired up first
  Reduce,    np <= 3, < 4096 bytes      linear: x0 + (x1 + (x2 + ...))
  Reduce,    4 <= np <= 8, < 4096 bytes binary tree: rank r's children are r + 2^l and
                                        r + 2^(l+1) (l = r's level), each subtree summed
                                        as (own + first child) + second child

Anything else (larger messages, more ranks, Scan/Exscan, user ops) folds left in rank
order.  A schedule is a nested tuple of rank indices: (a, b) means "a op b".
"""

SMALL_BYTES = 4096
MAX_RANKS = 8


def schedule(kind, nparts, nbytes):
    """Grouping of parts 0..nparts-1 for `kind` ('reduce' or 'allreduce'), or None for a
    plain left fold."""
    if nparts < 3 or nparts > MAX_RANKS or nbytes >= SMALL_BYTES:
        return None
    if kind == 'allreduce':
        return recursive_doubling(nparts)
    if kind == 'reduce':
        return linear(nparts) if nparts <= 3 else binary_tree(nparts)
    return None


def linear(n):
    tree = n - 1
    for r in range(n - 2, -1, -1):
        tree = (r, tree)
    return tree


def recursive_doubling(n):
    pow2 = 1
    while pow2 * 2 <= n:
        pow2 *= 2
    extra = n - pow2
    level = [(r - 1, r) for r in range(1, 2 * extra, 2)] + list(range(2 * extra, n))
    while len(level) > 1:
        level = [(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _children(r, n):
    # Open MPI's fanout-2 tree (ompi_coll_base_topo_build_tree): levels of 1, 2, 4, ...
    # ranks; a rank on level l has children r + 2^l and r + 2^(l+1)
    level, first, width = 0, 0, 1
    while not first <= r < first + width:
        first += width
        width *= 2
        level += 1
    step = 1 << level
    return [c for c in (r + step, r + 2 * step) if c < n]


def binary_tree(n):
    def subtree(r):
        tree = r
        for child in _children(r, n):
            tree = (tree, subtree(child))
        return tree
    return subtree(0)


def evaluate(tree, leaf, combine):
    """Fold following `tree`: leaf(i) gives part i, combine(a, b) computes a op b."""
    if isinstance(tree, int):
        return leaf(tree)
    return combine(evaluate(tree[0], leaf, combine), evaluate(tree[1], leaf, combine))
