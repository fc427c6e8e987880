"""Progress of long work on the terminal: a bar with the time left, or plain lines when piped.

A run reports percent through its procedure's ``progress`` records; a batch of files reports
items done. On a terminal :class:`Progress` draws a tqdm bar with elapsed time and an estimate
of the time left; when stderr is not a terminal (a log file, a pipe) it prints one plain line
at most every ``line_interval_s`` seconds and at the end, so an unattended log shows where the
work is without control characters.
"""
from __future__ import annotations

import math
import sys
import time

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    """``h:mm:ss``; "–" when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(max(0.0, seconds)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{sec:02d}"


class Progress:
    """Progress towards ``total`` (100 for percent records), shown on ``stream``.

    Call it with the amount done so far (``progress(42.0)``), or :meth:`advance` by a step;
    :meth:`close` at the end. Nothing is shown for work that ends within ``quiet_s`` seconds
    (a quick run stays quiet), except on a terminal where tqdm's own delay applies.
    """

    def __init__(self, label: str, total: float = 100.0, *, unit: str = "%", stream=None,
                 line_interval_s: float = 10.0, quiet_s: float = 2.0):
        self.label, self.total, self.unit = label, float(total), unit
        self.stream = sys.stderr if stream is None else stream
        self.line_interval_s, self.quiet_s = float(line_interval_s), float(quiet_s)
        self.done = 0.0
        self._t0 = time.monotonic()
        self._last_line = -math.inf
        self._bar = None
        isatty = getattr(self.stream, "isatty", lambda: False)
        if isatty():
            from tqdm import tqdm

            fmt = ("{desc}: {percentage:3.0f}%|{bar}| {elapsed} elapsed, ~{remaining} left"
                   if unit == "%" else
                   "{desc}: {n_fmt}/{total_fmt} {unit}|{bar}| {elapsed} elapsed, ~{remaining} left")
            self._bar = tqdm(total=self.total, desc=label, unit=unit, leave=False,
                             file=self.stream, bar_format=fmt, delay=quiet_s)

    # -- feeding ------------------------------------------------------------------------
    def __call__(self, done: float) -> None:
        done = float(done)
        if not math.isfinite(done):
            return
        done = min(max(done, 0.0), self.total)
        if self._bar is not None:
            self._bar.update(max(0.0, done - self._bar.n))
        self.done = done
        if self._bar is None:
            self._maybe_line()

    def advance(self, step: float = 1.0) -> None:
        self(self.done + step)

    # -- plain lines --------------------------------------------------------------------
    def remaining_s(self) -> float:
        """Estimated seconds left from the average rate so far (NaN before any progress)."""
        elapsed = time.monotonic() - self._t0
        if self.done <= 0 or elapsed <= 0:
            return math.nan
        return elapsed * (self.total - self.done) / self.done

    def line(self) -> str:
        elapsed = time.monotonic() - self._t0
        amount = (f"{100.0 * self.done / self.total:3.0f} %" if self.unit == "%" else
                  f"{self.done:g}/{self.total:g} {self.unit}")
        return (f"{self.label}: {amount}, {format_duration(elapsed)} elapsed, "
                f"~{format_duration(self.remaining_s())} left")

    def _maybe_line(self, final: bool = False) -> None:
        now = time.monotonic()
        if now - self._t0 < self.quiet_s and not final:
            return
        if final or now - self._last_line >= self.line_interval_s:
            self._last_line = now
            print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif time.monotonic() - self._t0 >= self.quiet_s and self._last_line > -math.inf:
            self._maybe_line(final=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
