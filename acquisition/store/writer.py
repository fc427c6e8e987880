"""Writing one run: :class:`RunWriter` creates, reopens, flushes and finishes its file.

The write scheme: the complete skeleton is written under a temporary name in the target
folder, closed, fsynced and then hard-linked to its final name (``os.link`` fails if the
name exists, so a file is never overwritten and never seen half-created). Rows are
buffered in memory (:mod:`acquisition.store.buffer`); at each flush (every
``flush_interval_s`` from a background thread, or when the buffer reaches
``max_buffer_rows``) the batch is journalled (:mod:`acquisition.store.journal`), then the
file is opened ``r+`` under an exclusive lock, extended, its ``rows_committed`` attribute
updated, closed and fsynced. A failed write sets :attr:`RunWriter.error` and stops the run
with every committed row kept. :meth:`RunWriter.reopen` resumes an interrupted run. A
writer holds its file's run lock (:mod:`acquisition.store.runlock`) from before the first
row until it finishes (:mod:`acquisition.store.finalise`: a full disk never damages what is
saved).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .buffer import _RowBuffer
from .encoding import _normalise_parameters, _validate_key
from .finalise import _Finisher
from .journal import (_batch_record, _journal_record, _JournalWriter,
                      _skeleton_json, journal_path)
from .locking import (_FREE_SPACE_MARGIN_B, StoreBusy, StoreError, _check_free, _fsync_dir,
                      _locked, _open_h5, _reason)
from .recovery import _DAMAGE_ERRORS, _repack, recover
from .runlock import RunLock, run_lock
from .schema import (METADATA_KEYS, SCHEMA_VERSION, _add_stress_column, _append_to_file,
                     _Batch, _bytes_needed, _check_schema, _clock_at_resume, _iso,
                     _link_unique, _local_now, _parse_iso, _utc_now, _write_skeleton,
                     run_file_name, units_for_column)


class RunWriter(_RowBuffer, _JournalWriter, _Finisher):
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
    clock : callable
        ``clock()`` → seconds since the run started on the run's clock: the time of events
        recorded without one. Default: the writer's own monotonic time (continuing the
        stored clock on resume); the run engine sets the procedure's clock.
    saved_note : str
        After :meth:`finish` of a run whose file could not be written: what is saved and how
        to finish the file ('' otherwise).
    """

    def __init__(self, path: Path, columns: list[str], n_wavelengths: int | None, *,
                 start_time: _dt.datetime, rows_flushed: int, flush_interval_s: float,
                 max_buffer_rows: int, background_flush: bool, lock_timeout_s: float,
                 journal: bool, lock: RunLock | None = None, clock_s: float = 0.0):
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
        self.saved_note = ""
        self.lock = lock
        t0 = time.monotonic()
        self.clock: Callable[[], float] = lambda: clock_s + (time.monotonic() - t0)
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
        self._journal_fd = None
        self._journal_end = 0
        self._journal_rows = rows_flushed
        self._stop = threading.Event()
        self._background = background_flush
        self._flusher = None

    def _start(self) -> RunWriter:
        if self._background:
            self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                             name=f"RunWriter-flush:{self.path.name}")
            self._flusher.start()
        return self

    def _abandon(self, delete_file: bool) -> None:
        """Give up a writer that could not start: journal closed (deleted with the file when
        ``delete_file``: a new, empty run), run lock released."""
        self._closed = True
        self._journal_close(delete=delete_file)
        if delete_file:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            _fsync_dir(self.path.parent)
        if self.lock is not None:
            self.lock.release()

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
               journal: bool = True, file_tag: str = "",
               start_time: _dt.datetime | None = None, command: str = "") -> RunWriter:
        """Create a new run file in ``out_dir`` and return its writer (holding its run lock).

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
        file_tag : str
            Added to the file name (``…_lifetime_ch2.h5``), e.g. a channel.
        start_time : datetime, optional
            When the run started (UTC; default now): the zero of the run's clock.
        command : str
            What writes the file, recorded in its lock file (``qled run lifetime``).

        Raises :class:`StoreError` in one line when the file cannot be created (disk full,
        folder not writable): then nothing is left behind.
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
        start = start_time if start_time is not None else _utc_now()
        local_start = _local_now() if start_time is None else \
            start_time.astimezone().replace(tzinfo=None)
        # pid + thread + random: writers in several threads may start in the same second
        tmp = out / (f".{run_file_name(sample, procedure, local_start)}.{os.getpid()}."
                     f"{threading.get_ident()}.{os.urandom(4).hex()}.tmp")
        try:
            _check_free(out, 0, "create a run file")
            with _open_h5(tmp, "w") as f:
                _write_skeleton(f, procedure=procedure, sample=sample, pixel=pixel,
                                operator=operator, params=params, columns=columns,
                                col_units=col_units, wl=wl, metadata=metadata, truth=truth,
                                start=start, spectrum_units=spectrum_units)
                # how stale a running file may look before it is stalled (qled status)
                f.attrs["flush_interval_s"] = float(flush_interval_s)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            path, lock = _link_unique(tmp, out, sample, procedure, local_start, file_tag,
                                      claim=lambda p: run_lock(p, command or "run"))
        except (OSError, RuntimeError) as exc:
            if isinstance(exc, StoreError):          # already one line (disk full, lock file)
                raise
            raise StoreError(getattr(exc, "errno", None) or errno.EIO,
                             f"cannot create a run file in {out}: {_reason(exc)} "
                             "(nothing was recorded)") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(out)
        writer = cls(path, columns, None if wl is None else wl.size, start_time=start,
                     rows_flushed=0, flush_interval_s=flush_interval_s,
                     max_buffer_rows=max_buffer_rows, background_flush=background_flush,
                     lock_timeout_s=lock_timeout_s, journal=journal, lock=lock,
                     clock_s=max(0.0, (_utc_now() - start).total_seconds()))
        if journal:
            try:
                writer._journal_open()
                writer._journal_write(b"S", _skeleton_json(path).encode())
            except (OSError, *_DAMAGE_ERRORS) as exc:
                writer._abandon(delete_file=True)
                raise StoreError(getattr(exc, "errno", None) or errno.EIO,
                                 f"cannot create a run file in {out}: {_reason(exc)} "
                                 "(nothing was recorded)") from None
        return writer._start()

    @classmethod
    def reopen(cls, path: str | os.PathLike, *, flush_interval_s: float = 1.0,
               max_buffer_rows: int = 20_000, background_flush: bool = True,
               lock_timeout_s: float = 2.0, journal: bool = True,
               clock: Callable[[], float] | None = None, command: str = "",
               events: Sequence[tuple] = ()) -> RunWriter:
        """Reopen an interrupted run for appending (resume), holding its run lock.

        The lock is taken first (:class:`~acquisition.store.runlock.RunLocked` names the
        holder if another writer has it; a stale lock of a dead process of this host is
        taken over and recorded). A damaged file is then rebuilt from its journal
        (:func:`recover`). Sets the status back to ``running`` and records a ``resume``
        event with the gap since the last stored row. ``clock`` is the run's clock (default:
        the stored clock at the last flush plus the wall-clock gap, then monotonic time);
        ``events`` (``(level, message, time_s, stress_time_s)``) happened before the reopen
        and are recorded first.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"run file {path} does not exist")
        lock = run_lock(path, command or "resume")
        writer = None
        try:
            recover(path)
            # A killed writer can leave allocation metadata that reads fine but breaks the
            # next write ("len not positive after adjustment for EOA"): continue on a copy.
            _check_free(path.parent, 2 * path.stat().st_size, f"resume {path.name}")
            try:
                _repack(path, lock_timeout_s)
            except (OSError, RuntimeError):  # allocation damaged beyond a copy: the journal
                recover(path, force=True)
            now = _utc_now()
            with _locked(path, True, lock_timeout_s) as fd:
                with _open_h5(path, "r+") as f:
                    _check_schema(f, path)
                    f.attrs["flush_interval_s"] = float(flush_interval_s)   # this writer's
                    n = int(f.attrs["rows_committed"])
                    for name in f["data"]:
                        ds = f["data"][name]
                        if ds.shape[0] != n:  # rows past the last commit are discarded
                            ds.resize(n, axis=0)
                    if "stress_time_s" not in f["events"]:      # a file of schema 1.0
                        _add_stress_column(f["events"])
                        f.attrs["schema_version"] = SCHEMA_VERSION
                    columns = list(f["data"].attrs["columns"])
                    n_wl = f["axes/wavelength_nm"].shape[0] if "spectrum" in f["data"] else None
                    start = _parse_iso(f.attrs["start_time"])
                    last = f.attrs.get("last_flush_time", f.attrs["start_time"])
                    gap_s = (now - _parse_iso(last)).total_seconds()
                    m = int(f.attrs["events_committed"])
                    clock_s = _clock_at_resume(f.attrs, f["events/time_s"][:m], now)
                    f.attrs["status"] = "running"
                    f.attrs["end_time"] = ""
                    f.attrs["resume_count"] = int(f.attrs.get("resume_count", 0)) + 1
                os.fsync(fd)
            writer = cls(path, columns, n_wl, start_time=start, rows_flushed=n,
                         flush_interval_s=flush_interval_s, max_buffer_rows=max_buffer_rows,
                         background_flush=background_flush, lock_timeout_s=lock_timeout_s,
                         journal=journal, lock=lock, clock_s=clock_s)
            if clock is not None:
                writer.clock = clock
            writer.gap_s = gap_s
            if journal:
                writer._journal_snapshot()
            for level, message, time_s, stress in events:
                writer.event(level, message, time_s, stress_time_s=stress)
            if lock.stale is not None:
                writer.event("warning", lock.stale_note())
            writer.event("info", f"resume: gap {gap_s:.3f} s since the last stored row "
                         f"(row {n})", category="resume")
            writer.flush()
        except BaseException as exc:
            if writer is not None:
                writer._abandon(delete_file=False)
            else:
                lock.release()
            if isinstance(exc, OSError) and not isinstance(exc, StoreError):
                raise StoreError(exc.errno or errno.EIO, f"cannot resume {path.name}: "
                                 f"{_reason(exc)} (the file is unchanged)") from None
            raise
        return writer._start()

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
            except (OSError, *_DAMAGE_ERRORS) as exc:
                saved = (f"rows 0..{self.rows_flushed - 1} are saved" if self.rows_flushed
                         else "no rows were saved")
                code = getattr(exc, "errno", None) or errno.EIO
                self.error = StoreError(
                    code, f"cannot write run file {self.path}: {_reason(exc)} "
                    f"({saved}; run stopped)")
                raise self.error from exc
            return self.rows_flushed

    def _commit(self, batch: _Batch, lock_timeout_s: float | None = None) -> None:
        # Refuse a write that would run out of space half-way (journal + HDF5).
        needed = _bytes_needed(batch, self.n_wavelengths)
        if shutil.disk_usage(self.path.parent).free < 2 * needed + _FREE_SPACE_MARGIN_B:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        # The lock comes first so that a busy file leaves neither journal nor file touched.
        with _locked(self.path, True, lock_timeout_s or self.lock_timeout_s) as fd:
            if self._journal_fd is not None:
                self._journal_put(_journal_record(b"B", _batch_record(batch, self.rows_flushed)))
                self._journal_rows = self.rows_flushed + batch.n_rows
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

    def __repr__(self) -> str:
        return f"<RunWriter {self.path} rows_flushed={self.rows_flushed} status={self.status}>"
