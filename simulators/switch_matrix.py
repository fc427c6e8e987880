"""A relay crosspoint matrix shared by the simulated switches, with a log of every change.

Rows are *buses* (bus 1: the measurement SMU and what looks at its pixel; bus c: lifetime
channel c's SMU), columns are the *pixels* of the substrate. The matrix itself enforces
nothing, as a relay card does not (a Keithley 7012 closes whatever it is told): keeping one
pixel per bus and one bus per pixel is the driver's job. The simulator records every
crosspoint that changed state together with whether a source on the affected bus had its
output on at that moment, so a test can prove over a whole run that the discipline held
(:func:`violations`).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Optional

__all__ = ["CrosspointMatrix", "RelayChange", "violations"]


@dataclass(frozen=True)
class RelayChange:
    """One crosspoint changing state.

    ``time_s`` is the bench clock, ``closed_after`` every crosspoint (bus, pixel) closed after
    the change, ``output_on`` whether any source on ``bus`` had its output on when the relay
    moved.
    """

    time_s: float
    action: str          # "close" or "open"
    bus: int
    pixel: int
    closed_after: frozenset
    output_on: bool


@dataclass
class CrosspointMatrix:
    """``buses`` × ``pixels`` relays, all open at power-on (and after ``*RST``)."""

    buses: int
    pixels: int
    clock: object = None
    #: ``output_on(bus) -> bool``: whether a source wired to that bus is on (set by the bench).
    output_on: Optional[Callable[[int], bool]] = None
    log: list = field(default_factory=list)

    def __post_init__(self):
        if not 1 <= self.buses <= 64 or not 1 <= self.pixels <= 256:
            raise ValueError(f"matrix {self.buses}x{self.pixels} is out of range: allowed "
                             "1 … 64 buses, 1 … 256 pixels")
        self._closed: set[tuple[int, int]] = set()
        self._lock = threading.RLock()

    def check(self, bus: int, pixel: int) -> None:
        if not (1 <= bus <= self.buses and 1 <= pixel <= self.pixels):
            raise ValueError(f"crosspoint bus {bus}, pixel {pixel} is out of range: allowed "
                             f"bus 1 … {self.buses}, pixel 1 … {self.pixels}")

    def _record(self, action: str, bus: int, pixel: int) -> None:
        on = bool(self.output_on(bus)) if self.output_on is not None else False
        now = float(self.clock.time()) if self.clock is not None else 0.0
        self.log.append(RelayChange(now, action, bus, pixel, frozenset(self._closed), on))

    def close(self, bus: int, pixel: int) -> None:
        self.check(bus, pixel)
        with self._lock:
            if (bus, pixel) not in self._closed:
                self._closed.add((bus, pixel))
                self._record("close", bus, pixel)

    def open(self, bus: int, pixel: int) -> None:
        self.check(bus, pixel)
        with self._lock:
            if (bus, pixel) in self._closed:
                self._closed.discard((bus, pixel))
                self._record("open", bus, pixel)

    def open_all(self) -> None:
        with self._lock:
            for bus, pixel in sorted(self._closed):
                self._closed.discard((bus, pixel))
                self._record("open", bus, pixel)

    def is_closed(self, bus: int, pixel: int) -> bool:
        return (bus, pixel) in self._closed

    def closed(self) -> list[tuple[int, int]]:
        """Closed crosspoints as sorted (bus, pixel) pairs."""
        with self._lock:
            return sorted(self._closed)

    def pixel_on(self, bus: int) -> Optional[int]:
        """The pixel (1-based) wired to ``bus``, None when no relay of that bus is closed (the
        lowest one if, against the rules, several are)."""
        with self._lock:
            hits = sorted(p for b, p in self._closed if b == bus)
        return hits[0] if hits else None


def violations(log) -> list[str]:
    """Every breach of the switching rules in a relay log, one line each (empty: none).

    Rules: after every change no bus holds two pixels and no pixel sits on two buses; no
    relay moved while a source on its bus had the output on (no hot switching, no
    make-before-break).
    """
    found = []
    for change in log:
        buses: dict[int, int] = {}
        pixels: dict[int, int] = {}
        for bus, pixel in change.closed_after:
            if bus in buses:
                found.append(f"t = {change.time_s:g} s: bus {bus} holds pixels {buses[bus]} "
                             f"and {pixel}")
            if pixel in pixels:
                found.append(f"t = {change.time_s:g} s: pixel {pixel} is on buses "
                             f"{pixels[pixel]} and {bus}")
            buses[bus] = pixel
            pixels[pixel] = bus
        if change.output_on:
            found.append(f"t = {change.time_s:g} s: relay bus {change.bus}, pixel "
                         f"{change.pixel} {change.action}d with the output on")
    return found
