"""One process per instrument: a lock per resource string, held while a station has it open.

Two runs driving the same source-measure unit would interleave their commands and each
believe it sets the current. :func:`hold_resource` takes ``flock`` on a lock file named after
the (normalised) resource string in the user's lock folder — ``$QLED_LOCK_DIR``, else the
runtime folder (``$XDG_RUNTIME_DIR/qled-bench/locks``, emptied at boot), else the state
folder (platformdirs) — and writes the holder into it (resource, role, host, pid, since,
command). A second process is refused with one line naming the holder
(:class:`ResourceBusy`); a lock file left by a dead process is free for ``flock`` and is
taken over (:attr:`ResourceLock.stale` names the previous holder). The station releases
every lock when it closes (:meth:`instruments.station.Station.close`).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import socket
import sys
import warnings
import zlib
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: instruments are not coordinated
    fcntl = None

__all__ = ["ResourceBusy", "ResourceLock", "hold_resource", "lock_dir", "normalise_resource"]


class ResourceBusy(ValueError):
    """Another process drives this instrument (a user error: nothing was sourced)."""


def lock_dir() -> Path:
    """The folder of the resource locks (see the module docstring)."""
    env = os.environ.get("QLED_LOCK_DIR")
    if env:
        return Path(env)
    import platformdirs

    if sys.platform.startswith("linux") and not os.environ.get("XDG_RUNTIME_DIR"):
        return Path(platformdirs.user_state_dir("qled-bench")) / "locks"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir("qled-bench")) / "locks"


def normalise_resource(resource: str) -> str:
    """One spelling per instrument: ``tcpip::10.0.0.7::5025::socket`` and
    ``TCPIP0::10.0.0.7::5025::SOCKET`` are the same; a device path is resolved."""
    text = str(resource).strip()
    if text.startswith("/"):
        return os.path.realpath(text)
    parts = text.upper().split("::")
    m = re.fullmatch(r"(TCPIP|GPIB|ASRL|USB|VXI)(\d*)", parts[0])
    if m and not m.group(2):
        parts[0] += "0"
    return "::".join(parts)


def _command() -> str:
    argv = [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:3]]
    return " ".join(a for a in argv if not a.startswith("-"))


class ResourceLock:
    """A held resource lock; :meth:`release` frees it (idempotent)."""

    def __init__(self, resource: str, path: Path, fd: int, stale: dict | None):
        self.resource, self.path, self.stale = resource, path, stale
        self._fd = fd

    def stale_note(self) -> str:
        if not self.stale:
            return ""
        return (f"resource {self.resource}: took over the lock left by pid "
                f"{self.stale.get('pid')} (since {self.stale.get('since')}), which ended "
                "without releasing it")

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                os.unlink(self.path)
        os.close(fd)


def _describe(holder: dict) -> str:
    what = ", ".join(x for x in (holder.get("role"), holder.get("command")) if x)
    return (f"pid {holder.get('pid')} on host {holder.get('host')} since "
            f"{holder.get('since')}" + (f" ({what})" if what else ""))


def hold_resource(resource: str, role: str = "") -> ResourceLock:
    """Lock ``resource`` for this process → :class:`ResourceLock`; :class:`ResourceBusy`
    (one line naming the holder) if another process holds it."""
    norm = normalise_resource(resource)
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", norm).strip("_")[:80]
    path = folder / f"{safe}-{zlib.crc32(norm.encode()):08x}.lock"
    for _ in range(5):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = _read(path)
                    raise ResourceBusy(
                        f"resource {resource} ({role or 'instrument'}) is in use by "
                        + (_describe(holder) if holder else "another process")
                        + ": two processes cannot drive one instrument; wait for that run "
                        "to end or stop it") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            previous = _read(path)
            me = {"resource": norm, "role": role, "host": socket.gethostname(),
                  "pid": os.getpid(), "since": _now(), "command": _command()}
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(me).encode() + b"\n", 0)
            except OSError:                    # e.g. a full disk: never leave an empty lock
                with contextlib.suppress(OSError):
                    os.unlink(path)
                raise
        except BaseException:
            os.close(fd)
            raise
        return ResourceLock(norm, path, fd, previous)
    raise ResourceBusy(f"resource {resource} ({role or 'instrument'}): its lock file {path} "
                       "keeps changing: another process is taking it")


def _read(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
