"""Keithley 7001 (or 7002) switch system with a matrix card (7012: 4 rows × 10 columns).

Reference: Keithley, *Model 7001 Switch System Instruction Manual* (7001-901-01), section 4,
ROUTe subsystem: ``[:ROUTe]:CLOSe <list>``, ``[:ROUTe]:OPEN <list>|ALL``,
``[:ROUTe]:CLOSe:STATe?`` (the closed channels as a list) and ``[:ROUTe]:CLOSe? <list>``
(1/0 per listed channel); channel ``slot!row!column`` of a matrix card. Page numbers not
verified (docs/instrument-fidelity.md, "Keithley 7001").
"""
from __future__ import annotations

import re

from pymeasure.instruments import Instrument, SCPIMixin

__all__ = ["Keithley7001", "parse_channel_list", "format_channel_list"]

_ENTRY = re.compile(r"(\d+)!(\d+)!(\d+)")


def parse_channel_list(reply) -> list[tuple[int, int, int]]:
    """``(@1!1!3,1!2!4)`` (or the pieces PyMeasure split it into) → [(slot, row, col), …]."""
    text = ",".join(str(r) for r in reply) if isinstance(reply, (list, tuple)) else str(reply)
    text = text.strip()
    if not (text.startswith("(@") and text.endswith(")")):
        raise ValueError(f"7001: not a channel list: {text[:40]!r}")
    return [tuple(int(g) for g in m.groups()) for m in _ENTRY.finditer(text)]


def format_channel_list(channels) -> str:
    """[(slot, row, col), …] → ``(@slot!row!col,…)``."""
    return "(@" + ",".join(f"{s:d}!{r:d}!{c:d}" for s, r, c in channels) + ")"


class Keithley7001(SCPIMixin, Instrument):
    """Keithley 7001 with a matrix card in ``slot``: crosspoints are (row, column)."""

    def __init__(self, adapter, name="Keithley 7001 Switch System", *, slot: int = 1, **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("timeout", 5000)
        super().__init__(adapter, name, **kwargs)
        self.slot = int(slot)

    closed_channels = Instrument.measurement(
        ":CLOS:STAT?",
        """Get the closed channels, [(slot, row, col), …] (``[:ROUTe]:CLOSe:STATe?``).""",
        separator=";", cast=str, get_process=parse_channel_list,
    )

    def close_channels(self, channels) -> None:
        """Close ``channels`` [(slot, row, col), …]; the others keep their state."""
        self.write(f":CLOS {format_channel_list(channels)}")

    def open_channels(self, channels) -> None:
        self.write(f":OPEN {format_channel_list(channels)}")

    def open_all(self) -> None:
        """Open every relay of the mainframe (``:OPEN ALL``)."""
        self.write(":OPEN ALL")

    def channel_states(self, channels) -> list[bool]:
        """True (closed) / False per channel of ``channels`` (``[:ROUTe]:CLOSe? <list>``)."""
        reply = self.ask(f":CLOS? {format_channel_list(channels)}")
        return [int(float(v)) == 1 for v in reply.strip().split(",") if v.strip()]

    # -- the crosspoint interface of instruments.switch.MatrixSwitch --------------------
    def close_crosspoint(self, row: int, col: int) -> None:
        self.close_channels([(self.slot, row, col)])

    def open_crosspoint(self, row: int, col: int) -> None:
        self.open_channels([(self.slot, row, col)])

    def closed_crosspoints(self) -> list[tuple[int, int]]:
        return sorted((r, c) for s, r, c in self.closed_channels if s == self.slot)
