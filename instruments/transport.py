"""Opening connections: VISA resource strings and serial ports, with TCP_NODELAY.

pyvisa-py sends a command and the following query as two TCP segments; with Nagle's algorithm
on the client and delayed ACK on the instrument each write+query pair stalls ~40 ms
(../shared/reference/instruments.md). pyvisa-py 0.8 does not implement
``VI_ATTR_TCPIP_NODELAY`` (setting it raises ``UnknownAttribute``), so
:func:`enable_tcp_nodelay` sets the option on the socket the session holds
(``visalib.sessions[session].interface``, see ``pyvisa_py/tcpip.py::TCPIPSocketSession``).
"""

from __future__ import annotations

import re
import socket
import time
from typing import Any, Optional

import pyvisa
import pyvisa.resources
import pyvisa.rname
from pymeasure.adapters import SerialAdapter, VISAAdapter
from pyvisa.constants import StatusCode
from pyvisa.errors import VisaIOError

#: Errors that mean "the link to the instrument is broken or silent" (resilience retries these).
import serial

TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    pyvisa.errors.VisaIOError, ConnectionError, OSError, serial.SerialException, EOFError,
)

_SERIAL_PATH = re.compile(r"^(/\S+|COM\d+)$")


class GarbledReplyError(OSError):
    """A reply arrived but could not be parsed (line noise, framing error, half a message)."""


def is_serial_path(resource: str) -> bool:
    """True for a bare serial device path (``/dev/ttyUSB0``, ``/dev/pts/7``, ``COM3``) or an
    absolute path to one (a stable symlink such as ``/run/qled/cs2000``)."""
    return bool(_SERIAL_PATH.match(resource))


def check_resource(resource: str, *, parameter: str = "resource") -> str:
    """Validate a resource string without connecting; return its interface kind.

    Returns ``"tcpip"``, ``"serial"``, ``"gpib"``, ``"usb"`` … as named by pyvisa.

    Raises
    ------
    ValueError
        One line naming the parameter and the accepted forms.
    """
    if not isinstance(resource, str) or not resource.strip():
        raise ValueError(f"{parameter} = {resource!r} is not a resource string: expected a VISA "
                         "resource (e.g. 'GPIB0::24::INSTR', 'TCPIP::10.0.0.5::5025::SOCKET') "
                         "or a serial path ('/dev/ttyUSB0', 'COM3')")
    if is_serial_path(resource):
        return "serial"
    try:
        parsed = pyvisa.rname.parse_resource_name(resource)
    except pyvisa.rname.InvalidResourceName as exc:
        reason = str(exc).splitlines()[0]
        raise ValueError(f"{parameter} = {resource!r} is not a valid resource string ({reason}): "
                         "expected e.g. 'GPIB0::24::INSTR', 'TCPIP::10.0.0.5::5025::SOCKET', "
                         "'ASRL/dev/ttyUSB0::INSTR' or '/dev/ttyUSB0'") from None
    kind = parsed.interface_type_const.name
    # pyvisa's parser accepts any text in numeric fields; check the ones that must be numbers.
    address = getattr(parsed, "primary_address", None)
    if kind == "gpib" and address is not None and not (address.isdigit() and int(address) <= 30):
        raise ValueError(f"{parameter} = {resource!r} has GPIB primary address {address!r}: "
                         "allowed 0 … 30")
    port = getattr(parsed, "port", None)
    if kind == "tcpip" and port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{parameter} = {resource!r} has TCP port {port!r}: allowed 1 … 65535")
    return "serial" if kind == "asrl" else kind


