"""The scaled clock shared by a simulated bench and the code that runs against it.

One wall-clock second is ``time_scale`` simulated seconds, so an 8-hour lifetime
test at ``time_scale=3600`` takes 8 s. Instruments stamp readings and age devices
with ``clock.time()``; procedures wait with ``clock.sleep(simulated_s)``.
"""
from __future__ import annotations

import threading
import time as _time

__all__ = ["ScaledClock"]


class ScaledClock:
    """Simulated time that runs ``time_scale`` times faster than the wall clock.

    Parameters
    ----------
    time_scale : float
        Simulated seconds per wall-clock second, > 0 (1.0 = real time).

    Notes
    -----
    Thread-safe: ``time()`` reads a monotonic wall clock and scales it; the
    origin and the scale are updated together under a lock, so changing
    ``time_scale`` while the bench runs keeps simulated time continuous.
    ``advance(dt_s)`` adds simulated time instantly (tests, fast-forward).
    """

    def __init__(self, time_scale: float = 1.0):
        self._lock = threading.Lock()
        self._scale = self._check_scale(time_scale)
        self._wall0 = _time.monotonic()
        self._sim0 = 0.0

    @staticmethod
    def _check_scale(time_scale: float) -> float:
        scale = float(time_scale)
        if not (scale > 0.0 and scale < float("inf")):
            raise ValueError(f"time_scale = {time_scale!r} is out of range: allowed > 0 (finite)")
        return scale

    @property
    def time_scale(self) -> float:
        """Simulated seconds per wall-clock second."""
        return self._scale

    @time_scale.setter
    def time_scale(self, value: float) -> None:
        scale = self._check_scale(value)
        with self._lock:
            now = _time.monotonic()
            self._sim0 += (now - self._wall0) * self._scale
            self._wall0 = now
            self._scale = scale

    def time(self) -> float:
        """Simulated seconds since the clock was created (monotonic)."""
        with self._lock:
            return self._sim0 + (_time.monotonic() - self._wall0) * self._scale

    def sleep(self, simulated_s: float) -> None:
        """Block for ``simulated_s`` simulated seconds (``simulated_s / time_scale`` wall s)."""
        simulated_s = float(simulated_s)
        if simulated_s < 0 or simulated_s != simulated_s:
            raise ValueError(f"simulated_s = {simulated_s!r} is out of range: allowed >= 0 s")
        deadline = self.time() + simulated_s
        # Re-check against simulated time so a time_scale change mid-sleep is honoured.
        while True:
            remaining = deadline - self.time()
            if remaining <= 0:
                return
            wall = remaining / self._scale
            # time.sleep overshoots by ~60 µs; yield instead for very short waits.
            _time.sleep(wall if wall > 2e-4 else 0)

    def advance(self, dt_s: float) -> None:
        """Jump simulated time forward by ``dt_s`` seconds without waiting."""
        dt_s = float(dt_s)
        if dt_s < 0 or dt_s != dt_s:
            raise ValueError(f"dt_s = {dt_s!r} is out of range: allowed >= 0 s")
        with self._lock:
            self._sim0 += dt_s

    def __repr__(self) -> str:
        return f"ScaledClock(time_scale={self._scale:g}, time={self.time():.6g} s)"
