"""Writing one run: :class:`RunWriter` creates, reopens, flushes and finishes its file.

The write scheme: the complete skeleton is written under a temporary name in the target
folder, closed, fsynced and then hard-linked to its final name (``os.link`` fails if the
name exists, so a file is never overwritten and never seen half-created). Rows are
buffered in memory (:mod:`acquisition.store.buffer`); at each flush (every
``flush_interval_s`` from a background thread, or when the buffer reaches
``max_buffer_rows``) the batch is journalled (:mod:`acquisition.store.journal`), then the
file is opened ``r+`` under an exclusive lock, extended, its ``rows_committed`` attribute
updated, closed and fsynced. A failed write sets :attr:`RunWriter.error` and stops the run
with every committed row kept. :meth:`RunWriter.reopen` resumes an interrupted run.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import os
import shutil
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .buffer import _RowBuffer
from .encoding import _normalise_parameters, _validate_key
from .journal import _batch_record, _JournalWriter, _skeleton_json, journal_path
from .locking import StoreBusy, StoreError, _fsync_dir, _locked, _open_h5
from .recovery import _repack, recover
from .schema import (_COLUMN_CHUNK_ROWS, _SPECTRUM_CHUNK_ROWS, METADATA_KEYS, STATUSES, _Batch,
                     _append_to_file, _check_schema, _iso, _link_unique, _local_now,
                     _parse_iso, _utc_now, _write_skeleton, run_file_name, units_for_column)

_FREE_SPACE_MARGIN_B = 256 * 1024


class RunWriter(_RowBuffer, _JournalWriter):
    """Streams one run to one HDF5 file; safe against kills and full disks.

    Create with :meth:`create` (new run) or :meth:`reopen` (resume). Independent
    per instance: several writers may run in one process. Thread-safe: rows may be
    appended from one thread while the background flusher writes.

    Attributes
    ----------
    path : pathlib.Path
        The run file.
    rows_flushed : int
        Rows committed to the file so far (on disk, fsynced).
    error : StoreError or None
        Set when a flush failed; further appends raise it.
    """

    def __init__(self, path: Path, columns: list[str], n_wavelengths: int | None, *,
                 start_time: _dt.datetime, rows_flushed: int, flush_interval_s: float,
                 max_buffer_rows: int, background_flush: bool, lock_timeout_s: float,
                 journal: bool):
        self.path = Path(path)
        self.columns = list(columns)
        self.n_wavelengths = n_wavelengths
        self.start_time = start_time
        self.rows_flushed = rows_flushed
        self.flush_interval_s = flush_interval_s
        self.max_buffer_rows = max_buffer_rows
        self.lock_timeout_s = lock_timeout_s
        self.error: StoreError | None = None
        self.status = "running"
        self._allowed = frozenset(self.columns) | {"spectrum"}
        self._segments: list[Any] = []   # row lists and column batches, in order
        self._rows: list[tuple] = []
        self._spectra: list[np.ndarray | None] = []
        self._events: list[tuple[float, str, str]] = []
        self._n_buffered = 0
        self._buf_lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._closed = False
        self._journal_path = journal_path(self.path) if journal else None
        self._journal_fh = None
        self._stop = threading.Event()
        self._flusher = None
        if background_flush:
            self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                             name=f"RunWriter-flush:{self.path.name}")
            self._flusher.start()

    # ---------------------------------------------------------------- creation
    @classmethod
    def create(cls, out_dir: str | os.PathLike, *, procedure: str, sample: str,
               pixel: str = "", operator: str = "",
               parameters: Mapping[str, tuple] | None = None,
               columns: Sequence[str], units: Mapping[str, str] | None = None,
               spectrum_axis_nm: Sequence[float] | np.ndarray | None = None,
               metadata: Mapping[str, Any] | None = None,
               truth: Mapping[str, Any] | None = None,
               spectrum_units: str = "W/(sr m^2 nm)",
               flush_interval_s: float = 1.0, max_buffer_rows: int = 20_000,
               background_flush: bool = True, lock_timeout_s: float = 2.0,
               journal: bool = True) -> RunWriter:
        """Create a new run file in ``out_dir`` and return its writer.

        Parameters
        ----------
        out_dir : path
            Folder for the file (created if missing).
        procedure : str
            Import path of the Procedure class, ``"package.module:Class"``.
        sample, pixel, operator : str
            Identification; ``sample`` also names the file (sanitised).
        parameters : mapping
            ``name -> (value, units)`` or ``(value, units, label)``.
        columns : sequence of str
            1-D data columns, unit-suffixed names (see :func:`units_for_column`).
        units : mapping, optional
            Units for columns whose names cannot carry them.
        spectrum_axis_nm : array, optional
            Wavelength axis [nm]; enables ``/data/spectrum``.
        spectrum_units : str
            Units of the spectra (default spectral radiance).
        metadata : mapping, optional
            Keys among :data:`METADATA_KEYS`.
        truth : mapping, optional
            True parameters of a simulated device (JSON-like nested dict).
        flush_interval_s : float
            Rows reach the disk at most this long after they are appended [s].
        max_buffer_rows : int
            Flush as soon as this many rows are buffered (bounds memory).
        """
        if not 0.0 < flush_interval_s <= 3600.0:
            raise ValueError(f"flush_interval_s = {flush_interval_s} is out of range: "
                             "allowed 0 < flush_interval_s <= 3600 s")
        if not 1 <= max_buffer_rows <= 10_000_000:
            raise ValueError(f"max_buffer_rows = {max_buffer_rows} is out of range: "
                             "allowed 1 … 10000000")
        columns = list(columns)
        if not columns:
            raise ValueError("columns is empty: give at least one data column")
        if len(set(columns)) != len(columns):
            raise ValueError(f"columns has duplicates: {columns}")
        for name in columns:
            _validate_key(name, "column")
            if name == "spectrum":
                raise ValueError("column 'spectrum' is reserved: pass spectrum_axis_nm instead")
        col_units = {c: units_for_column(c, units) for c in columns}
        metadata = dict(metadata or {})
        unknown = set(metadata) - set(METADATA_KEYS)
        if unknown:
            raise ValueError(f"metadata keys {sorted(unknown)} are not allowed: "
                             f"allowed are {', '.join(METADATA_KEYS)}")
        params = _normalise_parameters(parameters or {})
        wl = None
        if spectrum_axis_nm is not None:
            wl = np.asarray(spectrum_axis_nm, dtype=float)
            if wl.ndim != 1 or wl.size < 2 or not np.all(np.isfinite(wl)):
                raise ValueError("spectrum_axis_nm must be a 1-D finite array of >= 2 "
                                 "wavelengths [nm]")

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        start = _utc_now()
        local_now = _local_now()
        # pid + thread + random: writers in several threads may start in the same second
        tmp = out / (f".{run_file_name(sample, procedure, local_now)}.{os.getpid()}."
                     f"{threading.get_ident()}.{os.urandom(4).hex()}.tmp")
        with _open_h5(tmp, "w") as f:
            _write_skeleton(f, procedure=procedure, sample=sample, pixel=pixel,
                            operator=operator, params=params, columns=columns,
                            col_units=col_units, wl=wl, metadata=metadata, truth=truth,
                            start=start, spectrum_units=spectrum_units)
        try:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            path = _link_unique(tmp, out, sample, procedure, local_now)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(out)
        writer = cls(path, columns, None if wl is None else wl.size, start_time=start,
                     rows_flushed=0, flush_interval_s=flush_interval_s,
                     max_buffer_rows=max_buffer_rows, background_flush=background_flush,
                     lock_timeout_s=lock_timeout_s, journal=journal)
        if journal:
            writer._journal_open()
            skeleton = _skeleton_json(path)
            writer._journal_write(b"S", skeleton.encode())
        return writer

    @classmethod
    def reopen(cls, path: str | os.PathLike, *, flush_interval_s: float = 1.0,
               max_buffer_rows: int = 20_000, background_flush: bool = True,
               lock_timeout_s: float = 2.0, journal: bool = True) -> RunWriter:
        """Reopen an interrupted run for appending (resume).

        A damaged file is first rebuilt from its journal (:func:`recover`). Sets the
        status back to ``running`` and records a ``resume`` event with the gap since
        the last stored row.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"run file {path} does not exist")
        recover(path)
        # A killed writer can leave allocation metadata that reads fine but breaks the
        # next write ("len not positive after adjustment for EOA"): continue on a copy.
        try:
            _repack(path, lock_timeout_s)
        except (OSError, RuntimeError):  # allocation damaged beyond a copy: use the journal
            recover(path, force=True)
        now = _utc_now()
        with _locked(path, True, lock_timeout_s) as fd:
            with _open_h5(path, "r+") as f:
                _check_schema(f, path)
                n = int(f.attrs["rows_committed"])
                for name in f["data"]:
                    ds = f["data"][name]
                    if ds.shape[0] != n:  # rows past the last commit are discarded
                        ds.resize(n, axis=0)
                columns = list(f["data"].attrs["columns"])
                n_wl = f["axes/wavelength_nm"].shape[0] if "spectrum" in f["data"] else None
                start = _parse_iso(f.attrs["start_time"])
                last = f.attrs.get("last_flush_time", f.attrs["start_time"])
                gap_s = (now - _parse_iso(last)).total_seconds()
                f.attrs["status"] = "running"
                f.attrs["end_time"] = ""
                f.attrs["resume_count"] = int(f.attrs.get("resume_count", 0)) + 1
            os.fsync(fd)
        writer = cls(path, columns, n_wl, start_time=start, rows_flushed=n,
                     flush_interval_s=flush_interval_s, max_buffer_rows=max_buffer_rows,
                     background_flush=background_flush, lock_timeout_s=lock_timeout_s,
                     journal=journal)
        writer.gap_s = gap_s
        if journal:
            writer._journal_snapshot()
        writer.event("info", f"resume: gap {gap_s:.3f} s since the last stored row "
                     f"(row {n})", category="resume")
        writer.flush()
        return writer

    # ------------------------------------------------------------------ flushing
    def flush(self, lock_timeout_s: float | None = None) -> int:
        """Write buffered rows and events to disk now; returns rows committed in total.

        On a write failure the run file keeps every previously committed row, the
        batch stays in the journal, :attr:`error` is set and a :class:`StoreError`
        raised.
        """
        with self._io_lock:
            if self.error is not None:
                raise self.error
            batch = self._take()
            if batch is None:
                return self.rows_flushed
            try:
                self._commit(batch, lock_timeout_s)
            except StoreBusy:
                self._requeue(batch)  # a reader holds the file: try again next time
                if lock_timeout_s is not None:
                    raise
            except OSError as exc:
                saved = (f"rows 0..{self.rows_flushed - 1} are saved" if self.rows_flushed
                         else "no rows were saved")
                self.error = StoreError(
                    exc.errno or errno.EIO,
                    f"cannot write run file {self.path}: {_reason(exc)} ({saved}; run stopped)")
                raise self.error from exc
            return self.rows_flushed

    def _commit(self, batch: _Batch, lock_timeout_s: float | None = None) -> None:
        # Refuse a write that would run out of space half-way (journal + HDF5).
        needed = _bytes_needed(batch, self.n_wavelengths)
        if shutil.disk_usage(self.path.parent).free < 2 * needed + _FREE_SPACE_MARGIN_B:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        # The lock comes first so that a busy file leaves neither journal nor file touched.
        with _locked(self.path, True, lock_timeout_s or self.lock_timeout_s) as fd:
            if self._journal_fh is not None:
                self._journal_write(b"B", _batch_record(batch, self.rows_flushed))
            with _open_h5(self.path, "r+") as f:
                n0 = _append_to_file(f, batch)
                f.attrs["last_flush_time"] = _iso(_utc_now())
            os.fsync(fd)
        self.rows_flushed = n0 + batch.n_rows

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            try:
                self.flush()
            except OSError:
                return  # error is kept in self.error and raised on the next append

    # --------------------------------------------------------------- finishing
    def finish(self, status: str = "finished", message: str | None = None) -> str:
        """Flush, set the final status and end time, and close. Returns the status.

        If the final flush fails the status written is ``failed`` (when the disk
        still allows it); the rows already committed stay readable.
        """
        if status not in STATUSES[1:]:
            raise ValueError(f"status = {status!r} is not allowed: use finished, "
                             "aborted or failed")
        if self._closed:
            return self.status
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join()
        if message:
            self.event("error" if status == "failed" else "info", message)
        try:
            self.flush(lock_timeout_s=max(self.lock_timeout_s, 30.0))
        except (OSError, StoreBusy) as exc:
            if self.error is None:
                self.error = StoreError(errno.EBUSY, f"cannot finalise {self.path}: {exc}")
            status = "failed"
        clean = False
        with contextlib.suppress(OSError, StoreBusy):
            with _locked(self.path, True, max(self.lock_timeout_s, 10.0)) as fd:
                with _open_h5(self.path, "r+") as f:
                    f.attrs["status"] = status
                    f.attrs["end_time"] = _iso(_utc_now())
                os.fsync(fd)
            clean = self.error is None
        self._journal_close(delete=clean)
        self.status = status
        self._closed = True
        return status

    def close(self) -> None:
        """Finalise as ``aborted`` if still running (idempotent)."""
        if not self._closed:
            self.finish("aborted" if self.error is None else "failed")

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish("finished")
        else:
            text = "".join(traceback.format_exception(exc_type, exc, tb))
            self.event("error", f"exception: {text}")
            self.finish("aborted" if issubclass(exc_type, KeyboardInterrupt) else "failed")

    def __repr__(self) -> str:
        return f"<RunWriter {self.path} rows_flushed={self.rows_flushed} status={self.status}>"


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "disk full"
    return exc.strerror or str(exc)


def _bytes_needed(batch: _Batch, n_wl: int | None) -> int:
    n = batch.n_rows
    chunk = _COLUMN_CHUNK_ROWS * 8
    need = len(batch.columns) * (n * 8 + 2 * chunk)
    if n_wl:
        need += (n + 2 * _SPECTRUM_CHUNK_ROWS) * n_wl * 8
    need += sum(len(m) + 64 for _, _, m in batch.events) + 64 * 1024
    return need
