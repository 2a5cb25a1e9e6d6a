"""Reduce and Allreduce group the ranks' parts as Open MPI 4.1 does, so float sums are
bit-identical to mpirun's.  OPENMPI holds what mpirun computed (Open MPI 4.1.4, Debian's
mpi4py, one node, 2026-12-03) for the cases of reduction_bits.py, np 2..16; the test folds
the same parts with the shim and compares, so no mpirun is needed to run it."""
import hashlib
import struct
import unittest

from mpi4py import MPI
from mpi4py._grouping import evaluate, plan, postfix, program, run, schedule
from mpi4py._ops import fold_buffers

from reduction_bits import COUNTS, cases, repeats, values

# (np, kind, root): SHA-256 of the results of every count and repeat, first 16 hex digits
OPENMPI = {
    (2, 'allreduce', None): 'f9fde43bc53b7d22',
    (2, 'reduce', 0): 'f9fde43bc53b7d22',
    (2, 'reduce', 1): 'f9fde43bc53b7d22',
    (3, 'allreduce', None): '7dd4ce15ccdf56bd',
    (3, 'reduce', 0): '53508b5e1cbeccad',
    (3, 'reduce', 1): '67b97b7dba391c5f',
    (3, 'reduce', 2): '4d89ff19977a129a',
    (4, 'allreduce', None): 'cea4d11d4dc55b0b',
    (4, 'reduce', 0): '852649a22df14243',
    (4, 'reduce', 1): 'aeaddd96b06195fd',
    (4, 'reduce', 3): '4f13adaf3f93e6f4',
    (5, 'allreduce', None): 'bab069f09ddde226',
    (5, 'reduce', 0): 'cea756e08bd04e79',
    (5, 'reduce', 1): '63da6cdab5e05fd4',
    (5, 'reduce', 4): 'f8d2fd6fe402863e',
    (6, 'allreduce', None): '4f10f111b365f968',
    (6, 'reduce', 0): '215af2e47d789497',
    (6, 'reduce', 1): '4523d21b3cb9ba5c',
    (6, 'reduce', 5): 'eeff017cad759379',
    (7, 'allreduce', None): 'e54ae56566c5f3f6',
    (7, 'reduce', 0): '4cfd05131686f7ee',
    (7, 'reduce', 1): '1e2781a120524daf',
    (7, 'reduce', 6): '8f3b0426e20a2e73',
    (8, 'allreduce', None): '1d178a03f438b3f2',
    (8, 'reduce', 0): '500084d40b097fb3',
    (8, 'reduce', 1): 'e2fde2febd7eafe9',
    (8, 'reduce', 7): '121770d51b96162c',
    (9, 'allreduce', None): 'e6a2c7488ca151e5',
    (9, 'reduce', 0): '56564c6e7a90dc8b',
    (9, 'reduce', 1): 'e93f9bcb191fe4f6',
    (9, 'reduce', 8): 'c553e54a15742050',
    (10, 'allreduce', None): '796f4c7d1f231943',
    (10, 'reduce', 0): '6e0b8957363120fb',
    (10, 'reduce', 1): '6b23cb3311ceb7e4',
    (10, 'reduce', 9): '3605f60136e6df46',
    (11, 'allreduce', None): 'd07f79c8685804c9',
    (11, 'reduce', 0): 'af41db28e1bda513',
    (11, 'reduce', 1): 'c2c82c388f068746',
    (11, 'reduce', 10): '1487a7cfe0b52035',
    (12, 'allreduce', None): '8f9a30d46ed86f57',
    (12, 'reduce', 0): '67b6b9521e662638',
    (12, 'reduce', 1): '05f58d67cbecb664',
    (12, 'reduce', 11): '5c1f52a2df36e1f5',
    (13, 'allreduce', None): 'df87403fe758855d',
    (13, 'reduce', 0): 'cdb9fa6a351cb682',
    (13, 'reduce', 1): '8c7b307c92ea3fba',
    (13, 'reduce', 12): 'aeb00226560e60bd',
    (14, 'allreduce', None): 'c4d09b22409f2bfe',
    (14, 'reduce', 0): 'bb25b5e9f8a55ecf',
    (14, 'reduce', 1): '1c0e998674e7b2c7',
    (14, 'reduce', 13): '8346ca2728a195bc',
    (15, 'allreduce', None): '8fc9377b743b9bee',
    (15, 'reduce', 0): 'a25dac0ded57bd8c',
    (15, 'reduce', 1): 'b0ddb3679057b64b',
    (15, 'reduce', 14): 'e6f24627f8c87120',
    (16, 'allreduce', None): '9a26eb9c4a4f39f9',
    (16, 'reduce', 0): 'bb8588949b456605',
    (16, 'reduce', 1): '85b646a4784f67ed',
    (16, 'reduce', 15): 'c75c40e430614e3f',
}


class TestOpenMPIBits(unittest.TestCase):

    def test_every_case_recorded_from_mpirun(self):
        self.assertEqual(set(OPENMPI),
                         {(n, kind, root) for n in range(2, 17) for kind, root in cases(n)})

    def test_sums_equal_open_mpi_to_the_bit(self):
        digests = {(n, kind, root): hashlib.sha256()
                   for n in range(2, 17) for kind, root in cases(n)}
        for count in COUNTS:
            for salt in range(repeats(count)):
                parts = [values(rank, count, salt).tobytes() for rank in range(16)]
                for n in range(2, 17):
                    for kind, root in cases(n):
                        out = bytearray(8 * count)
                        how = 'allreduce' if kind == 'allreduce' else ('reduce', root)
                        fold_buffers(MPI.SUM, parts[:n], memoryview(out), MPI.DOUBLE, count, how)
                        digests[n, kind, root].update(out)
                        # the parts back to back, as a rank receives them, fold the same
                        joined = bytearray(8 * count)
                        fold_buffers(MPI.SUM, b''.join(parts[:n]), memoryview(joined), MPI.DOUBLE, count, how)
                        self.assertEqual(joined, out, (n, kind, root, count))
        for (n, kind, root), digest in digests.items():
            with self.subTest(np=n, kind=kind, root=root):
                self.assertEqual(digest.hexdigest()[:16], OPENMPI[n, kind, root])


