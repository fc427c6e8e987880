"""Simulated Vaisala HMT330-series humidity and temperature transmitter on a serial line.

Protocol: Vaisala, *HUMICAP Humidity and Temperature Transmitter Series HMT330 User's Guide*,
M210566EN-K, chapter "Operation", serial commands: ``SEND`` outputs one reading in the
``FORM`` format, whose default gives ``RH= 98.4 %RH T= 31.1 'C`` (p. 102, Table 27 and the
``FORM /`` example); ``R`` starts and ``S`` stops continuous output every ``INTV`` (list of
serial commands, as in the sibling HMT310 User's Guide M210619EN-E p. 40, Table 6); commands
are accepted in upper or lower case and end with ``<cr>`` (M210619EN-E p. 40). Field widths
of the default format (``RH=`` 5.1, ``T=`` 5.1) are read off the example: **guess**. The real
transmitter echoes what is typed in STOP mode and answers unknown commands with
``Unknown command``: the echo is not modelled (a guess at what a driver must tolerate is
better left to the driver's own tolerance of leading text); the error text is a **guess**.

Readings come from :class:`simulators.thermal.Ambient` (the room the bench sits in).
"""
from __future__ import annotations

import threading
import time as _wall
from typing import Callable

import numpy as np

from .serial_pty import HangUp

__all__ = ["HMT330Simulator"]

_TERM = b"\r\n"


class HMT330Simulator:
    """HMT330 service port: ``SEND``, ``R`` / ``S``, ``INTV n [S|MIN|H]``, ``?`` (identity).

    Handler of :class:`simulators.serial_pty.PtyServer`. The default output line is
    ``RH= 40.0 %RH T= 22.0 'C`` followed by CR LF.
    """

    role = "ambient"
    IDENTITY = "HMT330 / 5.16 Serial number: J1234567"

    def __init__(self, ambient, clock, faults=None, *, noise_K: float = 0.0,
                 noise_rh_percent: float = 0.0, seed: int = 0):
        self.ambient = ambient
        self.clock = clock
        self.faults = faults
        self.noise_K = float(noise_K)
        self.noise_rh_percent = float(noise_rh_percent)
        self._rng = np.random.default_rng(seed)
        self._buf = bytearray()
        self.run_mode = False
        self.interval_s = 1.0          # INTV default (guess)
        self._next_run_wall = 0.0
        self.commands_received = 0
        self.lock = threading.RLock()

    # -- PtyServer handler protocol -----------------------------------------------------
    def feed(self, data: bytes, write: Callable[[bytes], None]) -> None:
        with self.lock:
            self._buf += data
            while b"\r" in self._buf:
                line, _, rest = bytes(self._buf).partition(b"\r")
                self._buf = bytearray(rest.lstrip(b"\n"))
                self._command(line.decode("ascii", "replace").strip(), write)

    def poll(self, write: Callable[[bytes], None]) -> None:
        with self.lock:
            if self.run_mode and _wall.monotonic() >= self._next_run_wall:
                write(self.reading_line())
                self._next_run_wall = _wall.monotonic() + self._interval_wall_s()

    def next_event_s(self) -> float | None:
        if not self.run_mode:
            return None
        return max(0.0, self._next_run_wall - _wall.monotonic())

    def connection_reset(self) -> None:
        with self.lock:
            self._buf.clear()

    # -- the instrument ------------------------------------------------------------------
    def _interval_wall_s(self) -> float:
        return max(0.01, self.interval_s / float(getattr(self.clock, "time_scale", 1.0)))

    def reading(self) -> tuple[float, float]:
        """(temperature °C, RH %) now, with the reading noise."""
        t = self.ambient.temperature_C()
        rh = self.ambient.rh_percent()
        if self.noise_K:
            t += self.noise_K * float(self._rng.standard_normal())
        if self.noise_rh_percent:
            rh += self.noise_rh_percent * float(self._rng.standard_normal())
        return t, min(100.0, max(0.0, rh))

    def reading_line(self) -> bytes:
        t, rh = self.reading()
        return f"RH={rh:5.1f} %RH T={t:5.1f} 'C".encode("ascii") + _TERM

    def _command(self, line: str, write: Callable[[bytes], None]) -> None:
        if not line:
            return
        self.commands_received += 1
        actions = self.faults.on_command(self.clock.time()) if self.faults is not None else None
        if actions is not None and actions.drop:
            raise HangUp(f"ambient: drop fault at command {self.commands_received}")
        words = line.split()
        cmd = words[0].upper()
        if cmd == "SEND":
            write(self.reading_line())
        elif cmd == "R":
            self.run_mode = True
            self._next_run_wall = 0.0
            self.poll(write)
        elif cmd == "S":
            self.run_mode = False
        elif cmd == "INTV" and len(words) >= 2:
            try:
                n = int(words[1])
            except ValueError:
                write(b"Unknown command" + _TERM)
                return
            unit = words[2].upper() if len(words) > 2 else "S"
            factor = {"S": 1.0, "MIN": 60.0, "H": 3600.0}.get(unit)
            if factor is None or not 0 <= n <= 255:
                write(b"Unknown command" + _TERM)
                return
            self.interval_s = n * factor
            write(f"Output intrv. : {n} {unit.lower()}".encode("ascii") + _TERM)
        elif cmd == "?":
            write(self.IDENTITY.encode("ascii") + _TERM)
        else:
            write(b"Unknown command" + _TERM)

    def truth(self) -> dict:
        return {"noise_K": self.noise_K, "noise_rh_percent": self.noise_rh_percent}
