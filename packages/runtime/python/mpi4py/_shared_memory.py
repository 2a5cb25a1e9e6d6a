"""Large bcasts among the ranks of one agent go through a file, not through the agent.

Through the agent, a bcast of n bytes to k ranks is copied 2 + 2k times (root -> socket ->
agent, then agent -> socket -> each rank); through a file, 1 + k (root -> page cache, page
cache -> each rank), and the agent moves a few bytes. This is what Open MPI does within a
node with shared memory.  The agent offers it in its hello reply (PROTOCOL.md, "Shared
memory"): `shm`, a folder private to the job that its ranks can write, and `local`, the
world ranks it hosts, which are the ranks that can read what is left there.

The root writes its data to a file of its own, `<shm>/.mpiaas-<root>-<slot>`, hard-links
`<file>.<r>` to it for every receiver r, and contributes [b'', b'<file> <n>'] instead of
[data]. Each receiver reads n bytes from its own name and then unlinks it, so the file's
link count falls back to 1 when every receiver has read it: the root may then write the
next bcast over it in place, which costs a quarter of writing a fresh file (measured, 8 MiB
on ext4: 0.4-0.6 ms against 2.4-2.6 ms, the kernel allocating the pages anew).  A root
keeps two such files of at most POOL_BYTES; when both are still being read, or the data is
larger, it writes a file used once (its own name unlinked at once, so the last reader's
unlink frees it).  The agent keeps the root waiting for every member (as for a bcast beyond
the eager limit), so a root looping over large bcasts cannot run ahead of its receivers by
more than a file.  Anything that stops the root writing (no space, its file-size limit)
sends the data the usual way.
"""

import os

from ._channel import channel
from ._errors import Exception as MPIException, ERR_OTHER
from ._world import world_rank

# Below this, the agent's socket is as quick: at np 4, a bcast of 128 KiB took the same
# either way (0.52-0.56 ms against 0.52-0.61), one of 512 KiB 0.50-0.54 ms against 0.91-1.09.
MIN_BYTES = 256 << 10
# Above this, through the agent: the file counts against the job's disk limit while its
# receivers read it (JOB_DISK_BYTES, 1 GiB by default), and it should stay a small part of it.
MAX_BYTES = 64 << 20
# The root's reusable files: at most this many, each of at most POOL_BYTES, kept (in the
# job's /tmp) until the job ends.
POOL_FILES = 2
POOL_BYTES = 16 << 20

_PREFIX = '.mpiaas-%d-' % world_rank
_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, 'O_CLOEXEC', 0)

_state = {'next': 0, 'folder': None, 'local': None, 'pool': []}


def _offered():
    """(folder, local world ranks) from the agent's hello, or (None, None)."""
    if _state['local'] is None:
        info = channel.connect()
        folder = info.get('shm')
        local = info.get('local')
        _state['folder'] = folder if isinstance(folder, str) and folder else None
        _state['local'] = frozenset(local) if _state['folder'] and local else frozenset()
    return _state['folder'], _state['local']


def offer(group, data):
    """Root of a bcast over `group` (COMM_WORLD ranks, this rank among them): leave `data`
    (bytes-like) for every other member and return the reference to contribute, or None
    when it must go through the agent (too small or large, a member on another agent, no
    folder, or the write failed)."""
    n = len(data)
    if n < MIN_BYTES or n > MAX_BYTES:
        return None
    folder, local = _offered()
    if not local or any(r not in local for r in group):
        return None
    receivers = [r for r in group if r != world_rank]
    try:
        path, once = _file_for(folder, n)
    except OSError:
        return None
    made = []
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, 'O_CLOEXEC', 0))
        try:
            view = memoryview(data).cast('B')
            at = 0
            while view:
                k = os.pwrite(fd, view, at)
                view = view[k:]
                at += k
        finally:
            os.close(fd)
        for r in receivers:
            name = '%s.%d' % (path, r)
            os.link(path, name)
            made.append(name)
    except OSError:
        for name in made:
            _unlink(name)
        if once:
            _unlink(path)
        return None
    if once:
        _unlink(path)       # the receivers' names keep it until the last has read it
    return ('%s %d' % (os.path.basename(path), n)).encode()


def _file_for(folder, n):
    """(path, used once): a pool file every receiver is done with (no name linked to it but
    the root's own), a new pool file, or when neither will do a fresh file for this bcast."""
    pool = _state['pool']
    if n <= POOL_BYTES:
        for path in pool:
            if os.stat(path).st_nlink == 1:
                return path, False
        if len(pool) < POOL_FILES:
            path = os.path.join(folder, '%sp%d' % (_PREFIX, len(pool)))
            os.close(os.open(path, _CREATE, 0o600))
            pool.append(path)
            return path, False
    _state['next'] += 1
    path = os.path.join(folder, '%s%d' % (_PREFIX, _state['next']))
    os.close(os.open(path, _CREATE, 0o600))
    return path, True


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def read_shared(ref, handler):
    """A bcast receiver's result: handler(counts, ch) run on the file the root's reference
    names, which is then closed and this rank's name for it unlinked."""
    body = _open(ref)
    try:
        return handler([body.size], body)
    finally:
        body.close()


def _open(ref):
    """The file a root's reference names, for this rank: read it, then close() it."""
    folder, _ = _offered()
    text = bytes(ref).decode('ascii', 'replace')
    name, _, size = text.partition(' ')
    parts = name.split('-')
    if (folder is None or len(parts) != 3 or parts[0] != '.mpiaas' or not parts[1].isdigit()
            or not parts[2].lstrip('p').isdigit() or not size.isdigit()):
        raise _lost('the root sent a reference this rank cannot use (%r)' % text)
    path = os.path.join(folder, '%s.%d' % (name, world_rank))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_CLOEXEC', 0))
    except OSError as exc:
        raise _lost('%s: %s' % (path, exc.strerror))
    return FileBody(fd, path, int(size))


def _lost(why):
    exc = MPIException(ERR_OTHER)
    exc.agent_message = 'bcast data left in shared memory is missing: ' + why
    return exc


class FileBody:
    """A result part read from a file, with the channel's reading methods (readinto, read,
    skip), so the handlers of _collective_results read it as they read the channel. The file
    is mapped: copying from the mapping measured 0.25 ms for 8 MiB against 0.37 ms for
    read(). Closing it unlinks the receiver's name: the root may then reuse the file."""

    def __init__(self, fd, path, size):
        import mmap
        self._path = path
        self.size = size
        try:
            self._map = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
        except (OSError, ValueError) as exc:     # ValueError: the file is shorter than size
            _unlink(path)
            raise _lost('%s: %s' % (path, exc))
        finally:
            os.close(fd)
        self._view = memoryview(self._map)
        self._at = 0

    def readinto(self, dst):
        at = self._at
        n = len(dst)
        if at + n > self.size:
            raise _lost('the file ended early')
        dst[:] = self._view[at:at + n]
        self._at = at + n

    def read(self, n):
        at = self._at
        self._at = at + n
        return self._view[at:at + n].tobytes()

    def skip(self, n):
        self._at += n

    def close(self):
        self._view.release()
        self._map.close()
        _unlink(self._path)
