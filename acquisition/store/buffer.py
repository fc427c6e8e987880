"""Rows waiting in memory for the next flush of a :class:`~acquisition.store.writer.RunWriter`.

:class:`_RowBuffer` (a mixin of the writer) takes rows (:meth:`~_RowBuffer.append`),
column batches (:meth:`~_RowBuffer.append_batch`) and events (:meth:`~_RowBuffer.event`),
checks them, and hands them over as one :class:`~acquisition.store.schema._Batch` per
flush (:meth:`~_RowBuffer._take`), or takes a batch back in front when the file was busy
(:meth:`~_RowBuffer._requeue`). Non-numeric row values become NaN with a warning event.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .schema import _Batch


class _RowBuffer:
    """The in-memory buffer of :class:`~acquisition.store.writer.RunWriter` (a mixin).

    Uses the state the writer's ``__init__`` sets (``path``, ``columns``, ``n_wavelengths``,
    ``max_buffer_rows``, ``clock``, ``error``, ``_allowed``, ``_segments``,
    ``_rows``, ``_spectra``, ``_events``, ``_n_buffered``, ``_buf_lock``, ``_closed``) and
    calls its ``flush`` when the buffer is full.
    """

    def append(self, row: Mapping[str, Any]) -> None:
        """Buffer one row: ``{column: value, ..., "spectrum": 1-D array}``.

        Missing columns are stored as NaN. Raises ``ValueError`` for unknown keys or
        a spectrum of the wrong length, and the pending :attr:`error` if a flush failed.
        """
        if self.error is not None:
            raise self.error
        if self._closed:
            raise ValueError(f"run file {self.path.name} is finalised: no more rows")
        if not self._allowed.issuperset(row):
            raise ValueError(f"row has unknown keys {sorted(set(row) - self._allowed)}: "
                             f"allowed are {', '.join(self.columns)}, spectrum")
        spec = row.get("spectrum")
        if spec is not None:
            spec = self._check_spectrum(spec, 1)[0]
        values = tuple(map(row.get, self.columns))
        with self._buf_lock:
            self._rows.append(values)
            if self.n_wavelengths is not None:
                self._spectra.append(spec)
            self._n_buffered += 1
            full = self._n_buffered >= self.max_buffer_rows
        if full:
            self.flush()

    def append_batch(self, batch: Mapping[str, Any]) -> None:
        """Buffer many rows at once: ``{column: 1-D array}`` (+ ``spectrum`` 2-D)."""
        if self.error is not None:
            raise self.error
        if self._closed:
            raise ValueError(f"run file {self.path.name} is finalised: no more rows")
        if not self._allowed.issuperset(batch):
            raise ValueError(f"batch has unknown keys {sorted(set(batch) - self._allowed)}: "
                             f"allowed are {', '.join(self.columns)}, spectrum")
        cols = {k: _as_float_column(k, v) for k, v in batch.items() if k != "spectrum"}
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise ValueError(f"batch columns have different lengths {sorted(lengths)}: "
                             "all must be equal")
        n = lengths.pop() if lengths else 0
        spec = batch.get("spectrum")
        if spec is not None:
            spec = self._check_spectrum(spec, n)
        if n == 0:
            return
        full_cols = {c: cols.get(c, np.full(n, np.nan)) for c in self.columns}
        with self._buf_lock:
            self._close_row_segment()
            self._segments.append((full_cols, spec if spec is not None else n))
            self._n_buffered += n
            full = self._n_buffered >= self.max_buffer_rows
        if full:
            self.flush()

    def event(self, level: str, message: str, time_s: float | None = None,
              category: str | None = None, stress_time_s: float | None = None) -> None:
        """Record an event (reconnect, compliance hit, fault, abort, resume).

        ``time_s`` is seconds since the run started on the run's clock (default: now, from
        the writer's :attr:`clock`; a NaN is replaced by now). ``level`` is one of
        ``debug``, ``info``, ``warning``, ``error``. A ``category`` is prefixed to the
        message as ``category: ``. ``stress_time_s`` is the stress time of a procedure that
        has one (lifetime), NaN otherwise.
        """
        level = str(level).lower()
        if level not in ("debug", "info", "warning", "error"):
            raise ValueError(f"level = {level!r} is not allowed: use debug, info, "
                             "warning or error")
        time_s = self.clock() if time_s is None else float(time_s)
        if time_s != time_s:                       # NaN: one clock, always a time
            time_s = self.clock()
        stress = float("nan") if stress_time_s is None else float(stress_time_s)
        message = str(message)
        if category and not message.startswith(f"{category}:"):
            message = f"{category}: {message}"
        with self._buf_lock:
            self._events.append((time_s, level, message, stress))

    def _check_spectrum(self, spec: Any, n: int) -> np.ndarray:
        if self.n_wavelengths is None:
            raise ValueError("row has a spectrum but the run was created without "
                             "spectrum_axis_nm")
        arr = np.asarray(spec, dtype=float)
        if arr.size != n * self.n_wavelengths or (n > 1 and arr.shape[0] != n):
            raise ValueError(f"spectrum has shape {arr.shape}: expected {self.n_wavelengths} "
                             f"points (the wavelength axis) for each of {n} rows")
        return arr.reshape(n, self.n_wavelengths)

    def _close_row_segment(self) -> None:
        if self._rows:
            self._segments.append((self._rows, self._spectra))
            self._rows, self._spectra = [], []

    def _take(self) -> _Batch | None:
        with self._buf_lock:
            self._close_row_segment()
            segments, self._segments = self._segments, []
            events, self._events = self._events, []
            self._n_buffered = 0
        if not segments and not events:
            return None
        parts: dict[str, list[np.ndarray]] = {c: [] for c in self.columns}
        spectra: list[np.ndarray] = []
        warnings: list[str] = []
        for seg in segments:
            if isinstance(seg[0], dict):  # a batch
                cols, spec = seg
                n = len(cols[self.columns[0]])
                for c in self.columns:
                    parts[c].append(cols[c])
                if self.n_wavelengths is not None:
                    spectra.append(spec if isinstance(spec, np.ndarray)
                                   else np.full((n, self.n_wavelengths), np.nan))
            else:
                rows, specs = seg
                for i, c in enumerate(self.columns):
                    parts[c].append(_rows_to_column(c, [r[i] for r in rows], warnings))
                if self.n_wavelengths is not None:
                    block = np.full((len(rows), self.n_wavelengths), np.nan)
                    for j, s in enumerate(specs):
                        if s is not None:
                            block[j] = s
                    spectra.append(block)
        t = self.clock()
        events += [(t, "warning", w, float("nan")) for w in warnings]
        columns = {c: (np.concatenate(p) if p else np.empty(0)) for c, p in parts.items()}
        spec_arr = None
        if self.n_wavelengths is not None:
            spec_arr = (np.concatenate(spectra) if spectra
                        else np.empty((0, self.n_wavelengths)))
        return _Batch(columns, spec_arr, events, clock_s=t)

    def _requeue(self, batch: _Batch) -> None:
        with self._buf_lock:
            spec = batch.spectra if batch.spectra is not None else batch.n_rows
            if batch.n_rows:
                self._segments.insert(0, (batch.columns, spec))
                self._n_buffered += batch.n_rows
            self._events[:0] = batch.events


def _as_float_column(name: str, values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"batch column {name!r} is not numeric") from None
    if arr.ndim != 1:
        raise ValueError(f"batch column {name!r} must be 1-D, got shape {arr.shape}")
    return arr


def _rows_to_column(name: str, values: list, warnings: list[str]) -> np.ndarray:
    try:
        return np.array(values, dtype=float)  # None -> NaN
    except (TypeError, ValueError):
        out = np.empty(len(values))
        for i, v in enumerate(values):
            try:
                out[i] = np.nan if v is None else float(v)
            except (TypeError, ValueError):
                out[i] = np.nan
                warnings.append(f"column {name}: non-numeric value {v!r} stored as NaN")
        return out
