"""The run's clock: the one time base of a run's ``/events/time_s``.

Seconds since the run started. Until the procedure has a clock of its own (its ``clock``
attribute, the station clock: wall time on real hardware, the bench's scaled clock on the
simulated bench) the engine's own monotonic time since it started counts; from the first
event after the procedure's clock exists, that clock, joined on without a jump. A resumed
run's clock starts at the stored clock of its last flush plus the wall-clock gap
(:func:`acquisition.store.resume_clock_s`). It never goes back and is never NaN.
"""
from __future__ import annotations

import math
import threading
import time

__all__ = ["RunClock"]


class RunClock:
    """Seconds since the run started, on the run's clock (thread-safe).

    Parameters
    ----------
    offset_s : float
        The time now (0 for a new run; the continued clock of a resumed one).
    """

    def __init__(self, offset_s: float = 0.0):
        self._lock = threading.Lock()
        self._base = float(offset_s)
        self._t0 = time.monotonic()
        self._source = None            # (clock, clock.time() when followed)
        self._last = self._base

    def _raw(self) -> float:
        if self._source is None:
            return self._base + (time.monotonic() - self._t0)
        clock, c0 = self._source
        return self._base + (float(clock.time()) - c0)

    def follow(self, clock) -> None:
        """From now on advance as ``clock.time()`` does (the procedure's clock)."""
        with self._lock:
            now = max(self._last, self._raw())
            self._base, self._source = now, (clock, float(clock.time()))

    @property
    def following(self) -> bool:
        return self._source is not None

    def now(self) -> float:
        """Seconds since the run started; never less than any earlier reading."""
        with self._lock:
            value = self._raw()
            if not math.isfinite(value) or value < self._last:
                value = self._last
            self._last = value
            return value

    __call__ = now
