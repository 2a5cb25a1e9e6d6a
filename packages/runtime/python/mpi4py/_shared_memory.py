"""Large bcasts and messages between ranks of one agent go through a file, not the agent.

Through the agent, n bytes to k ranks are copied 2 + 2k times (sender -> socket -> agent,
then agent -> socket -> each rank); through a file, 1 + k (sender -> page cache, page cache
-> each rank), and the agent moves a few bytes. This is what Open MPI does within a node
with shared memory.  The agent offers it in its hello reply (PROTOCOL.md, "Shared memory"):
`shm`, a folder private to the job that its ranks can write, and `local`, the world ranks it
hosts, which are the ranks that can read what is left there.

The sender writes the data to a file of its own, `<shm>/.mpiaas-<rank>-<slot>`, hard-links
`<file>.<r>` to it for every receiver r, and sends `<file> <n>` instead of the data (a bcast
root contributes [b'', reference]; a send says `shm: n` in its header). Each receiver maps
its own name, copies n bytes and unlinks the name, so the file's link count falls back to 1
once every receiver has read it: the sender may then write over it in place, which costs a
quarter of writing a fresh file (measured, 8 MiB on ext4: 0.4-0.6 ms against 2.4-2.6 ms, the
kernel allocating the pages anew).  A rank's share of the folder (the hello's `shmBytes`: the
agent splits its part of the job's disk limit among its ranks) is half for reusable files
and half for files used once (its own name unlinked at once, so the last reader's unlink
frees the file) that are not read yet; past that, and for more than half of it in one
message, it sends through the agent. So what a rank leaves unread in files is bounded, as what the agent holds is. The
agent keeps a bcast root waiting for every member (as beyond the eager limit), so a root
looping over large bcasts cannot run ahead of its receivers.  Anything that stops the write
(no space, the rank's file-size limit) sends the data the usual way.
"""

import os
import stat
from _thread import allocate_lock

from ._channel import channel
from ._collective_results import ViewReader
from ._errors import Exception as MPIException, ERR_OTHER
from ._world import world_rank

# Below this, the agent's socket is as quick: at np 4, a bcast of 128 KiB took the same
# either way (0.52-0.56 ms against 0.52-0.61), one of 512 KiB 0.50-0.54 ms against 0.91-1.09.
MIN_BYTES = 256 << 10
# Above this, through the agent whatever the share.
MAX_BYTES = 32 << 20
# A rank's share of the folder when its agent does not say (`mpiaas exec`, no disk limit):
# what it may keep in reusable files (until the job ends) and, as much again, in files used
# once and not read yet. What it leaves there counts against the job's disk limit.
DEFAULT_SHARE = 64 << 20

_PREFIX = '.mpiaas-%d-' % world_rank
_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, 'O_CLOEXEC', 0)

