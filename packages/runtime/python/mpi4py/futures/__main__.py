"""`python -m mpi4py.futures script.py [args]`: rank 0 runs the script, the other ranks
serve the tasks of its MPIPoolExecutors until it ends (mpi4py's -m mpi4py.futures).

Workers import the script as module `__mp_main__` (its `if __name__ == '__main__':`
block does not run) and alias it as `__main__`, so functions defined in the script can
be sent to them by reference, as multiprocessing does.
"""

import runpy
import sys
import types

from .. import MPI
from . import _farm, pool


def _import_main(path):
    module = types.ModuleType('__mp_main__')
    module.__file__ = path
    sys.modules['__mp_main__'] = module
    sys.modules['__main__'] = module
    code = compile(open(path, 'rb').read(), path, 'exec')
    exec(code, module.__dict__)


def main():
    if len(sys.argv) < 2:
        sys.stderr.write('usage: python -m mpi4py.futures script.py [args ...]\n')
        raise SystemExit(2)
    comm = MPI.COMM_WORLD.Dup()
    pool._launcher['comm'] = comm
    sys.argv = sys.argv[1:]
    path = sys.argv[0]
    if comm.Get_rank() == 0:
        try:
            runpy.run_path(path, run_name='__main__')
        finally:
            _farm.Farm(comm, range(1, comm.Get_size())).stop_workers()
    else:
        _import_main(path)
        _farm.serve(comm, 0)


if __name__ == '__main__':
    main()
