"""Live data for the GUI: growing columns fed with only the new rows, display decimation.

Nothing here imports Qt, so the buffers and the decimation are tested (and benchmarked)
without a display. The worker thread pushes records into a :class:`RecordFeed`; the GUI
thread drains it on a timer and appends the new rows to a :class:`RunData` and to each
curve's :class:`DecimatedSeries`, so a refresh costs what the *new* rows cost, not what
the whole run costs.
"""
from __future__ import annotations

import math
import queue
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["GrowingArray", "RecordFeed", "RunData", "DecimatedSeries", "decimate_minmax",
           "DISPLAY_POINTS"]

#: Points handed to a plot curve at most: two (min and max) per bucket, ~2 buckets per
#: screen pixel of a 1000-pixel-wide plot; peaks stay visible because each bucket keeps
#: its extreme samples.
DISPLAY_POINTS = 4000


class GrowingArray:
    """A 1-D (or row-stacked 2-D) float array with amortised O(1) appends."""

    def __init__(self, width: int | None = None, capacity: int = 1024):
        shape = (capacity,) if width is None else (capacity, width)
        self._a = np.empty(shape, dtype=float)
        self.n = 0

    def extend(self, values) -> None:
        values = np.asarray(values, dtype=float)
        m = len(values)
        if self.n + m > len(self._a):
            cap = max(2 * len(self._a), self.n + m)
            grown = np.empty((cap,) + self._a.shape[1:], dtype=float)
            grown[:self.n] = self._a[:self.n]
            self._a = grown
        self._a[self.n:self.n + m] = values
        self.n += m

    @property
    def values(self) -> np.ndarray:
        """A view of the filled part (valid until the next ``extend``)."""
        return self._a[:self.n]

    def __len__(self) -> int:
        return self.n


class RecordFeed:
    """Thread-safe hand-over of a procedure's records from the worker to the GUI thread.

    ``put(topic, record)`` is the worker's ``on_emit``; :meth:`drain` returns the new rows
    as column chunks (``'results'`` rows are grouped, ``'batch results'`` kept whole) and
    the events, without blocking.
    """

    def __init__(self):
        self._q: queue.SimpleQueue = queue.SimpleQueue()

    def put(self, topic: str, record: Any) -> None:
        if topic in ("results", "batch results", "event"):
            self._q.put((topic, record))

    def drain(self, limit: int = 100_000) -> tuple[list[dict], list[dict]]:
        """→ (chunks of columns, events) received since the last drain."""
        chunks, events, rows = [], [], []
        for _ in range(limit):
            try:
                topic, record = self._q.get_nowait()
            except queue.Empty:
                break
            if topic == "results":
                rows.append(record)
            elif topic == "batch results":
                if rows:
                    chunks.append(_rows_to_chunk(rows))
                    rows = []
                chunks.append(dict(record))
            else:
                events.append(record)
        if rows:
            chunks.append(_rows_to_chunk(rows))
        return chunks, events


def _rows_to_chunk(rows: list[Mapping]) -> dict:
    """Row dicts → one dict of columns; a row without a ``spectrum`` gets a NaN one."""
    names = [k for k in rows[0] if k != "spectrum"]
    chunk = {k: np.array([r.get(k, math.nan) for r in rows], dtype=float) for k in names}
    spectra = [r.get("spectrum") for r in rows]
    if any(s is not None for s in spectra):
        width = next(len(s) for s in spectra if s is not None)
        nan = np.full(width, np.nan)
        chunk["spectrum"] = np.array([nan if s is None else np.asarray(s, float)
                                      for s in spectra])
    return chunk


#: ``derive(chunk, run_data) -> dict of new columns`` for the rows of ``chunk``.
Deriver = Callable[[dict, "RunData"], dict]


