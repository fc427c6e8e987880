"""Keithley 7001 switch system with a 7012 4×10 matrix card, served over SCPI.

Reference: Keithley, *Model 7001 Switch System Instruction Manual* (7001-901-01), section 4
"IEEE-488 reference", ROUTe subsystem (``[:ROUTe]:CLOSe``, ``:CLOSe:STATe?``, ``:CLOSe?``,
``:OPEN``), and the *Model 7012 4×10 Matrix Card Instruction Manual*: channel
``slot!row!column`` (rows 1 … 4, columns 1 … 10). Page numbers were not verified (no copy of
the manual was available here; the command set and the ``1!row!col`` channel form agree with
the open drivers that drive a 7001, and the reply forms with the Keithley 2700/2750 ROUTe
chapter, which shares the query semantics) — see docs/instrument-fidelity.md.

Modelled:

- ``[:ROUTe]:CLOSe <list>`` closes the listed crosspoints (others stay as they are).
- ``[:ROUTe]:OPEN <list>|ALL`` opens the listed ones, or all.
- ``[:ROUTe]:CLOSe:STATe?`` → the closed channels as a list, ``(@1!1!3,1!2!4)``; none
  closed → ``(@)`` (guess: the empty-list form).
- ``[:ROUTe]:CLOSe? <list>`` → ``1`` (closed) or ``0`` per listed channel, comma separated.
- ``<list>`` = ``(@entry,entry,…)``, entry ``slot!row!col`` or a range
  ``slot!row!c1:slot!row!c2`` along one row (guess: the 7001 allows wider ranges).
- A channel that does not exist (slot other than the card's, row or column out of the
  card) → error -222 "Data out of range" and nothing of the command is done (guess: SCPI
  standard class; the 7001's own list of codes was not available). A malformed list → -104.
- ``*RST`` (and power-on): every relay open (SCPI ROUTe convention, confirmed for the
  E1465A-class matrices; guess for the 7001).
"""
from __future__ import annotations

import re

from .scpi import SCPIError, SCPIInstrument, scpi
from .switch_matrix import CrosspointMatrix

__all__ = ["Keithley7001", "parse_channel_list", "format_channel_list"]

_ENTRY = re.compile(r"^(\d+)!(\d+)!(\d+)$")


def parse_channel_list(text: str) -> list[tuple[int, int, int]]:
    """``(@1!1!1,1!2!3:1!2!5)`` → [(slot, row, col), …]; SCPIError -104 when malformed."""
    text = text.strip()
    if not (text.startswith("(@") and text.endswith(")")):
        raise SCPIError(-104, "Data type error; expected a channel list (@…)")
    body = text[2:-1].strip()
    out: list[tuple[int, int, int]] = []
    if not body:
        return out
    for item in body.split(","):
        first, _, last = item.strip().partition(":")
        m1 = _ENTRY.match(first.strip())
        if m1 is None:
            raise SCPIError(-104, f"Data type error; bad channel {first.strip()[:16]!r}")
        a = tuple(int(g) for g in m1.groups())
        if not last:
            out.append(a)
            continue
        m2 = _ENTRY.match(last.strip())
        if m2 is None:
            raise SCPIError(-104, f"Data type error; bad channel {last.strip()[:16]!r}")
        b = tuple(int(g) for g in m2.groups())
        if a[:2] != b[:2]:
            raise SCPIError(-222, "Data out of range; a range runs along one row")
        lo, hi = sorted((a[2], b[2]))
        out.extend((a[0], a[1], c) for c in range(lo, hi + 1))
    return out


def format_channel_list(channels) -> str:
    return "(@" + ",".join(f"{s}!{r}!{c}" for s, r, c in channels) + ")"


class Keithley7001(SCPIInstrument):
    """A 7001 mainframe with one 7012 matrix card in ``slot``; its relays are ``matrix``
    (rows = buses, columns = pixels), shared with the bench that routes the pixels."""

    IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 7001,0,A06  /A02"   # guess: revision fields
    ROWS, COLUMNS = 4, 10

    def __init__(self, matrix: CrosspointMatrix, clock=None, faults=None, *, slot: int = 1):
        if matrix.buses > self.ROWS or matrix.pixels > self.COLUMNS:
            raise ValueError(f"a 7012 card is {self.ROWS}x{self.COLUMNS}: {matrix.buses} buses "
                             f"x {matrix.pixels} pixels is out of range")
        self.matrix = matrix
        self.slot = int(slot)
        super().__init__(clock, faults)

    def reset(self) -> None:
        super().reset()
        if hasattr(self, "matrix"):
            self.matrix.open_all()

    def _crosspoints(self, tokens) -> list[tuple[int, int]]:
        channels = parse_channel_list(",".join(tokens))
        points = []
        for slot, row, col in channels:
            if slot != self.slot or not 1 <= row <= self.ROWS or not 1 <= col <= self.COLUMNS:
                raise SCPIError(-222, f"Data out of range; no channel {slot}!{row}!{col}")
            points.append((row, col))
        return points

    def _wired(self, row: int, col: int) -> bool:
        return row <= self.matrix.buses and col <= self.matrix.pixels

    @scpi("[:ROUTe]:CLOSe", params=None)
    def _close(self, tokens):
        points = self._crosspoints(tokens)      # all checked before any relay moves
        for row, col in points:
            if self._wired(row, col):
                self.matrix.close(row, col)
            else:   # a crosspoint of the card nothing is wired to: it clicks, harmlessly
                self._spare.add((row, col))

    @scpi("[:ROUTe]:OPEN", params=None)
    def _open(self, tokens):
        if len(tokens) == 1 and tokens[0].strip().upper() == "ALL":
            self.matrix.open_all()
            self._spare.clear()
            return
        for row, col in self._crosspoints(tokens):
            if self._wired(row, col):
                self.matrix.open(row, col)
            self._spare.discard((row, col))

    @scpi("[:ROUTe]:CLOSe:STATe?")
    def _close_state(self):
        closed = sorted(set(self.matrix.closed()) | self._spare)
        return format_channel_list((self.slot, r, c) for r, c in closed)

    @scpi("[:ROUTe]:CLOSe?", params=None)
    def _close_query(self, tokens):
        closed = set(self.matrix.closed()) | self._spare
        return ",".join("1" if p in closed else "0" for p in self._crosspoints(tokens))

    @property
    def _spare(self) -> set:
        spare = self.__dict__.get("_spare_set")
        if spare is None:
            spare = self.__dict__["_spare_set"] = set()
        return spare
