"""``qled run lifetime …`` with the run store's progress mirrored into a shared file.

Usage: ``python lifetime_child.py REPORT -- <qled arguments>``. REPORT is a file of float64
the parent created (``HEADER + MAX_ROWS`` values) and maps too; it survives a SIGKILL of this
process. Layout: ``[0]`` rows appended, ``[1]`` rows committed (journalled and written),
``[2]`` longest commit [s], ``[3]`` commits, ``[HEADER + i]`` wall time (``time.time()``) at
which row ``i`` was handed to the store. The qled CLI runs unchanged otherwise.
"""
from __future__ import annotations

import mmap
import sys
import time

import numpy as np

HEADER = 8
MAX_ROWS = 200_000


def main() -> int:
    report, sep, *qled_args = sys.argv[1:]
    assert sep == "--"
    with open(report, "r+b") as fh:
        buf = mmap.mmap(fh.fileno(), 8 * (HEADER + MAX_ROWS))
    shared = np.frombuffer(buf, dtype=np.float64)

    from qled import cli
    from acquisition.store import RunWriter

    append, append_batch, commit = RunWriter.append, RunWriter.append_batch, RunWriter._commit

    def traced_append(self, row):
        append(self, row)
        i = int(shared[0])
        shared[HEADER + i] = time.time()
        shared[0] = i + 1

    def traced_append_batch(self, batch):
        append_batch(self, batch)
        n = len(next(iter(batch.values()))) if batch else 0
        i = int(shared[0])
        shared[HEADER + i:HEADER + i + n] = time.time()
        shared[0] = i + n

    def traced_commit(self, batch, lock_timeout_s=None):
        t0 = time.time()
        commit(self, batch, lock_timeout_s)
        shared[2] = max(shared[2], time.time() - t0)
        shared[1] = self.rows_flushed
        shared[3] += 1

    RunWriter.append, RunWriter.append_batch = traced_append, traced_append_batch
    RunWriter._commit = traced_commit
    return cli.main(qled_args)


if __name__ == "__main__":
    sys.exit(main())
