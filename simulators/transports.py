"""Loopback TCP transport for the SCPI simulators (``TCPIP::127.0.0.1::<port>::SOCKET``).

One :class:`TcpServer` serves one instrument: a listening socket bound to
127.0.0.1 on an ephemeral port, one thread that accepts clients one after the
other (a reconnect after a dropped connection works), messages terminated by LF
(CR LF accepted), replies terminated by LF. ``TCP_NODELAY`` is set on every
connection so a reply leaves as soon as it is written.

Faults from the instrument's :class:`~simulators.faults.FaultPlan` are applied here,
once per received message: ``drop`` closes the connection without a reply,
``delay`` holds the reply, ``garble`` corrupts it, ``error`` queues an error.
"""
from __future__ import annotations

import selectors
import socket
import threading

from .faults import garble

__all__ = ["TcpServer"]

_MAX_LINE = 1 << 20  # a message longer than 1 MiB without LF is a runaway client


class TcpServer:
    """Serve one SCPI instrument on loopback TCP.

    Parameters
    ----------
    instrument : SCPIInstrument
        Anything with ``handle(message) -> reply | None``, ``push_error(code, msg)``,
        and optionally ``faults`` (FaultPlan) and ``clock``.
    name : str
        Used in thread names and ``repr``.
    port : int
        0 = ephemeral (default).

    Use as a context manager or call :meth:`start` / :meth:`close`.
    """

    def __init__(self, instrument, name: str = "scpi", port: int = 0):
        self.instrument = instrument
        self.name = name
        self._requested_port = port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = None, None
        self._conn: socket.socket | None = None   # the client being served
        self._conn_lock = threading.Lock()
        self.connections = 0   # clients accepted so far

    # -- life cycle --------------------------------------------------------------
    def start(self) -> "TcpServer":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._requested_port))
        sock.listen(4)
        sock.setblocking(False)
        self._sock = sock
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name=f"sim-tcp-{self.name}", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    @property
    def resource(self) -> str:
        """VISA resource string of this server."""
        return f"TCPIP::127.0.0.1::{self.port}::SOCKET"

    def close(self) -> None:
        """Stop serving, close every socket and join the thread."""
        if self._thread is None:
            return
        self._stop.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        with self._conn_lock:
            if self._conn is not None:
                try:   # wakes the session's blocking recv
                    self._conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._thread.join(timeout=10)
        self._thread = None
        for s in (self._sock, self._wake_r, self._wake_w):
            if s is not None:
                s.close()
        self._sock = self._wake_r = self._wake_w = None

    def __enter__(self) -> "TcpServer":
        return self.start() if self._thread is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.resource if self._sock else "closed"
        return f"TcpServer({self.name!r}, {where})"

    # -- serving -------------------------------------------------------------------
    def _serve(self) -> None:
        # One selector for the life of the server: it only waits for the next client.
        with selectors.DefaultSelector() as sel:
            sel.register(self._sock, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while not self._stop.is_set():
                ready = {key.fileobj for key, _ in sel.select()}
                if self._wake_r in ready or self._stop.is_set():
                    return
                try:
                    conn, _ = self._sock.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    return
                with self._conn_lock:
                    if self._stop.is_set():
                        conn.close()
                        return
                    self._conn = conn
                self.connections += 1
                try:
                    with conn:
                        conn.setblocking(True)
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        self._session(conn)
                finally:
                    with self._conn_lock:
                        self._conn = None

    def _session(self, conn: socket.socket) -> None:
        """Serve one client until it disconnects, a drop fault fires, or we stop.

        The session blocks in ``recv`` (one system call per message, no selector): :meth:`close`
        wakes it by shutting the connection down, which makes ``recv`` return ``b""``.
        """
        buf = b""
        instrument = self.instrument
        handle = instrument.handle
        faults = getattr(instrument, "faults", None)
        clock = getattr(instrument, "clock", None)
        recv, sendall = conn.recv, conn.sendall
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                try:
                    chunk = recv(65536)
                except OSError:
                    return
                if not chunk or self._stop.is_set():
                    return
                buf += chunk
                if len(buf) > _MAX_LINE and b"\n" not in buf:
                    instrument.push_error(-102, "Syntax error; message too long")
                    buf = b""
                continue
            line, buf = buf[:nl], buf[nl + 1:]
            message = line.rstrip(b"\r").decode("ascii", errors="replace")
            actions = None
            if faults is not None:
                if faults.faults:
                    actions = faults.on_command(clock.time() if clock is not None else 0.0)
                    for code, text in actions.errors:
                        instrument.push_error(code, text)
                    if actions.drop:
                        try:
                            conn.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                        return
                else:
                    faults.on_command(0.0)   # counts the command, nothing else
            reply = handle(message)
            if reply is None:
                continue
            data = reply.encode("ascii", errors="replace") + b"\n"
            if actions:
                if actions.garble:
                    data = garble(data)
                if actions.delay_s > 0:
                    # Wake early if the server is closing.
                    if self._stop.wait(actions.delay_s):
                        return
            try:
                sendall(data)
            except OSError:
                return
