"""Access to a run file on disk: ``flock`` coordination, HDF5 handles and fsync.

Writers and readers coordinate with ``flock`` on the ``.h5`` file itself (HDF5's own
locking is switched off for our handles and uses the same primitive for other tools),
so a reader never sees a half-written flush. :func:`_locked` holds the lock, polling
until a timeout, after which it raises :class:`StoreBusy`; :func:`_open_h5` opens an
HDF5 handle under it; :func:`_fsync_dir` makes a rename or link durable;
:func:`_check_free` refuses work a disk has no room for before any byte is written. The
store's two errors live here: :class:`StoreError` (the file could not be written or is
damaged) and :class:`StoreBusy` (the lock stayed taken), and :func:`_reason`, an OS error
as a few words ("disk full").
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import h5py

try:  # POSIX; on other systems readers and writers are not coordinated
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

_LOCK_POLL_S = 0.002
#: Free space every write keeps in hand beyond what it needs itself [bytes].
_FREE_SPACE_MARGIN_B = 256 * 1024


class StoreError(OSError):
    """The run file could not be written (disk full, folder gone, file damaged)."""


class StoreBusy(TimeoutError):
    """The run file stayed locked by another process for longer than the timeout."""


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem allows it
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _locked(path: Path, exclusive: bool, timeout_s: float) -> Iterator[int]:
    """Hold ``flock`` on ``path`` (shared or exclusive); yields the fd (usable for fsync)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if fcntl is not None:
            op = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fd, op)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreBusy(f"{path} is locked by another process") from None
                    time.sleep(_LOCK_POLL_S)
        yield fd
    finally:
        os.close(fd)  # releases the lock


def _open_h5(path: Path, mode: str) -> h5py.File:
    # Our own flock coordinates access; HDF5's lock would conflict with it in-process.
    return h5py.File(path, mode, locking=False)


def _reason(exc: BaseException) -> str:
    """An OS or HDF5 error as a few words: "disk full", or its message on one line."""
    if getattr(exc, "errno", None) == errno.ENOSPC or "No space left" in str(exc):
        return "disk full"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


def _free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def _check_free(folder: Path, need_b: int, what: str) -> None:
    """Raise :class:`StoreError` (ENOSPC, one line) unless ``folder``'s disk has ``need_b``
    bytes plus the margin free: refuse before anything is written."""
    free = _free_bytes(folder)
    if free < need_b + _FREE_SPACE_MARGIN_B:
        raise StoreError(errno.ENOSPC, f"not enough free space to {what} in {folder}: "
                         f"{_mb(free)} free, {_mb(need_b + _FREE_SPACE_MARGIN_B)} needed "
                         "(disk full); free some space and try again")


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 10_000 else f"{n} bytes"
