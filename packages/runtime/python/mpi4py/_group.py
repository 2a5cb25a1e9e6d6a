"""MPI.Group: an ordered list of COMM_WORLD ranks (purely local, no agent traffic)."""

from ._errors import Exception as MPIException, ERR_RANK, ERR_GROUP
from ._status import UNDEFINED, PROC_NULL as _PROC_NULL

IDENT, CONGRUENT, SIMILAR, UNEQUAL = 0, 1, 2, 3


class Group:
    """MPI.Group."""

    def __init__(self, group=None, _ranks=None, _me=None):
        if isinstance(group, Group):
            _ranks, _me = group._ranks, group._me
        self._ranks = tuple(_ranks) if _ranks is not None else None
        self._me = _me          # my COMM_WORLD rank

    def __eq__(self, other):
        if not isinstance(other, Group):
            return NotImplemented
        return self._ranks == other._ranks

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        return hash(self._ranks)

    def __bool__(self):
        return self._ranks is not None

    def _new(self, ranks):
        return Group(_ranks=ranks, _me=self._me)

    def _chk(self):
        if self._ranks is None:
            raise MPIException(ERR_GROUP)

    def Get_size(self):
        self._chk()
        return len(self._ranks)

    def Get_rank(self):
        self._chk()
        try:
            return self._ranks.index(self._me)
        except (ValueError, AttributeError):
            return UNDEFINED

    size = property(Get_size)
    rank = property(Get_rank)

    def _check(self, ranks):
        n = len(self._ranks)
        for r in ranks:
            if r < 0 or r >= n:
                raise MPIException(ERR_RANK)

    def Incl(self, ranks):
        ranks = list(ranks)
        self._check(ranks)
        return self._new([self._ranks[r] for r in ranks])

    def Excl(self, ranks):
        ranks = set(ranks)
        self._check(ranks)
        return self._new([w for i, w in enumerate(self._ranks) if i not in ranks])

    @staticmethod
    def _expand(ranges):
        out = []
        for first, last, stride in ranges:
            out.extend(range(first, last + (1 if stride > 0 else -1), stride))
        return out

    def Range_incl(self, ranks):
        return self.Incl(self._expand(ranks))

    def Range_excl(self, ranks):
        return self.Excl(self._expand(ranks))

    def Translate_ranks(group1, ranks1=None, group2=None, *, group=None):
        # instance methods (mpi4py 4.x: group.Translate_ranks(ranks, group=g)); the 3.1.4
        # calls MPI.Group.Translate_ranks(g1, ranks, g2) are the same call
        if group is not None:
            group2 = group
        if ranks1 is None:
            ranks1 = range(len(group1._ranks))
        ranks1 = list(ranks1)
        group1._check([r for r in ranks1 if r != _PROC_NULL])
        out = []
        for r in ranks1:
            if r == _PROC_NULL:         # MPI: PROC_NULL translates to PROC_NULL
                out.append(r)
                continue
            w = group1._ranks[r]
            if group2 is None:
                out.append(w)
            else:
                try:
                    out.append(group2._ranks.index(w))
                except ValueError:
                    out.append(UNDEFINED)
        return out

    def Compare(group1, group2):
        group1._chk()
        group2._chk()
        if group1._ranks == group2._ranks:
            return IDENT
        if set(group1._ranks) == set(group2._ranks):
            return SIMILAR
        return UNEQUAL

    def Union(group1, group2):
        s = set(group1._ranks)
        return group1._new(list(group1._ranks) + [w for w in group2._ranks if w not in s])

    def Intersection(group1, group2):
        s = set(group2._ranks)
        return group1._new([w for w in group1._ranks if w in s])

    def Difference(group1, group2):
        s = set(group2._ranks)
        return group1._new([w for w in group1._ranks if w not in s])

    def Dup(self):
        return self._new(self._ranks)

    def Free(self):
        self._ranks = None

    def __reduce__(self):
        # mpi4py 4.x: GROUP_NULL/GROUP_EMPTY pickle as themselves, others cannot
        from ._handles import reduce_handle
        return reduce_handle(self, globals(), ('GROUP_NULL', 'GROUP_EMPTY'))

    def py2f(self):
        return id(self) & 0x7fffffff


Group.__module__ = 'mpi4py.MPI'

GROUP_NULL = Group()
GROUP_EMPTY = Group(_ranks=())
_ = ERR_GROUP
