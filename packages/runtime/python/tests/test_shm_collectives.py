"""Small collectives met in shared memory (_shm_collectives), between real processes: every
member gets every contribution of every call, whether the others are there already, arrive
while it spins, or come only after it went to sleep on its futex word."""
import os
import shutil
import tempfile
import time
import unittest

from mpi4py import _shm_collectives as shmc


class Told(Exception):
    """A mismatch told to the agent, raised by a recorder's tell instead of waiting for the
    job's end."""


@unittest.skipUnless(os.uname().machine == 'x86_64', 'shared-memory collectives are x86-64 only')
class SegmentCase(unittest.TestCase):
    def recorder(self):
        """(told, tell): tell(header) records what a member tells its agent, and raises Told
        on a mismatch."""
        told = []

        def tell(header):
            told.append(header)
            if header['op'] == 'mismatch':
                raise Told()
        return told, tell

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix='mpiaas-shmc-test-')
        self.path = os.path.join(self.folder, 'segment')

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def run_members(self, size, calls, member_delay=lambda me, call: 0.0, park_after_ns=None):
        """Fork `size` members that each exchange `calls` times; returns the failures they
        reported (empty: every member saw every contribution of every call). park_after_ns:
        how long a member sleeps before it tells its agent (the module's own by default)."""
        read_end, write_end = os.pipe()
        pids = []
        for me in range(size):
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                code = 0
                told = []
                try:
                    if park_after_ns is not None:
                        shmc._PARK_AFTER_NS, shmc._state['futex'] = park_after_ns, None
                    seg = shmc.Segment(self.path, size, me, 'w', tell=told.append, serve=lambda: None)
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
                    parks = [h['op'] for h in told]
                    if parks != ['park', 'unpark'] * (len(parks) // 2):
                        os.write(write_end, b'member %d told %r\n' % (me, parks))
                        code = 1
                    elif parks:
                        os.write(write_end, b'parked\n')
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
        self.assertNotIn('member', self.run_members(4, 3000))

    def test_a_late_member_wakes_those_asleep_on_their_futex(self):
        # member 2 comes 20 ms late to every 25th call: the others are asleep by then
        late = lambda me, call: 0.02 if me == 2 and call % 25 == 0 else 0.0
        started = time.monotonic()
        reports = self.run_members(3, 500, late)
        # those that slept told the agent so, and that they left, in turn
        self.assertNotIn('member', reports)
        self.assertIn('parked', reports)
        # twenty late arrivals of 20 ms: 0.4 s; a missed wake would leave the sleepers to
        # their 100 ms timeout each time: 2 s
        self.assertLess(time.monotonic() - started, 1.2)

    def test_a_short_sleep_tells_the_agent_nothing(self):
        # the same late member, but sleeps end long before members would tell their agent
        # they are parked: the agent hears of none of them (most sleeps are short, and a park
        # and an unpark cost it two messages)
        late = lambda me, call: 0.02 if me == 2 and call % 25 == 0 else 0.0
        started = time.monotonic()
        reports = self.run_members(3, 500, late, park_after_ns=500 * 1000 * 1000)
        self.assertEqual(reports, '')
        self.assertLess(time.monotonic() - started, 1.2)    # woken, not timed out

    def test_one_member_alone_returns_its_own(self):
        seg = shmc.Segment(self.path, 1, 0, 'w', tell=self.fail)
        self.assertEqual(seg.exchange(b'x' * shmc.CAPACITY), [b'x' * shmc.CAPACITY])
        self.assertEqual(seg.exchange(b''), [b''])
        seg.close()

    def test_members_that_called_different_collectives_are_described_to_the_agent(self):
        pid = os.fork()
        if pid == 0:
            # it finds the mismatch too, and would wait for the job's end: it leaves instead
            seg = shmc.Segment(self.path, 2, 1, 'w', group=(0, 1), serve=lambda: None,
                               tell=lambda h: os._exit(0) if h['op'] == 'mismatch' else None)
            seg.exchange(b'', shmc.BARRIER)
            os._exit(1)

        told, tell = self.recorder()
        seg = shmc.Segment(self.path, 2, 0, 'w', group=(0, 1), tell=tell, serve=lambda: None)
        with self.assertRaises(Told):
            seg.exchange(b'x' * 8, shmc.BCAST, 0)
        self.assertEqual(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), 0)
        self.assertEqual(told[-1], {'op': 'mismatch', 'text': 'collective mismatch on COMM_WORLD '
                                    '(collective #1): rank 0 called Bcast (root 0), rank 1 called Barrier'})

    def fork(self, body):
        """Run body() in a child; returns a function that waits for it and gives its exit code
        (0: body returned)."""
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                body()
                code = 0
            finally:
                os._exit(code)
        waited = []

        def done():
            waited.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
            return waited[0]

        def reap():     # a test that failed early leaves no member waiting forever
            if not waited:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
        self.addCleanup(reap)
        return done

    def test_a_bcast_root_returns_before_the_others_come_up_to_three_calls_ahead(self):
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()

        def member():
            seg = shmc.Segment(self.path, 2, 1, 'w', tell=lambda h: None, serve=lambda: None)
            os.write(ready_w, b'x')             # mapped
            os.read(go_r, 1)                    # the root has made its three calls
            got = [seg.bcast(None, 0) for _ in range(3)]
            assert got == [b'one', b'two', b'three'], got
            assert seg.exchange(b'm', shmc.ALLREDUCE) == [b'r', b'm']
        done = self.fork(member)
        os.read(ready_r, 1)
        told = []
        seg = shmc.Segment(self.path, 2, 0, 'w', tell=told.append, serve=lambda: None)
        started = time.monotonic()
        for data in (b'one', b'two', b'three'):
            self.assertIsNone(seg.bcast(data, 0))
        self.assertLess(time.monotonic() - started, 0.05)   # never waited, never parked
        self.assertEqual(told, [])
        os.write(go_w, b'x')
        self.assertEqual(seg.exchange(b'r', shmc.ALLREDUCE), [b'r', b'm'])
        self.assertEqual(done(), 0)

    def test_a_bcast_root_waits_for_a_bank_four_calls_ahead(self):
        told = []

        def member():
            seg = shmc.Segment(self.path, 2, 1, 'w', tell=lambda h: None, serve=lambda: None)
            time.sleep(0.3)
            assert [seg.bcast(None, 0) for _ in range(4)] == [b'%d' % i for i in range(4)]
        done = self.fork(member)
        time.sleep(0.1)     # the member has mapped the segment
        seg = shmc.Segment(self.path, 2, 0, 'w', tell=told.append, serve=lambda: None)
        started = time.monotonic()
        for i in range(4):
            seg.bcast(b'%d' % i, 0)
        # the fourth call needed the bank of the first, read once the member came
        self.assertGreater(time.monotonic() - started, 0.1)
        self.assertEqual([h['op'] for h in told], ['park', 'unpark'])
        self.assertEqual(told[0], {'op': 'park', 'ctx': 'w', 'name': 'Bcast', 'root': 0})
        self.assertEqual(done(), 0)

    def test_a_root_returns_at_once_even_before_the_others_have_mapped_the_segment(self):
        seg = shmc.Segment(self.path, 2, 0, 't', tell=self.fail, serve=lambda: None)
        shmc._state['segments']['t'] = seg
        seg.bcast(b'data', 0)
        shmc.forget('t')        # freed at once: the file stays for the member yet to come

        def member():
            seg = shmc.Segment(self.path, 2, 1, 't', tell=lambda h: None, serve=lambda: None)
            assert seg.bcast(None, 0) == b'data'
        done = self.fork(member)
        self.assertEqual(done(), 0)

    def test_a_member_in_a_collective_through_the_agent_while_another_waits_here_is_a_mismatch(self):
        def member():
            seg = shmc.Segment(self.path, 2, 0, 'w', group=(0, 1), tell=lambda h: None, serve=lambda: None)
            seg.agent_call(b'bcast', 0, b'x.py:4')
            time.sleep(2)       # blocked in the agent's bcast, which the other never joins
        done = self.fork(member)
        told, tell = self.recorder()
        seg = shmc.Segment(self.path, 2, 1, 'w', group=(0, 1), tell=tell, serve=lambda: None)
        started = time.monotonic()
        with self.assertRaises(Told):
            seg.exchange(b'', shmc.BARRIER)
        self.assertLess(time.monotonic() - started, 0.5)
        self.assertEqual(told[-1], {'op': 'mismatch', 'text': 'collective mismatch on COMM_WORLD '
                                    '(collective #1): rank 0 called bcast (root 0) at x.py:4, rank 1 called Barrier'})
        done()

    def test_a_member_ahead_through_the_agent_after_this_call_is_no_mismatch(self):
        def member():
            seg = shmc.Segment(self.path, 2, 0, 'w', tell=lambda h: None, serve=lambda: None)
            seg.exchange(b'', shmc.BARRIER)
            seg.agent_call(b'gather', 0, None)      # then on to the agent, as the other will
            time.sleep(0.3)
            seg.exchange(b'', shmc.BARRIER)
        done = self.fork(member)
        time.sleep(0.1)
        seg = shmc.Segment(self.path, 2, 1, 'w', tell=lambda h: None if h['op'] != 'mismatch' else self.fail(h), serve=lambda: None)
        seg.exchange(b'', shmc.BARRIER)
        seg.agent_call(b'gather', 0, None)
        seg.exchange(b'', shmc.BARRIER)
        self.assertEqual(done(), 0)

    def test_members_that_went_through_the_agent_a_different_number_of_times_mismatch(self):
        def member():
            seg = shmc.Segment(self.path, 2, 0, 'w', tell=lambda h: os._exit(0) if h['op'] == 'mismatch' else None,
                               serve=lambda: None)
            seg.agent_call(b'Ibarrier', None, None)     # nonblocking: it goes on
            seg.exchange(b'', shmc.BARRIER)
            os._exit(1)
        done = self.fork(member)
        told, tell = self.recorder()
        time.sleep(0.1)
        seg = shmc.Segment(self.path, 2, 1, 'w', tell=tell, serve=lambda: None)
        with self.assertRaises(Told):
            seg.exchange(b'', shmc.BARRIER)
        # rank 0's first call that differs is its Ibarrier, against rank 1's Barrier
        self.assertEqual(told[-1], {'op': 'mismatch', 'text': 'collective mismatch on COMM_WORLD '
                                    '(collective #1): rank 0 called Ibarrier, rank 1 called Barrier'})
        self.assertEqual(done(), 0)

    def test_members_that_both_took_themselves_for_a_bcasts_root_mismatch_at_their_next_call(self):
        def member():
            seg = shmc.Segment(self.path, 2, 1, 'w', tell=lambda h: os._exit(3) if h['op'] == 'mismatch' else None,
                               serve=lambda: None)
            time.sleep(0.1)
            seg.bcast(b'one', 1)
            time.sleep(0.2)
            seg.verify()                # as at Finalize
        done = self.fork(member)
        told, tell = self.recorder()
        seg = shmc.Segment(self.path, 2, 0, 'w', tell=tell, serve=lambda: None)
        time.sleep(0.05)
        self.assertIsNone(seg.bcast(b'zero', 0))    # both roots return at once
        time.sleep(0.2)
        with self.assertRaises(Told):
            seg.exchange(b'', shmc.BARRIER)         # its next call compares first
        self.assertEqual(told[-1], {'op': 'mismatch', 'text': 'collective mismatch on COMM_WORLD '
                                    '(collective #1): rank 0 called Bcast (root 0), rank 1 called Bcast (root 1)'})
        self.assertIn(done(), (0, 3))

    def test_a_roots_entry_is_compared_at_its_next_call_or_not_at_all(self):
        # member 0 is root of call 1, then waits in call 2 before member 1 has come to call 1;
        # member 1 then runs ahead as root of calls 2-5 and writes call 5 into call 1's bank:
        # at call 3 member 0 must not compare call 1's entries any more (they are gone)
        def member():
            seg = shmc.Segment(self.path, 2, 1, 'w', tell=lambda h: None, serve=lambda: None)
            time.sleep(0.2)                     # member 0 waits in call 2 by now
            assert seg.bcast(None, 0) == b'a'
            for data in (b'b', b'c', b'd', b'e'):
                seg.bcast(data, 1)
        done = self.fork(member)
        told = []

        def tell(header):
            told.append(header)
            if header['op'] == 'mismatch':
                self.fail(header['text'])       # rather than wait for the job's end
        seg = shmc.Segment(self.path, 2, 0, 'w', tell=tell, serve=lambda: None)
        time.sleep(0.1)                         # both mapped: the root returns at once
        seg.bcast(b'a', 0)
        self.assertEqual(seg.bcast(None, 1), b'b')
        time.sleep(0.3)                         # member 1 has written call 5 by now
        self.assertEqual([seg.bcast(None, 1) for _ in range(3)], [b'c', b'd', b'e'])
        self.assertEqual([h['op'] for h in told if h['op'] == 'mismatch'], [])
        self.assertEqual(done(), 0)

    def test_a_reduces_non_root_returns_at_once_and_its_root_gets_every_contribution(self):
        def member():
            seg = shmc.Segment(self.path, 2, 1, 'w', tell=lambda h: None, serve=lambda: None)
            started = time.monotonic()
            assert seg.gather(b'one', 0, shmc.REDUCE) is None
            assert time.monotonic() - started < 0.1     # the root comes 0.3 s later
        done = self.fork(member)
        time.sleep(0.3)
        seg = shmc.Segment(self.path, 2, 0, 'w', tell=lambda h: None, serve=lambda: None)
        self.assertEqual(seg.gather(b'zero', 0, shmc.REDUCE), [b'zero', b'one'])
        self.assertEqual(done(), 0)

    def test_a_contribution_too_large_for_the_segment_is_none_on_every_member(self):
        def member():
            seg = shmc.Segment(self.path, 2, 1, 'w', tell=lambda h: None, serve=lambda: None)
            assert seg.exchange(None, shmc.OBJ_ALLGATHER) == [b'small', None]
            assert seg.bcast(None, 0, shmc.OBJ_BCAST) is None
        done = self.fork(member)
        seg = shmc.Segment(self.path, 2, 0, 'w', tell=lambda h: None, serve=lambda: None)
        self.assertEqual(seg.exchange(b'small', shmc.OBJ_ALLGATHER), [b'small', None])
        self.assertIsNone(seg.bcast(None, 0, shmc.OBJ_BCAST))
        self.assertEqual(done(), 0)

    def test_a_freed_communicators_file_stays_until_every_member_has_mapped_it(self):
        # a bcast's non-root may free the communicator before another member came to it:
        # that member must find the file, not make a new one and wait in it alone
        first = shmc.Segment(self.path, 2, 0, 'f')
        shmc._state['segments']['f'] = first
        shmc.forget('f')
        self.assertTrue(os.path.exists(self.path))
        late = shmc.Segment(self.path, 2, 1, 'f')
        shmc._state['segments']['f'] = late
        shmc.forget('f')                        # now every member has mapped it
        self.assertFalse(os.path.exists(self.path))

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