class RunData:
    """All rows of one run seen so far, as growing columns, plus derived columns.

    Parameters
    ----------
    columns : list of str
        The procedure's ``DATA_COLUMNS``.
    derivers : list of callables
        ``derive(chunk, run_data)`` returning extra columns for the chunk's rows (e.g.
        EQE per point from the row's spectrum); they may keep state in ``run_data.state``.
    wavelength_nm : array, optional
        The spectrum axis; may be set later (``wavelength_nm`` attribute).
    """

    def __init__(self, columns, derivers=(), wavelength_nm=None):
        self.columns = list(columns)
        self.derivers = list(derivers)
        self.wavelength_nm = None if wavelength_nm is None else np.asarray(wavelength_nm, float)
        self.state: dict[str, Any] = {}
        self._cols: dict[str, GrowingArray] = {}
        self.n_rows = 0

    def ingest(self, chunk: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Append a chunk of rows; return its columns (derived ones included)."""
        n = None
        out: dict[str, Any] = {}
        for name, values in chunk.items():
            if name == "spectrum":
                out[name] = np.atleast_2d(np.asarray(values, float))
                continue
            arr = np.atleast_1d(np.asarray(values, dtype=float))
            n = len(arr) if n is None else n
            if len(arr) != n:
                raise ValueError(f"chunk column '{name}' has {len(arr)} rows: allowed {n} "
                                 "(all columns of a batch must have equal length)")
            out[name] = arr
        if not n:
            return {}
        for derive in self.derivers:
            out.update(derive(out, self))
        for name, arr in out.items():
            if name == "spectrum":
                continue
            col = self._cols.get(name)
            if col is None:
                col = self._cols[name] = GrowingArray()
                col.extend(np.full(self.n_rows, np.nan))
            col.extend(arr)
        for name, col in self._cols.items():  # a column absent from this chunk: NaN rows
            if name not in out:
                col.extend(np.full(n, np.nan))
        self.n_rows += n
        return out

    def column(self, name: str) -> np.ndarray:
        """A view of column ``name`` (NaN-filled if it never arrived)."""
        col = self._cols.get(name)
        return col.values if col is not None else np.full(self.n_rows, np.nan)

    def frame(self):
        import pandas as pd

        return pd.DataFrame({name: col.values.copy() for name, col in self._cols.items()})


def decimate_minmax(x, y, max_points: int = DISPLAY_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Keep, in each bucket of consecutive samples, the samples with the least and the
    greatest ``y`` (in their original order): at most ``max_points`` points, every peak kept.

    The min/max ("peak") decimation of oscilloscope displays; buckets are in sample order,
    so it suits paths (a J-V loop) as well as time series. NaN never wins a bucket unless
    the whole bucket is NaN.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length: got {x.shape} and {y.shape}")
    if max_points < 4:
        raise ValueError(f"max_points = {max_points} is out of range: allowed ≥ 4")
    n = len(y)
    if n <= max_points:
        return x, y
    k = _bucket_size(n, max_points)
    idx = _extreme_indices(y, 0, n, k)
    return x[idx], y[idx]


def _bucket_size(n: int, max_points: int) -> int:
    """Smallest power of two k with 2·ceil(n/k) ≤ max_points."""
    k = 1
    while 2 * -(-n // k) > max_points:
        k *= 2
    return k


def _extreme_indices(y: np.ndarray, start: int, stop: int, k: int) -> np.ndarray:
    """Indices of the min and max of each k-bucket of y[start:stop] (last bucket partial)."""
    full = start + (stop - start) // k * k
    parts = []
    if full > start:
        b = y[start:full].reshape(-1, k)
        nan = np.isnan(b)
        lo = np.where(nan, np.inf, b).argmin(axis=1)
        hi = np.where(nan, -np.inf, b).argmax(axis=1)
        base = start + k * np.arange(len(b))
        pair = np.sort(np.stack([lo, hi], axis=1), axis=1) + base[:, None]
        parts.append(pair.ravel())
    if stop > full:
        t = y[full:stop]
        nan = np.isnan(t)
        pair = sorted({int(np.where(nan, np.inf, t).argmin()),
                       int(np.where(nan, -np.inf, t).argmax())})
        parts.append(full + np.asarray(pair))
    return np.concatenate(parts) if parts else np.empty(0, dtype=int)


class DecimatedSeries:
    """One curve's (x, y) samples, appended to incrementally, displayed decimated.

    :meth:`display` returns the samples themselves up to ``max_points`` and a min/max
    decimation beyond; completed buckets are cached, so each call costs the new samples
    plus one bucket (the bucket size doubles as the run grows, which re-buckets once).
    """

    def __init__(self, max_points: int = DISPLAY_POINTS):
        if max_points < 4:
            raise ValueError(f"max_points = {max_points} is out of range: allowed ≥ 4")
        self.max_points = max_points
        self.x = GrowingArray()
        self.y = GrowingArray()
        self._k = 0
        self._done = 0              # samples covered by cached complete buckets
        self._cached = GrowingArray()  # indices kept from complete buckets (as floats)

    def __len__(self) -> int:
        return self.x.n

    def extend(self, x, y) -> None:
        x = np.atleast_1d(np.asarray(x, float))
        y = np.atleast_1d(np.asarray(y, float))
        if x.shape != y.shape:
            raise ValueError(f"x and y chunks must have equal length: got {x.shape}, {y.shape}")
        self.x.extend(x)
        self.y.extend(y)

    def display(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) to hand to the plot: all samples, or at most ``max_points`` of them."""
        n = len(self)
        x, y = self.x.values, self.y.values
        if n <= self.max_points:
            return x, y
        k = _bucket_size(n, self.max_points)
        if k != self._k:
            self._k, self._done, self._cached = k, 0, GrowingArray()
        full = n // k * k
        if full > self._done:
            self._cached.extend(_extreme_indices(y, self._done, full, k))
            self._done = full
        idx = self._cached.values.astype(np.intp)
        if n > full:
            idx = np.concatenate([idx, _extreme_indices(y, full, n, k)])
        return x[idx], y[idx]
