"""The clock of a real station: wall time, with the interface of the simulated bench's clock.

Procedures stamp rows with ``clock.time()`` and wait with ``clock.sleep(s)``; on real hardware
one second is one second (``time_scale`` = 1), on the simulated bench the clock is a
:class:`simulators.clock.ScaledClock`.
"""
from __future__ import annotations

import time as _time

__all__ = ["WallClock"]


class WallClock:
    """Monotonic wall-clock seconds since creation; ``time_scale`` is always 1."""

    time_scale = 1.0

    def __init__(self):
        self._t0 = _time.monotonic()

    def time(self) -> float:
        """Seconds since the clock was created (monotonic)."""
        return _time.monotonic() - self._t0

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (≥ 0)."""
        seconds = float(seconds)
        if seconds < 0 or seconds != seconds:
            raise ValueError(f"seconds = {seconds!r} is out of range: allowed >= 0 s")
        _time.sleep(seconds)

    def __repr__(self) -> str:
        return f"WallClock(time={self.time():.6g} s)"