def open_adapter(resource: str, *, timeout_ms: int = 5000, read_termination: str = "\n",
                 write_termination: str = "\n", baud_rate: Optional[int] = None,
                 rtscts: bool = False, nodelay: bool = True):
    """Open a PyMeasure adapter for ``resource`` (VISA string or bare serial path).

    VISA resources go through pyvisa-py (``@py``); TCP sockets get TCP_NODELAY (see module
    docstring). Bare serial paths go through pyserial with 8N1 framing.
    """
    kind = check_resource(resource)
    if is_serial_path(resource):
        kwargs: dict[str, Any] = dict(baudrate=baud_rate or 9600, bytesize=8, parity="N",
                                      stopbits=1, timeout=timeout_ms / 1000.0, rtscts=rtscts)
        return SerialAdapter(resource, write_termination=write_termination,
                             read_termination=read_termination, **kwargs)
    kwargs = dict(timeout=timeout_ms, read_termination=read_termination,
                  write_termination=write_termination)
    if kind == "serial":
        from pyvisa.constants import ControlFlow
        kwargs.update(baud_rate=baud_rate or 9600, data_bits=8,
                      flow_control=ControlFlow.rts_cts if rtscts else ControlFlow.none)
    adapter = VISAAdapter(resource, visa_library="@py", **kwargs)
    if nodelay and kind == "tcpip":
        enable_tcp_nodelay(adapter)
    return adapter


def session_socket(adapter) -> Optional[socket.socket]:
    """The TCP socket behind a pyvisa-py ``…::SOCKET`` session, or None."""
    connection = getattr(adapter, "connection", None)
    visalib = getattr(connection, "visalib", None)
    sessions = getattr(visalib, "sessions", None)
    if not sessions:
        return None
    session = sessions.get(getattr(connection, "session", None))
    sock = getattr(session, "interface", None)
    return sock if isinstance(sock, socket.socket) else None


def enable_tcp_nodelay(adapter) -> bool:
    """Set TCP_NODELAY on the adapter's socket; return True if it now is set."""
    sock = session_socket(adapter)
    if sock is None:
        return False
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def read_line(adapter, *, what: str) -> str:
    """Read one reply line (terminator removed); an empty read (timeout, hung-up line) raises.

    pyserial's ``read_until`` returns whatever arrived when its timeout expires instead of
    raising, so PyMeasure's ``SerialAdapter.read`` returns ``""`` for a silent instrument; this
    turns that into :class:`TimeoutError` so the resilience layer can act on it.

    On a pyserial port the line is read in chunks of what the driver holds (``in_waiting``):
    ``read_until`` asks for one byte per call, ~9 µs each, 8 ms for one 900-byte CS-2000
    spectral block. Bytes after the terminator wait in a per-adapter buffer for the next call.
    """
    connection = getattr(adapter, "connection", None)
    if isinstance(adapter, SerialAdapter) and isinstance(connection, serial.SerialBase) \
            and adapter.read_termination:
        raw = _serial_read_line(adapter, connection, adapter.read_termination.encode("ascii"))
        try:
            line = raw.decode("ascii")
        except UnicodeDecodeError:
            raise GarbledReplyError(f"{what}: non-ASCII reply") from None
    else:
        try:
            line = adapter.read()
        except UnicodeDecodeError:
            raise GarbledReplyError(f"{what}: non-ASCII reply") from None
    if not line.strip():
        raise TimeoutError(f"{what}: no reply before the timeout")
    return line.strip()


def _serial_read_line(adapter, connection, term: bytes) -> bytes:
    """One line from a pyserial port, or what arrived before the port's timeout (maybe b"")."""
    buffer = adapter.__dict__.setdefault("_qled_rx", bytearray())
    deadline = None
    while True:
        end = buffer.find(term)
        if end >= 0:
            line = bytes(buffer[:end])
            del buffer[:end + len(term)]
            return line
        timeout_s = connection.timeout        # seconds; read_timeout() may raise it
        if timeout_s is not None:
            now = time.monotonic()
            if deadline is None:
                deadline = now + timeout_s
            elif now >= deadline:
                break
        # Blocks (up to the port timeout) for the first byte only, then takes all there is.
        chunk = connection.read(max(1, connection.in_waiting))
        if not chunk:
            break
        buffer += chunk
    line = bytes(buffer)          # a partial line: the caller judges it
    buffer.clear()
    return line


