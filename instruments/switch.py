"""The pixel switch adapter: the :class:`~instruments.roles.Switch` role on a crosspoint driver.

:class:`MatrixSwitch` turns "pixel k on bus b" into crosspoints of a relay matrix (rows =
buses, columns = pixels, or the station's explicit ``bus_rows`` / ``pixel_columns`` map) and
keeps the rules every driver obeys: break-before-make (open what the bus and the pixel had,
read back that nothing is closed on them, close the new crosspoint, read back), one pixel per
bus and one bus per pixel, never a relay moved while a source on an affected bus is on
(``output_guard``), every relay open on close and at interpreter exit
(:mod:`instruments.safety`). The driver (``instruments.keithley7001.Keithley7001``,
``instruments.relay_box.RelayBox``) offers ``close_crosspoint(row, col)``,
``open_crosspoint(row, col)``, ``open_all()``, ``closed_crosspoints()`` and ``id``.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Optional, Sequence

from . import safety
from .resilience import EventCallback, ResilientLink
from .roles import InstrumentError

__all__ = ["MatrixSwitch", "SwitchRefused", "open_switch", "SWITCH_MODELS"]

log = logging.getLogger(__name__)

#: Switch models (station ``[switch] model``) → largest buses × pixels they wire.
SWITCH_MODELS = {"keithley7001": (4, 10),    # one 7012 4×10 matrix card
                 "relay_box": (8, 16)}        # our firmware's largest build (docs)


class SwitchRefused(InstrumentError):
    """A relay move was refused (a source on that bus is on): nothing moved."""


class MatrixSwitch:
    """:class:`~instruments.roles.Switch` on a crosspoint driver.

    Parameters
    ----------
    driver : object
        Crosspoint driver (module docstring).
    pixels, buses : int
        Pixels of the substrate and buses (bus 1: the measurement SMU; bus c: lifetime
        channel c).
    bus_rows, pixel_columns : sequence of int, optional
        Matrix row of bus b (``bus_rows[b-1]``) and column of pixel k; default b and k.
    output_guard : callable, optional
        ``output_guard(bus) -> str | None``: the name of a source on ``bus`` whose output is
        on (the station sets it), None when all are off.
    """

    def __init__(self, driver, *, pixels: int, buses: int, model: str = "switch",
                 bus_rows: Optional[Sequence[int]] = None,
                 pixel_columns: Optional[Sequence[int]] = None,
                 reopen: Optional[Callable[[], object]] = None, name: str = "switch",
                 on_event: Optional[EventCallback] = None, retries: int = 3,
                 backoff_s: float = 0.05):
        self.pixels, self.buses, self.model, self.name = int(pixels), int(buses), model, name
        self._rows = list(bus_rows or range(1, self.buses + 1))
        self._cols = list(pixel_columns or range(1, self.pixels + 1))
        if len(self._rows) != self.buses or len(self._cols) != self.pixels:
            raise ValueError(f"{name}: bus_rows needs {self.buses} and pixel_columns "
                             f"{self.pixels} entries")
        self._bus_of_row = {r: b for b, r in enumerate(self._rows, start=1)}
        self._pixel_of_col = {c: k for k, c in enumerate(self._cols, start=1)}
        self.output_guard: Optional[Callable[[int], Optional[str]]] = None
        self._lock = threading.RLock()
        self._closed = False
        self._link = ResilientLink(name, driver, reopen=reopen, retries=retries,
                                   backoff_s=backoff_s, on_event=on_event)
        self.idn = str(self._link.call(lambda d: d.id)).strip()
        safety.register_switch(self)

    # -- read back --------------------------------------------------------------------
    def _crosspoints(self) -> list[tuple[int, int]]:
        """Closed (bus, pixel) pairs as the instrument reports them (unmapped ones kept as
        negative numbers so they still count as closed)."""
        out = []
        for row, col in self._link.call(lambda d: d.closed_crosspoints()):
            out.append((self._bus_of_row.get(row, -row), self._pixel_of_col.get(col, -col)))
        return out

    def connections(self) -> dict[int, int]:
        """{bus: pixel} read back from the instrument (buses with no relay closed omitted)."""
        return {b: p for b, p in self._crosspoints() if b > 0 and p > 0}

    # -- moves ------------------------------------------------------------------------
    def _check(self, pixel: int, bus: int) -> None:
        if isinstance(pixel, bool) or int(pixel) != pixel or not 1 <= pixel <= self.pixels:
            raise ValueError(f"pixel = {pixel!r} is out of range for {self.name}: allowed "
                             f"1 … {self.pixels}")
        if isinstance(bus, bool) or int(bus) != bus or not 1 <= bus <= self.buses:
            raise ValueError(f"bus = {bus!r} is out of range for {self.name}: allowed "
                             f"1 … {self.buses}")

    def _guard(self, bus: int, what: str) -> None:
        on = self.output_guard(bus) if self.output_guard is not None else None
        if on:
            raise SwitchRefused(f"{self.name}: refusing to {what}: {on} output is on (relays "
                                "move only with the outputs off; no make-before-break)")

    def _emit(self, level: str, message: str) -> None:
        self._link._emit(level, message)

    def connect(self, pixel: int, bus: int = 1) -> None:
        """Wire ``pixel`` to ``bus``, break-before-make, every step read back."""
        self._check(pixel, bus)
        pixel, bus = int(pixel), int(bus)
        with self._lock:
            before = self._crosspoints()
            stale = [(b, p) for b, p in before
                     if (b == bus or p == pixel) and (b, p) != (bus, pixel)]
            if not stale and (bus, pixel) in before:
                self._emit("info", f"{self.name}: pixel {pixel} already on bus {bus} (read back)")
                return
            for b in sorted({bus} | {b for b, _ in stale if b > 0}):
                self._guard(b, f"connect pixel {pixel} to bus {bus}")
            for b, p in stale:
                row = self._rows[b - 1] if b > 0 else -b
                col = self._cols[p - 1] if p > 0 else -p
                self._link.call(lambda d, r=row, c=col: d.open_crosspoint(r, c))
            after = self._crosspoints()
            left = [(b, p) for b, p in after if (b == bus or p == pixel) and (b, p) != (bus, pixel)]
            if left:
                raise InstrumentError(f"{self.name}: break before make failed: still closed "
                                      f"{left} after opening (read back)")
            if (bus, pixel) not in after:
                row, col = self._rows[bus - 1], self._cols[pixel - 1]
                self._link.call(lambda d: d.close_crosspoint(row, col))
            final = self._crosspoints()
            mine = [(b, p) for b, p in final if b == bus or p == pixel]
            if mine != [(bus, pixel)]:
                raise InstrumentError(f"{self.name}: closing pixel {pixel} on bus {bus} reads "
                                      f"back {mine or 'nothing closed'}")
            self._emit("info", f"{self.name}: pixel {pixel} connected to bus {bus} (read back)")

    def disconnect(self, bus: int = 1) -> None:
        """Open every relay of ``bus`` (read back)."""
        self._check(1, bus)
        with self._lock:
            held = [(b, p) for b, p in self._crosspoints() if b == bus]
            if held:
                self._guard(bus, f"open bus {bus}")
            for b, p in held:
                self._link.call(lambda d, r=self._rows[b - 1], c=self._cols[p - 1]:
                                d.open_crosspoint(r, c))
            if any(b == bus for b, _ in self._crosspoints()):
                raise InstrumentError(f"{self.name}: bus {bus} still closed after opening")
            if held:
                self._emit("info", f"{self.name}: bus {bus} opened (read back)")

    def open_all(self) -> None:
        """Open every relay (read back). Never refused: it is what the exit paths call,
        after the outputs are off."""
        with self._lock:
            self._link.call(lambda d: d.open_all())
            left = self._crosspoints()
            if left:
                raise InstrumentError(f"{self.name}: open all reads back {left} still closed")
            self._emit("info", f"{self.name}: all relays open (read back)")

    def describe(self) -> dict:
        """JSON-able identity and map of the switch (run metadata)."""
        return {"model": self.model, "idn": self.idn, "pixels": self.pixels,
                "buses": self.buses, "bus_rows": self._rows, "pixel_columns": self._cols}

    def close(self) -> None:
        """Open every relay (best effort), then close the connection. Idempotent."""
        if self._closed:
            return
        try:
            self.open_all()
        except Exception as exc:  # noqa: BLE001 - still close the link
            log.error("%s: open all failed on close: %s", self.name, exc)
        finally:
            self._closed = True
            safety.unregister_switch(self)
            self._link.close_driver()

    def __repr__(self) -> str:
        return f"<MatrixSwitch {self.name!r} {self.idn!r}>"


def open_switch(table: dict, *, name: str = "switch", on_event=None) -> MatrixSwitch:
    """Connect the switch of a validated ``[switch]`` table."""
    from .transport import open_adapter

    model = table["model"]
    keys = ("timeout_ms", "read_termination", "write_termination", "baud_rate", "rtscts")
    adapter_options = {k: table[k] for k in keys if k in table}
    if model == "keithley7001":
        from .keithley7001 import Keithley7001

        def reopen():
            return Keithley7001(open_adapter(table["resource"], **adapter_options),
                                slot=int(table.get("slot", 1)))
    else:
        from .relay_box import RelayBox

        adapter_options.setdefault("baud_rate", 115200)

        def reopen():
            return RelayBox(open_adapter(table["resource"], **adapter_options))

    return MatrixSwitch(reopen(), reopen=reopen, pixels=int(table["pixels"]),
                        buses=int(table["buses"]), model=model,
                        bus_rows=table.get("bus_rows"), pixel_columns=table.get("pixel_columns"),
                        name=name, on_event=on_event, retries=int(table.get("retries", 3)),
                        backoff_s=float(table.get("backoff_s", 0.05)))
