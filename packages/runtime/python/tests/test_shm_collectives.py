"""Small collectives met in shared memory (_shm_collectives), between real processes: every
member gets every contribution of every call, whether the others are there already, arrive
while it spins, or come only after it went to sleep on its futex word."""
import os
import shutil
import tempfile
import time
import unittest

from mpi4py import _shm_collectives as shmc


@unittest.skipUnless(os.uname().machine == 'x86_64', 'shared-memory collectives are x86-64 only')
class SegmentCase(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix='mpiaas-shmc-test-')
        self.path = os.path.join(self.folder, 'segment')

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def run_members(self, size, calls, member_delay=lambda me, call: 0.0):
        """Fork `size` members that each exchange `calls` times; returns the failures they
        reported (empty: every member saw every contribution of every call)."""
        read_end, write_end = os.pipe()
        pids = []
        for me in range(size):
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                code = 0
                try:
                    seg = shmc.Segment(self.path, size, me)
                    for call in range(1, calls + 1):
                        delay = member_delay(me, call)
                        if delay:
                            time.sleep(delay)
                        mine = b'%d:%d' % (me, call) * (1 + me)
                        got = seg.exchange(mine)
                        want = [b'%d:%d' % (m, call) * (1 + m) for m in range(size)]
                        if got != want:
                            os.write(write_end, b'member %d call %d got %r\n' % (me, call, got))
                            code = 1
                            break
                except BaseException as exc:      # reported, never a hang of the test
                    os.write(write_end, b'member %d: %r\n' % (me, exc))
                    code = 1
                finally:
                    os._exit(code)
            pids.append(pid)
        os.close(write_end)
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
        with os.fdopen(read_end, 'rb') as reports:
            failures = reports.read().decode()
        self.assertEqual(codes, [0] * size, failures)
        return failures

    def test_every_member_gets_every_contribution_of_every_call(self):
        self.assertEqual(self.run_members(4, 3000), '')

    def test_a_late_member_wakes_those_asleep_on_their_futex(self):
        # member 2 comes 20 ms late to every 25th call: the others are asleep by then
        late = lambda me, call: 0.02 if me == 2 and call % 25 == 0 else 0.0
        started = time.monotonic()
        self.assertEqual(self.run_members(3, 500, late), '')
        # twenty late arrivals of 20 ms: 0.4 s; a missed wake would leave the sleepers to
        # their 100 ms timeout each time: 2 s
        self.assertLess(time.monotonic() - started, 1.2)

    def test_one_member_alone_returns_its_own(self):
        seg = shmc.Segment(self.path, 1, 0)
        self.assertEqual(seg.exchange(b'x' * shmc.CAPACITY), [b'x' * shmc.CAPACITY])
        self.assertEqual(seg.exchange(b''), [b''])
        seg.close()

    def test_parts_reads_the_contributions_in_order(self):
        parts = shmc.Parts([b'ab', b'', b'cde'])
        self.assertEqual(parts.read(1), b'a')
        dst = bytearray(2)
        parts.readinto(memoryview(dst))
        self.assertEqual(bytes(dst), b'bc')
        parts.skip(1)
        self.assertEqual(parts.read(1), b'e')


if __name__ == '__main__':
    unittest.main()
