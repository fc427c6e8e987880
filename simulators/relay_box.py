"""The qled relay switchbox: a bus × pixel relay matrix behind a small line protocol, on a pty.

The protocol is ours (docs/relay-box-protocol.md), in the shape open relay-box firmware on an
Arduino uses: one ASCII command per line, LF terminated (CR LF accepted), one reply line per
command, ``OK`` or ``ERR <code> <text>``. There is no vendor manual to be faithful to: the
protocol document *is* the authority, and this module implements it exactly.

======================  ==========================================================
``*IDN?``               ``QLED,RELAYBOX,<buses>x<pixels>,1.0``
``*RST``                every relay open → ``OK``
``CONN <bus> <pixel>``  close one crosspoint → ``OK``; ``ERR 3 BUSY …`` if that bus or
                        that pixel already has a closed relay (the firmware never makes
                        a second connection)
``OPEN <bus> <pixel>``  open one crosspoint → ``OK``
``OPEN ALL``            open every relay → ``OK``
``CONN?``               ``<bus>=<pixel>`` for every bus, comma separated, 0 = open,
                        e.g. ``1=3,2=0``
======================  ==========================================================

Errors: ``ERR 1 UNKNOWN COMMAND``, ``ERR 2 OUT OF RANGE`` (bus 1 … buses, pixel
1 … pixels, integers), ``ERR 3 BUSY``. Power-on state: every relay open.
"""
from __future__ import annotations

from typing import Callable

from .serial_pty import HangUp
from .switch_matrix import CrosspointMatrix

__all__ = ["RelayBox"]


class RelayBox:
    """PtyServer handler of the relay box; its relays are ``matrix``."""

    role = "switch"
    MAX_LINE = 256

    def __init__(self, matrix: CrosspointMatrix, clock=None, faults=None):
        self.matrix = matrix
        self.clock = clock
        self.faults = faults
        self._buf = bytearray()
        self.commands_received = 0

    # -- PtyServer handler protocol -------------------------------------------------
    def feed(self, data: bytes, write: Callable[[bytes], None]) -> None:
        self._buf += data
        while b"\n" in self._buf:
            line, _, rest = bytes(self._buf).partition(b"\n")
            self._buf = bytearray(rest)
            self.commands_received += 1
            if self.faults is not None and self.clock is not None:
                actions = self.faults.on_command(self.clock.time())
                if actions is not None and actions.drop:
                    raise HangUp(f"relay box: drop fault at command {self.commands_received}")
            reply = self.handle(line.decode("ascii", "replace").strip())
            write(reply.encode("ascii") + b"\n")
        if len(self._buf) > self.MAX_LINE:     # a runaway line: discard it, say so
            self._buf.clear()
            write(b"ERR 1 LINE TOO LONG\n")

    def connection_reset(self) -> None:
        self._buf.clear()

    # -- commands ---------------------------------------------------------------------
    def handle(self, line: str) -> str:
        words = line.upper().split()
        if not words:
            return "ERR 1 UNKNOWN COMMAND"
        head, args = words[0], words[1:]
        m = self.matrix
        if head == "*IDN?" and not args:
            return f"QLED,RELAYBOX,{m.buses}x{m.pixels},1.0"
        if head == "*RST" and not args:
            m.open_all()
            return "OK"
        if head == "CONN?" and not args:
            return ",".join(f"{b}={m.pixel_on(b) or 0}" for b in range(1, m.buses + 1))
        if head == "OPEN" and args == ["ALL"]:
            m.open_all()
            return "OK"
        if head in ("CONN", "OPEN") and len(args) == 2:
            try:
                bus, pixel = int(args[0]), int(args[1])
                m.check(bus, pixel)
            except ValueError:
                return f"ERR 2 OUT OF RANGE bus 1-{m.buses} pixel 1-{m.pixels}"
            if head == "OPEN":
                m.open(bus, pixel)
                return "OK"
            if m.is_closed(bus, pixel):
                return "OK"
            held = m.pixel_on(bus)
            if held is not None:
                return f"ERR 3 BUSY bus {bus} holds pixel {held}"
            for b in range(1, m.buses + 1):
                if m.is_closed(b, pixel):
                    return f"ERR 3 BUSY pixel {pixel} is on bus {b}"
            m.close(bus, pixel)
            return "OK"
        return "ERR 1 UNKNOWN COMMAND"
