"""mpi4py.util: helpers built on the MPI API (pkl5, dtlib, ...), as in mpi4py."""