# pool: [path, bytes it can hold] of the reusable files; once: [receivers' names, bytes] of
# the files used once that may not all have been read
_state = {'next': 0, 'folder': None, 'local': None, 'half': DEFAULT_SHARE // 2, 'pool': [], 'once': []}
_choosing = allocate_lock()


def _offered():
    """(folder, local world ranks) from the agent's hello; (None, frozenset()) when it
    offered no folder."""
    if _state['local'] is None:
        info = channel.connect() or {}      # {}: a test's channel without a hello
        folder = info.get('shm')
        local = info.get('local')
        share = info.get('shmBytes')
        _state['folder'] = folder if isinstance(folder, str) and folder else None
        _state['local'] = frozenset(local) if _state['folder'] and local else frozenset()
        _state['half'] = share // 2 if isinstance(share, int) and share >= 0 else DEFAULT_SHARE // 2
    return _state['folder'], _state['local']


def offer(receivers, data):
    """Leave `data` (bytes-like) for the world ranks `receivers` (the others of a bcast, or
    the destination of a message, this rank itself included) and return the reference to
    send instead, or None when it must go through the agent (too small or large, a receiver
    on another agent, no folder, too much not read yet, or the write failed)."""
    n = len(data)
    if n < MIN_BYTES or n > MAX_BYTES:
        return None
    folder, local = _offered()
    if n > _state['half'] or not receivers or not local or any(r not in local for r in receivers):
        return None
    with _choosing:     # two threads must not pick the same free file and write it at once
        return _leave(folder, receivers, data, n)


def _leave(folder, receivers, data, n):
    """offer's work, under _choosing: the file written and linked, and its reference."""
    try:
        path, once = _file_for(folder, n)
    except OSError:
        return None
    if path is None:
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
        if not once:        # a reusable file that could not be written is not kept either
            _state['pool'] = [entry for entry in _state['pool'] if entry[0] != path]
        _unlink(path)
        return None
    if once:
        _unlink(path)       # the receivers' names keep it until the last has read it
        _state['once'].append((made, n))
    return ('%s %d' % (os.path.basename(path), n)).encode()


def _file_for(folder, n):
    """(path, used once): a reusable file every receiver is done with (no name linked to it
    but this rank's own), a new reusable file, or a file for this data alone; (None, False)
    when all of those would go over their share."""
    pool = _state['pool']
    for entry in list(pool):
        path, size = entry
        try:
            links = os.stat(path).st_nlink
        except FileNotFoundError:       # the script emptied its /tmp: forget the file
            pool.remove(entry)
            continue
        if size >= n and links == 1:
            return path, False
    reusable = sum(size for _, size in pool) + n <= _state['half']
    if not reusable and not _room_once(n):
        return None, False
    _state['next'] += 1
    path = os.path.join(folder, '%s%s%d' % (_PREFIX, 'p' if reusable else '', _state['next']))
    os.close(os.open(path, _CREATE, 0o600))
    if reusable:
        pool.append((path, n))
    return path, not reusable


def _room_once(n):
    """Whether n more bytes in files used once stay within half the share, forgetting the files
    every receiver has read (their names are gone)."""
    once = _state['once']
    if sum(size for _, size in once) + n <= _state['half']:
        return True
    once[:] = [(names, size) for names, size in once if any(os.path.lexists(p) for p in names)]
    return sum(size for _, size in once) + n <= _state['half']


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def read_shared(ref, handler):
    """handler(counts, body) run on the file a reference names (a bcast's result handler,
    or a receive's), which is then closed and this rank's name for it unlinked."""
    body = open_shared(ref)
    try:
        return handler([body.size], body)
    finally:
        body.close()


def open_shared(ref):
    """The file a reference names, for this rank (a FileBody): read it, then close() it."""
    path, size = _my_name(ref)
    try:
        # never a link or a fifo another rank of the job put there: a regular file or nothing
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0))
    except OSError as exc:
        _unlink(path)
        raise _lost('%s: %s' % (path, exc.strerror))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        _unlink(path)
        raise _lost('%s is not a regular file' % path)
    return FileBody(fd, path, size)


def drop_shared(ref):
    """A reference nobody will read (its request was freed): this rank's name for the file
    goes, so that its sender can reuse it."""
    try:
        path, _ = _my_name(ref)
    except MPIException:
        return
    _unlink(path)


def _my_name(ref):
    """(this rank's name for the file a reference `<file> <n>` names, n), or MPIException
    for a reference that names nothing in the folder."""
    folder, _ = _offered()
    text = bytes(ref).decode('ascii', 'replace')
    name, _, size = text.partition(' ')
    parts = name.split('-')
    # <sender>: a rank's number, or a<agent> for a file its agent left (agent-files.ts)
    sender = parts[1] if len(parts) == 3 else ''
    if sender.startswith('a'):
        sender = sender[1:]
    if (folder is None or len(parts) != 3 or parts[0] != '.mpiaas' or not sender.isdigit()
            or not parts[2].lstrip('p').isdigit() or not size.isdigit()):
        raise _lost('the sender sent a reference this rank cannot use (%r)' % text)
    return os.path.join(folder, '%s.%d' % (name, world_rank)), int(size)


def _lost(why):
    exc = MPIException(ERR_OTHER)
    exc.agent_message = 'data left in shared memory is missing: ' + why
    return exc


class FileBody(ViewReader):
    """A message or a bcast's data read from a file, with the channel's reading methods
    (readinto, read, skip), so receives and the handlers of _collective_results read it as
    they read the channel. The file is mapped: copying from the mapping measured 0.25 ms for
    8 MiB against 0.37 ms for read(). Closing it unlinks this receiver's name: once every
    receiver's is gone, the sender may write over the file."""

    def __init__(self, fd, path, size):
        import mmap
        self._path = path
        self.size = size
        try:
            # every page is read: map them all at once rather than fault them in one by one
            # (bcast 8 MiB at np 8, alternating: 6.4-8.6 ms against 7.7-8.0, noisy)
            populate = getattr(mmap, 'MAP_POPULATE', 0)     # Python 3.10 on
            self._map = mmap.mmap(fd, size, mmap.MAP_SHARED | populate, mmap.PROT_READ)
        except (OSError, ValueError) as exc:     # ValueError: the file is shorter than size
            _unlink(path)
            raise _lost('%s: %s' % (path, exc))
        finally:
            os.close(fd)
        ViewReader.__init__(self, memoryview(self._map))

    def readinto(self, dst):
        if self._at + len(dst) > self.size:
            raise _lost('the file ended early')
        ViewReader.readinto(self, dst)

    def close(self):
        self._view.release()
        self._map.close()
        _unlink(self._path)