class TestSchedules(unittest.TestCase):

    def test_allreduce_is_recursive_doubling(self):
        self.assertEqual(schedule('allreduce', 4, 8), ((0, 1), (2, 3)))
        self.assertEqual(schedule('allreduce', 5, 8), (((0, 1), 2), (3, 4)))
        self.assertEqual(schedule('allreduce', 7, 8), (((0, 1), (2, 3)), ((4, 5), 6)))
        # Rabenseifner's reduce-scatter + allgather groups every element the same way
        self.assertEqual(schedule('allreduce', 6, 1 << 20), (((0, 1), (2, 3)), (4, 5)))

    def test_allreduce_at_3_ranks_uses_the_ring_between_4_and_8_kib(self):
        # block b (of 171, 171, 170 elements) summed left to right from rank b
        self.assertEqual(plan('allreduce', 3, 512, 8), [(0, 171, ((0, 1), 2)),
                                                        (171, 342, ((1, 2), 0)),
                                                        (342, 512, ((2, 0), 1))])
        self.assertEqual(schedule('allreduce', 3, 4088), ((0, 1), 2))

    def test_reduce_follows_the_size_of_the_message(self):
        self.assertEqual(schedule('reduce', 3, 8), ((0, 1), 2))             # binary tree
        self.assertEqual(schedule('reduce', 3, 16), (0, (1, 2)))            # pipeline
        self.assertEqual(schedule('reduce', 3, 64), (0, (1, 2)))            # linear
        self.assertEqual(schedule('reduce', 4, 8), ((0, (1, 3)), 2))        # binary tree
        self.assertEqual(schedule('reduce', 8, 8), ((0, ((1, (3, 7)), 5)), ((2, 4), 6)))
        self.assertEqual(schedule('reduce', 8, 8192),                      # binomial
                         (((0, 1), (2, 3)), ((4, 5), (6, 7))))

    def test_reduce_trees_hang_below_the_root(self):
        self.assertEqual(schedule('reduce', 4, 8, root=1), ((1, (2, 0)), 3))
        self.assertEqual(schedule('reduce', 3, 16, root=2), (2, (0, 1)))
        self.assertEqual(schedule('reduce', 3, 64, root=2), (0, (1, 2)))    # linear ignores it

    def test_left_fold_elsewhere(self):
        for args in (('reduce', 2, 8), ('allreduce', 2, 8), (None, 4, 8), ('reduce', 256, 8)):
            self.assertIsNone(schedule(*args), args)

    def test_every_element_of_every_part_exactly_once(self):
        for n in range(3, 41):
            for count in (1, n - 1, n, 2 * n + 1, 1000, 40000):
                for kind, root in (('allreduce', 0), ('reduce', 0), ('reduce', n - 1)):
                    ranges = plan(kind, n, count, 8, root)
                    self.assertEqual([(a, b) for a, b, _ in ranges][0][0], 0)
                    self.assertEqual(ranges[-1][1], count)
                    for (_, stop, _), (first, _, _) in zip(ranges, ranges[1:]):
                        self.assertEqual(stop, first)
                    for _, _, tree in ranges:
                        self.assertEqual(sorted(evaluate(tree, lambda i: [i], lambda a, b: a + b)),
                                         list(range(n)), (kind, n, count, root))

    def test_programs_group_as_their_trees(self):
        for n in range(3, 41):
            for count in (1, n - 1, 2 * n + 1, 40000):
                for kind, root in (('allreduce', 0), ('reduce', 0), ('reduce', n - 1)):
                    ranges = plan(kind, n, count, 8, root)
                    compiled = program(kind, n, count, 8, root)
                    self.assertEqual([(a, b) for a, b, _ in ranges], [(a, b) for a, b, _ in compiled])
                    for (_, _, tree), (_, _, steps) in zip(ranges, compiled):
                        # combining into nested tuples shows the grouping itself
                        self.assertEqual(run(steps, range(n), lambda a, b: (a, b)), tree)
        self.assertEqual(postfix(((0, 1), 2)), (0, 1, None, 2, None))
        self.assertIs(program('allreduce', 4, 1, 8), program('allreduce', 4, 1, 8))


class TestFold(unittest.TestCase):

    def fold(self, values, kind):
        parts = [struct.pack('d', v) for v in values]
        out = bytearray(8)
        fold_buffers(MPI.SUM, parts, memoryview(out), MPI.DOUBLE, 1, kind)
        return struct.unpack('d', out)[0]

    def test_grouping_changes_the_last_bits(self):
        # regression: these were folded left, one ulp away from mpirun's result
        values = [1e16, 1.0, -1e16, 1.0]
        self.assertEqual(self.fold(values, None), ((1e16 + 1.0) - 1e16) + 1.0)
        self.assertEqual(self.fold(values, 'allreduce'), (1e16 + 1.0) + (-1e16 + 1.0))
        self.assertEqual(self.fold(values, 'reduce'), (1e16 + (1.0 + 1.0)) + -1e16)
        self.assertEqual(self.fold(values, ('reduce', 1)), (1.0 + (-1e16 + 1e16)) + 1.0)
        self.assertEqual(len({self.fold(values, k) for k in (None, 'allreduce', 'reduce')}), 3)


if __name__ == '__main__':
    unittest.main()
