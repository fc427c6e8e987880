"""The qled relay switchbox on a serial line (protocol: docs/relay-box-protocol.md, ours).

One ASCII command per line, LF terminated; one reply line each, ``OK`` or
``ERR <code> <text>``; ``CONN?`` reads back every bus as ``<bus>=<pixel>`` (0: open).
"""
from __future__ import annotations

from pymeasure.instruments import Instrument

from .roles import InstrumentError

__all__ = ["RelayBox", "parse_connections"]


def parse_connections(reply) -> dict[int, int]:
    """``1=3,2=0`` (or PyMeasure's pieces of it) → {bus: pixel} of the closed buses."""
    parts = reply if isinstance(reply, (list, tuple)) else str(reply).split(",")
    out = {}
    for part in parts:
        bus, sep, pixel = str(part).strip().partition("=")
        if not sep or not bus.isdigit() or not pixel.isdigit():
            raise InstrumentError(f"relay box: bad CONN? reply {str(reply)[:60]!r}")
        if int(pixel):
            out[int(bus)] = int(pixel)
    return out


class RelayBox(Instrument):
    """The relay box: crosspoints are (bus, pixel), as its firmware numbers them."""

    def __init__(self, adapter, name="qled relay box", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("timeout", 2000)
        super().__init__(adapter, name, includeSCPI=False, **kwargs)

    id = Instrument.measurement("*IDN?", """Get the identification (``QLED,RELAYBOX,BxP,1.0``).""",
                                separator=";", cast=str)

    connections = Instrument.measurement(
        "CONN?", """Get {bus: pixel} of every closed bus (``CONN?``).""",
        cast=str, get_process=parse_connections,
    )

    def command(self, text: str) -> None:
        """Send one command; anything but ``OK`` raises InstrumentError with the reply."""
        reply = self.ask(text).strip()
        if reply != "OK":
            raise InstrumentError(f"relay box: {text} → {reply}")

    def open_all(self) -> None:
        self.command("OPEN ALL")

    def close_crosspoint(self, row: int, col: int) -> None:
        self.command(f"CONN {row:d} {col:d}")

    def open_crosspoint(self, row: int, col: int) -> None:
        self.command(f"OPEN {row:d} {col:d}")

    def closed_crosspoints(self) -> list[tuple[int, int]]:
        c = self.connections
        return sorted((c.items() if isinstance(c, dict) else parse_connections(c).items()))
