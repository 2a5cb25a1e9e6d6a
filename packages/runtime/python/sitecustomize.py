"""Run by Python as every rank starts, before its script: the shim's folder is first on a
rank's PYTHONPATH, so this module is the `sitecustomize` site imports.

A rank must hold no file descriptor but its stdio and its channel to the agent (fd 3). The
process that started its agent may have left descriptors open without close-on-exec, and
neither the sandbox (bubblewrap passes them through) nor the agent can tell them apart from
its own: each would be a way out of the rank's sandbox to a host file, pipe or socket. The
warm pool's forked ranks have them closed by the zygote, `mpiaas exec`'s by its rank forker;
a rank started cold closes them here.
Only ranks do this (MPIAAS_PROTOCOL is set for them alone). It replaces a system
sitecustomize (Debian's installs an apport hook), which ranks have no use for.
"""
import os


def close_stray_descriptors():
    """Closes every descriptor above 3 (`mpiaas exec`'s rank forker calls it in each rank)."""
    # /proc/self/fd, not closerange up to RLIMIT_NOFILE: a descriptor may be numbered above
    # the rank's (lowered) limit
    for name in os.listdir('/proc/self/fd'):
        if int(name) > 3:
            try:
                os.close(int(name))
            except OSError:     # the listing's own descriptor, already closed
                pass


if 'MPIAAS_PROTOCOL' in os.environ:
    close_stray_descriptors()
