"""Helpers for tests that play the agent (see test_channel.PeerCase): communicators with
several members, and the agent's answer to a collective."""
import pickle

from mpi4py import MPI
from mpi4py._channel import channel

from test_channel import PeerCase, encode, read_frames


class AgentCase(PeerCase):
    """PeerCase whose shim end gives up after 10 s: a call waiting for an answer the test
    never sends fails instead of hanging the suite."""

    def setUp(self):
        super().setUp()
        self.shim.settimeout(10)


def member_comm(case, ranks):
    """A communicator of these COMM_WORLD ranks (this process is world rank 0, so it is
    rank ranks.index(0) in it), made with Create_group; returns (comm, the agent's
    registration frame); frames queued before go to the agent first."""
    comm = MPI.COMM_WORLD.Create_group(MPI.Group(_ranks=ranks, _me=0))
    *_, (hdr, _) = queued_frames(case)
    return comm, hdr


def queued_frames(case):
    """The one-way frames (comm, free) that wait to ride with the next write, as the agent
    receives them."""
    n = len(channel.outq)
    channel.flush()
    return read_frames(case.agent, n)


def coll_reply(frames, parts=()):
    """The agent's completion of the collective in frames[0] with these result parts."""
    req = frames[0][0]['req']
    return encode({'done': [{'req': req, 'kind': 'coll', 'counts': [len(p) for p in parts]}],
                   'parts': [len(p) for p in parts]}, parts)


def pickled(*objs):
    return [pickle.dumps(o, pickle.HIGHEST_PROTOCOL) for o in objs]
