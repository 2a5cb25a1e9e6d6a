"""Parts of MPI that mpiaas does not provide: every entry point raises NotImplementedError
naming the call, so a script fails loudly at the first unsupported use (not at import)."""


def unsupported(what):
    raise NotImplementedError('MPI.%s is not supported by mpiaas' % what)


def _stub(qualname):
    """An entry point (function, method or, wrapped in classmethod, class method) that
    raises unsupported(qualname) whatever it is called with."""
    def method(*args, **kwargs):
        unsupported(qualname)
    method.__name__ = qualname.rsplit('.', 1)[-1]
    return method


def _make(name, methods, classmethods=()):
    ns = {'__module__': 'mpi4py.MPI',
          '__doc__': 'MPI.%s: not supported by mpiaas.' % name}
    for m in methods:
        ns[m] = _stub('%s.%s' % (name, m))
    for m in classmethods:
        ns[m] = classmethod(_stub('%s.%s' % (name, m)))
    ns['__init__'] = lambda self, *a, **k: None
    return type(name, (), ns)


Win = _make('Win', ['Free', 'Put', 'Get', 'Accumulate', 'Get_accumulate', 'Fence', 'Lock',
                    'Unlock', 'Lock_all', 'Unlock_all', 'Flush', 'Start', 'Complete',
                    'Post', 'Wait', 'Get_group', 'Get_attr', 'tomemory'],
            ['Create', 'Allocate', 'Allocate_shared', 'Create_dynamic'])
File = _make('File', ['Close', 'Read', 'Write', 'Read_at', 'Write_at', 'Read_all',
                      'Write_all', 'Read_at_all', 'Write_at_all', 'Set_view', 'Get_size',
                      'Seek', 'Sync', 'Set_size'],
             ['Open', 'Delete'])

Session = _make('Session', ['Finalize', 'Get_num_psets', 'Get_nth_pset', 'Get_info',
                            'Get_pset_info', 'Create_group', 'Get_errhandler',
                            'Set_errhandler', 'Call_errhandler', 'Free'],
                ['Init', 'Create_errhandler'])      # MPI 4.0 sessions (mpi4py 4.x)

WIN_NULL = Win()
SESSION_NULL = Session()
FILE_NULL = File()

MODE_RDONLY, MODE_RDWR, MODE_WRONLY, MODE_CREATE, MODE_EXCL = 2, 8, 4, 1, 64
MODE_DELETE_ON_CLOSE, MODE_UNIQUE_OPEN, MODE_SEQUENTIAL, MODE_APPEND = 16, 32, 256, 128
MODE_NOCHECK, MODE_NOSTORE, MODE_NOPUT, MODE_NOPRECEDE, MODE_NOSUCCEED = 1, 2, 4, 8, 16
LOCK_EXCLUSIVE, LOCK_SHARED = 1, 2


Open_port = _stub('Open_port')
Close_port = _stub('Close_port')
Lookup_name = _stub('Lookup_name')
Publish_name = _stub('Publish_name')
Unpublish_name = _stub('Unpublish_name')
