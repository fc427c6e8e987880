"""One writer per run file for its whole life: the run lock beside it (``<file>.h5.lock``).

A writer (a new run, ``qled resume``, ``qled recover``) takes ``flock`` on the lock file
before it changes the run file and holds it until the run ends; the lock file holds the
holder's host, pid, start time and command as one JSON line, so a refusal names who holds
it. The kernel frees a ``flock`` when its process dies: a lock file whose lock is free but
whose content names a process of *this* host is stale and is taken over (the new holder
records it, :attr:`RunLock.stale`). A lock file naming *another* host is never broken here,
whatever ``flock`` says (network filesystems may not share locks between computers): it is
refused with one line naming the host, and only a person may delete it.

:func:`run_lock` acquires; within one thread it is re-entrant (``qled resume`` holds the
lock while it reads, recovers and reopens the file): each acquire is matched by one
:meth:`RunLock.release`, the last one frees the lock and deletes the lock file. Another
thread of the same process is refused like another process.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .locking import StoreError, fcntl

__all__ = ["lock_path", "Holder", "RunLocked", "RunLock", "run_lock"]

#: How long a refusal waits for a holder that has just taken the lock to write its name [s].
_HOLDER_WAIT_S = 0.5


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file of a run file: ``<file>.h5.lock``."""
    return Path(str(path) + ".lock")


def _host() -> str:
    return socket.gethostname()


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a run lock, as its lock file says."""
    host: str
    pid: int
    since: str
    command: str = ""

    def describe(self) -> str:
        what = f" ({self.command})" if self.command else ""
        return f"pid {self.pid} on host {self.host} since {self.since}{what}"

    def alive(self) -> bool:
        """The process still runs (meaningful on its own host only)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _parse_holder(text: str) -> Holder | None:
    try:
        d = json.loads(text)
        return Holder(str(d["host"]), int(d["pid"]), str(d["since"]), str(d.get("command", "")))
    except (ValueError, KeyError, TypeError):
        return None


def _read_holder(path: Path) -> Holder | None:
    try:
        return _parse_holder(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None


class RunLocked(StoreError):
    """Another writer holds the run file (or a lock file names another computer)."""

    def __init__(self, message: str, holder: Holder | None = None):
        super().__init__(errno.EBUSY, message)
        self.holder = holder

    def __str__(self) -> str:
        return self.strerror


class RunLock:
    """The held lock of one run file; see :func:`run_lock`.

    Attributes
    ----------
    path : Path
        The run file.
    stale : Holder or None
        The previous holder when a stale lock (a dead process of this host) was taken over.
    """

    def __init__(self, path: Path, fd: int, holder: Holder, stale: Holder | None):
        self.path, self.holder, self.stale = path, holder, stale
        self._fd = fd
        self._count = 1
        self._owner = (os.getpid(), threading.get_ident())

    @property
    def held(self) -> bool:
        return self._fd is not None

    def stale_note(self) -> str:
        """One line about the stale lock taken over ('' if none)."""
        if self.stale is None:
            return ""
        gone = "is gone" if not self.stale.alive() else "no longer held it"
        return (f"lock: took over a stale lock of {self.stale.describe()}: that process {gone} "
                "without releasing it")

    def release(self) -> None:
        """Drop one hold; the last frees the lock and deletes the lock file. Idempotent
        once freed."""
        with _REGISTRY_LOCK:
            if self._fd is None:
                return
            self._count -= 1
            if self._count > 0:
                return
            _REGISTRY.pop(_key(self.path), None)
            fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            lp = lock_path(self.path)
            if os.fstat(fd).st_ino == os.stat(lp).st_ino:
                os.unlink(lp)          # still holding it: nobody else can hold this inode
        os.close(fd)

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<RunLock {self.path.name} held={self.held} count={self._count}>"


_REGISTRY: dict[str, RunLock] = {}
_REGISTRY_LOCK = threading.Lock()


def _key(path: Path) -> str:
    return os.path.realpath(path)


def _refusal(path: Path, holder: Holder | None) -> RunLocked:
    if holder is None:
        return RunLocked(f"{path.name} is being written by another process (its lock file "
                         f"{lock_path(path).name} names no holder yet): wait for it to end")
    return RunLocked(f"{path.name} is being written by {holder.describe()}: one writer per "
                     "run file; wait for that run to end or stop it", holder)


def _foreign(path: Path, holder: Holder) -> RunLocked:
    return RunLocked(f"{path.name} is locked by {holder.describe()}: a lock of another "
                     f"computer is never broken here; if that run has ended, delete "
                     f"{lock_path(path)}", holder)


def run_lock(path: str | os.PathLike, command: str = "") -> RunLock:
    """Take the run lock of ``path`` (re-entrant within one thread) → :class:`RunLock`.

    Raises :class:`RunLocked` (one line naming the holder) when another process or thread
    holds it or the lock file names another host, :class:`StoreError` when the lock file
    cannot be written (disk full, read-only folder).
    """
    path = Path(path)
    me = (os.getpid(), threading.get_ident())
    with _REGISTRY_LOCK:
        held = _REGISTRY.get(_key(path))
        if held is not None and held._fd is not None:
            if held._owner == me:
                held._count += 1
                return held
            if held._owner[0] == os.getpid():
                raise _refusal(path, held.holder)
    lp = lock_path(path)
    for _ in range(5):
        try:
            fd = os.open(lp, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreError(exc.errno or errno.EIO, f"cannot create the lock file {lp}: "
                             f"{exc.strerror or exc}") from None
        locked = False
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise _refusal(path, _wait_for_holder(lp)) from None
            locked = True
            try:
                same = os.fstat(fd).st_ino == os.stat(lp).st_ino
            except FileNotFoundError:
                same = False
            if not same:             # released and deleted under us: take the new file
                os.close(fd)
                continue
            previous = _parse_holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            if previous is not None and previous.host != _host():
                raise _foreign(path, previous)
            if previous is not None and fcntl is None and previous.alive():
                raise _refusal(path, previous)
            holder = Holder(_host(), os.getpid(), _now(), command)
            data = json.dumps(holder.__dict__).encode() + b"\n"
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, data, 0)
                os.fsync(fd)
            except OSError as exc:
                raise StoreError(exc.errno or errno.EIO, f"cannot write the lock file {lp}: "
                                 f"{exc.strerror or exc}") from None
        except BaseException:
            with contextlib.suppress(OSError):   # an empty lock file of ours: not left behind
                if locked and os.fstat(fd).st_size == 0:
                    os.unlink(lp)
            os.close(fd)
            raise
        lock = RunLock(path, fd, holder, previous)
        with _REGISTRY_LOCK:
            _REGISTRY[_key(path)] = lock
        return lock
    raise _refusal(path, _read_holder(lp))


def _wait_for_holder(lp: Path) -> Holder | None:
    deadline = time.monotonic() + _HOLDER_WAIT_S
    while True:
        holder = _read_holder(lp)
        if holder is not None or time.monotonic() > deadline:
            return holder
        time.sleep(0.02)


def _now() -> str:
    t = _dt.datetime.now(_dt.timezone.utc)
    return t.isoformat(timespec="seconds").replace("+00:00", "Z")
