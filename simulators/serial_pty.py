"""Serve a byte-stream instrument handler on a pseudo-terminal pair.

A :class:`PtyServer` opens ``os.openpty()``, puts the slave side in raw mode
(no echo, no CR/LF translation) and runs one background thread that moves
bytes between the master side and a *handler*. Clients open the slave device
(:attr:`PtyServer.path`, e.g. ``/dev/pts/7``) exactly as they would open a
USB-serial adapter: ``serial.Serial(path, 115200, rtscts=True)`` or pyvisa-py
``ASRL/dev/pts/7::INSTR``. Baud rate, parity and RTS/CTS settings are accepted
and ignored by the pty driver: a pty is a perfect, infinitely fast line.

Handler protocol
----------------
``handler.feed(data: bytes, write: Callable[[bytes], None])``
    Called with every chunk read from the line. The handler answers through
    ``write`` (same thread; bytes are queued and sent in order).
``handler.poll(write)`` *(optional)*
    Called on every turn of the serving loop, so the handler can send replies
    that fall due later (a measurement that completes on the simulated clock,
    a reply held back by a ``delay`` fault).
``handler.next_event_s()`` *(optional)*
    Wall-clock seconds until the handler next needs ``poll`` (``None``: no
    pending event). The loop sleeps no longer than that (and never longer
    than 50 ms, so a change of the clock's time scale is honoured promptly).
``handler.connection_reset()`` *(optional)*
    Called when the server hangs up or restarts, to drop half-received input.

A handler that raises :class:`HangUp` from ``feed`` or ``poll`` drops the
connection (the ``drop`` fault).

Dropped connection and recovery
-------------------------------
:meth:`PtyServer.hang_up` (or a :class:`HangUp` raised by the handler) closes
both ends the server holds and stops the thread. A client still holding the
slave open sees the line die: reads return nothing or fail with an I/O error
(pyserial raises ``SerialException``; pyvisa-py reports an error or times
out), writes fail with ``EIO``. This is what unplugging a USB-serial meter
looks like. Recovery is "re-plug, re-open": :meth:`PtyServer.restart` (or,
with ``restart_after_s``, the server itself after that delay) opens a *new*
pty pair with a new device path and serves the same handler (its instrument
state survives, as a real meter's does across a cable fault). Give
``link=...`` to publish a stable path: the server keeps a symlink pointing at
the current slave, removes it while the line is down and re-creates it
atomically on restart, so a client simply re-opens the same path.
"""
from __future__ import annotations

import errno
import os
import select
import termios
import threading
import tty
from pathlib import Path
from typing import Any

__all__ = ["HangUp", "PtyServer"]

#: Longest the loop sleeps between handler polls [wall s].
_MAX_SLEEP_S = 0.05
_READ_CHUNK = 4096


class HangUp(Exception):
    """Raised by a handler to drop the connection (close the line)."""


