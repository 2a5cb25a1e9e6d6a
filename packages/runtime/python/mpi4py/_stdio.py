"""How a rank's output reaches its agent.

Ranks start unbuffered (`python3 -u`) so every line shows up live, but then each `print`
costs two write system calls (the text, then the newline), and each one wakes the agent
reading the pipe. Line buffering keeps output live line by line at one write per line;
for a chatty rank that is about 1.5x faster. stderr stays unbuffered: it is what explains a
crash, and nothing of it may be lost.
"""

import sys


def line_buffer_stdout():
    stdout = sys.stdout
    reconfigure = getattr(stdout, 'reconfigure', None)
    if reconfigure is None:        # replaced by the script with something else: leave it
        return
    try:
        reconfigure(line_buffering=True, write_through=False)
    except (ValueError, OSError):  # closed or detached
        pass