class read_timeout:
    """Context manager: raise an adapter's read timeout to at least ``seconds``."""

    def __init__(self, adapter, seconds: float):
        self.connection = getattr(adapter, "connection", None)
        self.seconds = seconds
        self.saved = None

    def __enter__(self):
        conn = self.connection
        current = getattr(conn, "timeout", None)
        if isinstance(current, (int, float)):
            self.saved = current
            if hasattr(conn, "visalib"):            # pyvisa: milliseconds
                conn.timeout = max(current, self.seconds * 1000)
            else:                                   # pyserial: seconds
                conn.timeout = max(current, self.seconds)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            try:
                self.connection.timeout = self.saved
            except Exception:  # noqa: BLE001 - the link may be gone
                pass


def _fast_channel(adapter):
    """``(connection, session)`` of a pyvisa-py socket session behind ``adapter``, else None.

    Looked up once per adapter (a reconnect makes a new adapter); :func:`fast_query` checks
    on every call that the session still holds the same open socket.
    """
    cached = adapter.__dict__.get("_qled_fast_channel", False)
    if cached is not False:
        return cached
    connection = getattr(adapter, "connection", None)
    channel = None
    if isinstance(connection, pyvisa.resources.MessageBasedResource):
        sessions = getattr(connection.visalib, "sessions", None)
        session = sessions.get(connection.session) if isinstance(sessions, dict) else None
        if isinstance(getattr(session, "interface", None), socket.socket) \
                and isinstance(getattr(session, "_pending_buffer", None), bytearray):
            channel = (connection, session)
    adapter.__dict__["_qled_fast_channel"] = channel
    return channel


def fast_query(adapter, command: str) -> str:
    """One write + one read-until-terminator, straight on the pyvisa-py session's socket.

    The hot path of point loops: PyMeasure's adapter, pyvisa's message-based resource and
    pyvisa-py's per-call attribute look-ups and write-side ``select`` add ~0.3 ms of Python per
    exchange, as much as the exchange itself. This sends on the session's socket and reads into
    the session's own pending buffer (so bytes stay in order for ordinary adapter calls that
    follow), honouring the resource's timeout and terminators. Other resources (serial, GPIB,
    the test ``ProtocolAdapter``) fall back to ``write`` + ``read``.
    """
    channel = _fast_channel(adapter)
    sock = channel[1].interface if channel is not None else None
    if sock is None:                     # not a socket session, or closed since
        adapter.write(command)
        return adapter.read()
    connection, session = channel
    term = _ENCODED.get(connection.read_termination)
    if term is None:
        term = _ENCODED.setdefault(connection.read_termination,
                                   connection.read_termination.encode("ascii"))
    timeout_s = session.timeout          # seconds (pyvisa-py keeps it so), None = forever
    if sock.gettimeout() != timeout_s:
        # recv then waits in C (poll + recv) instead of a Python-level select per reply;
        # pyvisa-py's own reads and writes select before they touch the socket, so a
        # timeout on it changes nothing for them.
        sock.settimeout(timeout_s)
    sock.sendall((command + connection.write_termination).encode("ascii"))
    # pyvisa-py replaces the buffer object on its own reads: take the current one.
    buffer = session._pending_buffer
    deadline = None
    while term not in buffer:
        if deadline is not None:         # a reply in several segments: keep the total bound
            sock.settimeout(max(1e-6, deadline - time.monotonic()))
        elif timeout_s is not None:
            deadline = time.monotonic() + timeout_s
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise VisaIOError(StatusCode.error_timeout) from None
        if not chunk:
            raise ConnectionResetError(f"{connection.resource_name}: connection closed by peer")
        buffer += chunk
    end = buffer.index(term)
    reply = bytes(buffer[:end])
    del buffer[:end + len(term)]
    try:
        return reply.decode("ascii")
    except UnicodeDecodeError:
        raise GarbledReplyError(f"{connection.resource_name}: non-ASCII reply {reply[:60]!r}") \
            from None


#: Encoded read terminators (a handful of distinct strings).
_ENCODED: dict[str, bytes] = {}