class PtyServer:
    """Serve one byte-stream handler on a pseudo-terminal.

    Parameters
    ----------
    handler : object
        Has ``feed(data, write)``; optionally ``poll(write)``,
        ``next_event_s()`` and ``connection_reset()`` (module docstring).
    name : str
        Label used in the thread name and ``repr`` (e.g. ``"cs2000"``).
    link : str or path-like, optional
        Where to keep a symlink to the current slave device. Its directory
        must exist; the link is removed while the line is down and on :meth:`close`.
    restart_after_s : float, optional
        After the handler hangs up (a ``drop`` fault), serve a fresh pty this many
        wall-clock seconds later ("re-plugged"); with ``link`` a client re-opens the same
        path. None (default): stay down until :meth:`restart`.

    Examples
    --------
    >>> with PtyServer(handler, name="cs2000") as server:  # doctest: +SKIP
    ...     port = serial.Serial(server.path, 115200, rtscts=True, timeout=1)
    """

    def __init__(self, handler: Any, name: str = "cs2000", link: str | os.PathLike | None = None,
                 restart_after_s: float | None = None):
        if not callable(getattr(handler, "feed", None)):
            raise ValueError("handler must have a feed(data, write) method")
        if restart_after_s is not None and not 0 <= restart_after_s <= 60:
            raise ValueError(f"restart_after_s = {restart_after_s!r} is out of range: "
                             "allowed 0 … 60 s or None")
        self.handler = handler
        self.name = str(name)
        self.link = Path(link) if link is not None else None
        self.restart_after_s = restart_after_s
        self.restarts = 0          # automatic restarts after a handler hang-up
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._master = -1
        self._slave = -1
        self._wake_r = -1
        self._wake_w = -1
        self._device = ""
        self._out = bytearray()
        self._stop = False
        self._hung_up = False
        self._closed = False

    # -- public API ---------------------------------------------------------
    @property
    def path(self) -> str:
        """Path clients open: the symlink if ``link`` was given, else the slave device."""
        if not self._device:
            raise RuntimeError(f"PtyServer {self.name!r} is not started")
        return str(self.link) if self.link is not None else self._device

    @property
    def device(self) -> str:
        """The current slave device (``/dev/pts/N``); changes on :meth:`restart`."""
        return self._device

    @property
    def hung_up(self) -> bool:
        """True after a dropped connection until :meth:`restart`."""
        return self._hung_up

    @property
    def running(self) -> bool:
        """True while the line is being served (started, not hung up, not closed)."""
        return (self._thread is not None and self._thread.is_alive()
                and not self._hung_up and not self._closed)

    def start(self) -> "PtyServer":
        """Open the pty pair and start serving; returns ``self``."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"PtyServer {self.name!r} is closed; create a new one")
            if self._thread is not None:
                raise RuntimeError(f"PtyServer {self.name!r} is already started")
            self._stop = False
            self._stop_event.clear()
            self._open_pair()
            self._spawn()
        return self

    def restart(self) -> "PtyServer":
        """After a hang-up: open a fresh pty (new device path) and serve again.

        With ``link`` set, the symlink is re-pointed so clients re-open the
        same path. Calling it on a live server hangs up first.
        """
        self.hang_up()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"PtyServer {self.name!r} is closed; create a new one")
            self._reset_handler()
            self._stop = False
            self._stop_event.clear()
            self._open_pair()
            self._spawn()
        return self

    def hang_up(self) -> None:
        """Drop the connection now: stop serving and close the line."""
        self._stop_thread()
        with self._lock:
            if self._master >= 0:
                self._hung_up = True
            self._close_pair()
            self._unlink()

    def close(self) -> None:
        """Stop serving and release every fd and the symlink (idempotent)."""
        self._stop_thread()
        with self._lock:
            self._close_pair()
            self._closed = True
            self._unlink()

    def _unlink(self) -> None:
        # A link left pointing at a closed /dev/pts/N could lead a client to whatever pty
        # the kernel numbers N next.
        if self.link is not None:
            try:
                if self.link.is_symlink():
                    self.link.unlink()
            except OSError:
                pass

    def __enter__(self) -> "PtyServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("hung up" if self._hung_up else
                                               ("serving" if self.running else "idle"))
        return f"PtyServer({self.name!r}, {self._device or '-'}, {state})"

    # -- internals ----------------------------------------------------------
    def _open_pair(self) -> None:
        master, slave = os.openpty()
        try:
            tty.setraw(slave, termios.TCSANOW)
            attrs = termios.tcgetattr(slave)
            attrs[3] &= ~termios.ECHO  # lflag: raw already clears it; be explicit
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            os.set_blocking(master, False)
            wake_r, wake_w = os.pipe()
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        self._master, self._slave = master, slave
        self._wake_r, self._wake_w = wake_r, wake_w
        # The server keeps its own slave fd open so the master never sees EIO
        # when a client closes; clients come and go like on a real port.
        self._device = os.ttyname(slave)
        self._out.clear()
        self._hung_up = False
        if self.link is not None:
            tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            os.symlink(self._device, tmp)
            os.replace(tmp, self.link)

    def _spawn(self) -> None:
        self._thread = threading.Thread(target=self._serve, name=f"pty-{self.name}", daemon=True)
        self._thread.start()

    def _close_pair(self) -> None:
        for attr in ("_master", "_slave", "_wake_r", "_wake_w"):
            fd = getattr(self, attr)
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, attr, -1)
        self._out.clear()

    def _stop_thread(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stop = True
        self._stop_event.set()
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
        if thread is not threading.current_thread():
            thread.join(timeout=5.0)
            if thread.is_alive():  # pragma: no cover - would be a bug in _serve
                raise RuntimeError(f"PtyServer {self.name!r}: serving thread did not stop")
        self._thread = None

    def _reset_handler(self) -> None:
        reset = getattr(self.handler, "connection_reset", None)
        if callable(reset):
            reset()

    def _write(self, data: bytes) -> None:
        # Only the serving thread calls this (through feed/poll): no lock needed,
        # but bytes() guards against a handler passing a mutable buffer.
        self._out += bytes(data)

    def _sleep_s(self) -> float:
        nxt = getattr(self.handler, "next_event_s", None)
        wait = _MAX_SLEEP_S
        if callable(nxt):
            t = nxt()
            if t is not None:
                wait = min(wait, max(0.0, float(t)))
        return wait

    def _serve(self) -> None:
        while True:
            if not self._serve_line():
                return
            # The handler hung up: optionally come back on a fresh pty, like a meter
            # whose USB cable is plugged in again.
            if self.restart_after_s is None or self._stop_event.wait(self.restart_after_s):
                return
            with self._lock:
                if self._stop or self._closed:
                    return
                self._open_pair()
                self.restarts += 1

    def _serve_line(self) -> bool:
        """Serve the current pty until stopped (False) or the handler hangs up (True)."""
        master, wake_r = self._master, self._wake_r
        poll = getattr(self.handler, "poll", None)
        try:
            while not self._stop:
                wlist = [master] if self._out else []
                try:
                    readable, writable, _ = select.select([master, wake_r], wlist, [], self._sleep_s())
                except (OSError, ValueError):
                    return False
                if self._stop:
                    return False
                if wake_r in readable:
                    try:
                        os.read(wake_r, 64)
                    except OSError:
                        pass
                if master in readable:
                    try:
                        data = os.read(master, _READ_CHUNK)
                    except BlockingIOError:
                        data = b""
                    except OSError as exc:
                        if exc.errno == errno.EIO:
                            data = b""
                        else:
                            raise
                    if data:
                        self.handler.feed(data, self._write)
                if callable(poll):
                    poll(self._write)
                if self._out:
                    try:
                        n = os.write(master, self._out)
                        del self._out[:n]
                    except BlockingIOError:
                        pass  # the client is not reading; keep the bytes
        except HangUp:
            self._hang_up_from_thread()
            return True
        return False

    def _hang_up_from_thread(self) -> None:
        # Reset the handler first: once the fds close, the client may already act.
        self._reset_handler()
        with self._lock:
            self._hung_up = True
            self._close_pair()
            self._unlink()
