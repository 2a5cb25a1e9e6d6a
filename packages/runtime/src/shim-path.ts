import path from 'node:path';

/** Folder holding the Python `mpi4py` shim; put first on a rank's PYTHONPATH. */
export const SHIM_PATH = path.resolve(__dirname, '..', 'python');
