"""The run engine: runs a PyMeasure ``Procedure`` headless with its records going to a
:class:`~acquisition.store.RunWriter`.

It mirrors PyMeasure 0.16's ``Worker`` semantics without a thread or a CSV file:
``procedure.emit`` and ``procedure.should_stop`` are routed here; ``startup()`` runs,
then the run file is created with the procedure's metadata, then ``execute()``; and
``shutdown()`` ALWAYS runs. The run ends ``finished``, ``aborted`` (stop flag, SIGINT,
SIGTERM) or ``failed`` (exception — its traceback goes to ``/events`` — or a store error).

Procedure-side protocol (what procedure authors implement)
----------------------------------------------------------
``DATA_COLUMNS``
    Unit-suffixed column names (``time_s``, ``voltage_V``, ``luminance_cd_m2`` …);
    ``COLUMN_UNITS = {name: units}`` for the rare name that cannot carry its unit.
``run_metadata() -> dict`` (optional, called after ``startup()``)
    Keys: ``sample``, ``pixel``, ``operator``, ``simulated`` (bool), ``station`` (dict),
    ``instruments`` (dict role → identification string), ``truth`` (dict or None),
    ``spectrum_axis_nm`` (array or None), ``spectrum_units`` (str), ``procedure_version``.
``emit(topic, record)``
    ``'results'``: one row dict (may hold ``'spectrum'``, a 1-D array on the axis);
    ``'batch results'``: dict of equal-length arrays (``'spectrum'`` 2-D);
    ``'event'``: ``{'level': 'info'|'warning'|'error', 'message': str[,
    'stress_time_s': float]}`` — the engine stamps ``time_s`` itself, on the run's clock
    (:class:`~acquisition.runclock.RunClock`: seconds since the run started, the
    procedure's ``clock`` once it has one); a record's own ``time_s`` is ignored;
    ``'progress'``: percent; ``'status'``: free text.
``should_stop()``
    Checked by the procedure between steps; abort is cooperative.
``resume_from(run) -> bool`` (optional)
    Called by ``qled resume`` with the stored :class:`~acquisition.store.Run` before
    ``startup()``; set the procedure's state to continue after the last stored row,
    return False if the run cannot be continued.

One writer per run file: a new run's file and a resumed one are held under their run lock
(``<file>.h5.lock``) until the run ends; a second writer is refused in one line naming the
holder (``RunResult.refused``). When the file could not be written (disk full, I/O error)
the result says what is saved and how to finish the file (``RunResult.note``,
``store_failed``): nothing more is done on that disk.

For the GUI, :class:`HDF5Worker` is a drop-in PyMeasure ``Worker`` whose records go
both to the HDF5 file (the primary record) and to PyMeasure's display machinery.
"""
from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datetime as _dt

from pymeasure.experiment import Procedure

from acquisition.runclock import RunClock
from acquisition.store import (RunLocked, RunWriter, StoreError, load_run, resume_clock_s,
                               run_lock)

_log = logging.getLogger(__name__)

__all__ = ["RunResult", "RunEngine", "run_procedure", "resume_run", "procedure_import_path",
           "restore_procedure", "check_output_dir", "HDF5Worker"]

RUN_METADATA_KEYS = ("sample", "pixel", "operator", "simulated", "station", "instruments",
                     "truth", "spectrum_axis_nm", "spectrum_units", "procedure_version")


@dataclass(frozen=True)
class RunResult:
    """Outcome of a run: its file (None if none could be created), status and message.

    ``refused`` is True when the run failed on a value the user can fix (a ``ValueError``
    such as a bad station file or a parameter the station cannot honour) or on a run file
    another writer holds, before anything was recorded: the program reports it as a user
    error, not as a failed measurement. ``store_failed`` is True when the run file could not
    be written (disk full, I/O error); ``note`` then says what is saved and how to finish
    the file (no analysis should touch that disk now).
    """
    path: Path | None
    status: str
    message: str = ""
    rows: int = 0
    refused: bool = False
    store_failed: bool = False
    note: str = ""


def procedure_import_path(procedure: Procedure | type) -> str:
    """``package.module:Class`` of a procedure (stored so a run can be rebuilt)."""
    cls = procedure if isinstance(procedure, type) else type(procedure)
    return f"{cls.__module__}:{cls.__qualname__}"


def restore_procedure(procedure_class: type, parameters: Mapping[str, Any]) -> Procedure:
    """An instance of ``procedure_class`` with stored parameter values (unknown names ignored).

    The class is the caller's choice (the ``qled`` program picks it from its registry of
    measurement kinds by the run's ``procedure`` attribute): nothing named in a run file is
    ever imported or called.
    """
    if not (isinstance(procedure_class, type) and issubclass(procedure_class, Procedure)):
        raise ValueError(f"{procedure_class!r} is not a PyMeasure Procedure class")
    procedure = procedure_class()
    known = procedure.parameter_objects()
    for name, value in parameters.items():
        if name in known:
            setattr(procedure, name, value)
    procedure.refresh_parameters()
    return procedure


def check_output_dir(out_dir: str | os.PathLike) -> Path:
    """Create ``out_dir`` if needed and prove it writable (before any instrument is touched).

    Raises ``PermissionError`` (or another ``OSError``) with one clear line.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".qled-write-test-"):
            pass
    except OSError as exc:
        raise PermissionError(f"output folder {out} is not writable: "
                              f"{exc.strerror or exc}") from None
    return out


def _parameters_of(procedure: Procedure) -> dict[str, tuple[Any, str, str]]:
    out = {}
    for name, param in procedure.parameter_objects().items():
        out[name] = (getattr(procedure, name), getattr(param, "units", None) or "",
                     param.name)
    return out


class RunEngine:
    """Runs one procedure into one run file. Use :func:`run_procedure` / :func:`resume_run`.

    Parameters
    ----------
    procedure : pymeasure.experiment.Procedure
    out_dir : path
        Folder for a new run file (ignored when ``resume_path`` is given).
    resume_path : path, optional
        Continue this run file instead of creating one.
    flush_interval_s : float
        Longest time rows wait in memory before reaching the disk [s].
    progress : callable, optional
        ``progress(percent)`` for ``'progress'`` records.
    on_emit : callable, optional
        ``on_emit(topic, record)`` receives every record (GUI bridge, live plots).
    file_tag : str
        Added to a new run file's name (``…_lifetime_ch2.h5``).
    command : str
        What runs, as the run file's lock names it (``qled run lifetime``).
    """

    #: Records emitted before the run file exists that are kept (the rest are counted).
    MAX_PENDING = 10_000

    def __init__(self, procedure: Procedure, out_dir: str | os.PathLike | None = None, *,
                 resume_path: str | os.PathLike | None = None, flush_interval_s: float = 1.0,
                 progress: Callable[[float], None] | None = None,
                 on_emit: Callable[[str, Any], None] | None = None, file_tag: str = "",
                 command: str = ""):
        if not isinstance(procedure, Procedure):
            raise ValueError("procedure must be a pymeasure.experiment.Procedure instance")
        self.procedure = procedure
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.resume_path = None if resume_path is None else Path(resume_path)
        self.flush_interval_s = flush_interval_s
        self.progress = progress
        self.on_emit = on_emit
        self.writer: RunWriter | None = None
        self.status = "queued"
        self.message = ""
        self.stop_signal: int | None = None
        self.file_tag = file_tag
        self.command = command
        self.clock = RunClock()
        self._start_utc = _dt.datetime.now(_dt.timezone.utc)
        self._stop = threading.Event()
        self._pending: list[tuple[str, Any]] = []  # records emitted before the writer exists
        self._failed_after_stop = False

    # ------------------------------------------------------------- routing
    def stop(self) -> None:
        """Ask the procedure to stop at its next ``should_stop()`` check."""
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set() or (self.writer is not None and self.writer.error is not None)

    def emit(self, topic: str, record: Any) -> None:
        if self.on_emit is not None:
            self.on_emit(topic, record)
        if topic == "progress":
            if self.progress is not None:
                self.progress(float(record))
            return
        if topic not in ("results", "batch results", "event"):
            return
        if topic == "event":
            if not isinstance(record, Mapping) or "message" not in record:
                raise ValueError("an 'event' record must be a dict with 'level' and 'message'")
            record = (record.get("level", "info"), record["message"], self.event_time_s(),
                      record.get("stress_time_s"))
        if self.writer is None:
            if len(self._pending) < self.MAX_PENDING:
                self._pending.append((topic, record))
            return
        self._store(topic, record)

    def event_time_s(self) -> float:
        """Now on the run's clock: seconds since the run started (the procedure's clock once
        it has one)."""
        if not self.clock.following:
            clock = getattr(self.procedure, "clock", None)
            if callable(getattr(clock, "time", None)):
                self.clock.follow(clock)
        return self.clock.now()

    def _store(self, topic: str, record: Any) -> None:
        if topic == "results":
            self.writer.append(record)
        elif topic == "batch results":
            self.writer.append_batch(record)
        else:
            level, message, time_s, stress = record
            self.writer.event(level, message, time_s, stress_time_s=stress)

    # ------------------------------------------------------------- running
    def _open_writer(self) -> RunWriter:
        if self.resume_path is not None:    # events of the start-up go before the resume's
            early = [r for t, r in self._pending if t == "event"]
            writer = RunWriter.reopen(self.resume_path, flush_interval_s=self.flush_interval_s,
                                      clock=self.event_time_s, events=early,
                                      command=self.command or "qled resume")
            self._pending = [(t, r) for t, r in self._pending if t != "event"]
            return writer
        meta = {}
        if hasattr(self.procedure, "run_metadata"):
            meta = dict(self.procedure.run_metadata() or {})
        unknown = set(meta) - set(RUN_METADATA_KEYS)
        if unknown:
            raise ValueError(f"run_metadata() keys {sorted(unknown)} are not allowed: "
                             f"allowed are {', '.join(RUN_METADATA_KEYS)}")
        params = _parameters_of(self.procedure)
        sample = meta.get("sample") or getattr(self.procedure, "sample", None) or "sample"
        store_meta = {k: meta[k] for k in ("simulated", "station", "instruments",
                                           "procedure_version") if k in meta}
        return RunWriter.create(
            self.out_dir, procedure=procedure_import_path(self.procedure), sample=str(sample),
            pixel=str(meta.get("pixel", "")), operator=str(meta.get("operator", "")),
            parameters=params, columns=list(self.procedure.DATA_COLUMNS),
            units=getattr(self.procedure, "COLUMN_UNITS", None),
            spectrum_axis_nm=meta.get("spectrum_axis_nm"),
            spectrum_units=meta.get("spectrum_units") or "W/(sr m^2 nm)",
            metadata=store_meta, truth=meta.get("truth"),
            flush_interval_s=self.flush_interval_s, file_tag=self.file_tag,
            start_time=self._start_utc, command=self.command or "run")

    def run(self, handle_signals: bool = True) -> RunResult:
        """Run the procedure to its end; never raises for procedure or store failures."""
        proc = self.procedure
        try:
            proc.check_parameters()
        except NameError as exc:
            raise ValueError(str(exc)) from None
        if self.resume_path is None:
            check_output_dir(self.out_dir)
        else:        # the clock goes on from the last flush (+ the wall-clock gap)
            try:
                self.clock = RunClock(resume_clock_s(self.resume_path))
            except (OSError, KeyError, ValueError):   # damaged: reopen rebuilds it, then says
                self.clock = RunClock()
        self._start_utc = _dt.datetime.now(_dt.timezone.utc)
        proc.emit, proc.should_stop = self.emit, self.should_stop
        proc.is_last = lambda: True
        proc.status = Procedure.RUNNING
        self.status = "running"
        restore = self._install_signals() if handle_signals else {}
        failure: BaseException | None = None
        trace = ""
        try:
            try:
                proc.startup()
                if not self._stop.is_set():
                    self.writer = self._open_writer()
                    self.writer.clock = self.event_time_s
                    for topic, record in self._pending:
                        self._store(topic, record)
                    self._pending.clear()
                    proc.execute()
            except KeyboardInterrupt:
                self._stop.set()
            except Exception as exc:  # noqa: BLE001 - every failure ends the run as failed
                failure, trace = exc, traceback.format_exc()
                # An abort may switch outputs off under a running step (GUI abort), so the
                # step's next exchange fails: that run was aborted, not failed.
                self._failed_after_stop = self._stop.is_set()
            finally:
                try:
                    proc.shutdown()
                except Exception as exc:  # noqa: BLE001
                    if failure is None:
                        failure = exc
                    trace += "shutdown failed:\n" + traceback.format_exc()
        finally:
            for sig, handler in restore.items():
                signal.signal(sig, handler)
        return self._finalise(failure, trace)

    def _finalise(self, failure: BaseException | None, trace: str) -> RunResult:
        writer = self.writer
        if failure is not None and self._failed_after_stop and \
                (writer is None or writer.error is None):
            self.message = "stopped (then " + _one_line(failure) + ")"
            if writer is not None:
                writer.event("warning", f"abort: exception after the stop request: {trace}")
            failure, trace = None, ""
        if failure is not None or (writer is not None and writer.error is not None):
            status = "failed"
            error = failure if failure is not None else writer.error
            self.message = _one_line(error)
        elif self._stop.is_set():
            status = "aborted"
            if not self.message:
                self.message = ("stopped by " + signal.Signals(self.stop_signal).name
                                if self.stop_signal else "stopped")
        else:
            status = "finished"
        if writer is None:
            self.status = status
            self.procedure.status = _PM_STATUS[status]
            return RunResult(None, status, self.message,
                             refused=isinstance(failure, (ValueError, RunLocked)),
                             store_failed=isinstance(failure, StoreError)
                             and not isinstance(failure, RunLocked))
        if writer.error is None:
            if trace:
                writer.event("error", f"exception: {trace}")
            elif status == "aborted":
                writer.event("warning", f"abort: {self.message}")
        status = writer.finish(status)
        if writer.error is not None and failure is None:
            self.message = _one_line(writer.error)
        self.status = status
        self.procedure.status = _PM_STATUS[status]
        return RunResult(writer.path, status, self.message, writer.rows_flushed,
                         store_failed=writer.error is not None, note=writer.saved_note)

    def _install_signals(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handler(signum, frame):
            if self._stop.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt  # second Ctrl-C: leave a hung step now
            self.stop_signal = signum
            self._stop.set()

        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
        return previous


_PM_STATUS = {"finished": Procedure.FINISHED, "aborted": Procedure.ABORTED,
              "failed": Procedure.FAILED, "running": Procedure.RUNNING}


def _one_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message; the class name only for unexpected errors (a
    ``ValueError`` already says what is wrong and what is allowed)."""
    if isinstance(exc, StoreError) and exc.strerror:   # the store's messages are one line
        return " ".join(exc.strerror.split())
    text = str(exc).strip().splitlines()
    if isinstance(exc, ValueError) and text:
        return text[0]
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def run_procedure(procedure: Procedure, out_dir: str | os.PathLike, *,
                  flush_interval_s: float = 1.0,
                  progress: Callable[[float], None] | None = None,
                  on_emit: Callable[[str, Any], None] | None = None,
                  handle_signals: bool = True) -> RunResult:
    """Run ``procedure`` headless into a new run file in ``out_dir``.

    SIGINT/SIGTERM set the stop flag (a second SIGINT interrupts a hung step);
    the previous handlers are restored afterwards. An unwritable ``out_dir`` raises
    ``PermissionError`` before ``startup()`` touches any instrument.
    """
    engine = RunEngine(procedure, out_dir, flush_interval_s=flush_interval_s,
                       progress=progress, on_emit=on_emit)
    return engine.run(handle_signals=handle_signals)


def resume_run(path: str | os.PathLike, procedure_class: type, *,
               flush_interval_s: float = 1.0,
               progress: Callable[[float], None] | None = None,
               on_emit: Callable[[str, Any], None] | None = None,
               handle_signals: bool = True) -> RunResult:
    """Continue an interrupted run in the same file (``qled resume FILE``).

    Takes the run lock first (:class:`~acquisition.store.RunLocked` when another process
    writes the file), then rebuilds the procedure (``procedure_class`` with the stored
    parameters), hands it the stored run (``resume_from``), reopens the file for appending
    (recording the gap in ``/events``) and runs it; the lock is held until the run ends.
    """
    with run_lock(path, "qled resume"):
        run = load_run(path, spectra=True)
        if run.status == "finished":
            raise ValueError(f"{Path(path).name} has status finished: nothing to resume")
        procedure = restore_procedure(procedure_class, run.parameter_values())
        resume = getattr(procedure, "resume_from", None)
        if resume is None:
            raise ValueError(f"procedure {run.procedure} does not support resume "
                             "(no resume_from method)")
        if resume(run) is False:
            raise ValueError(f"procedure {run.procedure} cannot continue this run "
                             "(resume_from returned False)")
        del run                            # its rows are not needed while the run goes on
        engine = RunEngine(procedure, resume_path=path, flush_interval_s=flush_interval_s,
                           progress=progress, on_emit=on_emit)
        return engine.run(handle_signals=handle_signals)


# -------------------------------------------------------------------- GUI bridge
try:
    from pymeasure.experiment.workers import Worker as _PMWorker
except ImportError:  # pragma: no cover
    _PMWorker = None


if _PMWorker is not None:
    class HDF5Worker(_PMWorker):
        """PyMeasure ``Worker`` whose primary record is the HDF5 run file.

        It runs the procedure through :class:`RunEngine` so that the HDF5 file in
        ``out_dir`` is the record, and passes results, status and progress on to the
        Worker's own ``emit`` (PyMeasure's ``Recorder`` for ``results.data_filenames`` —
        give the ``Results`` no files to write no CSV at all — and the ``Monitor`` that
        drives a ``Manager``). Use it by giving the display's ``Manager`` this class
        instead of ``Worker``.

        Parameters
        ----------
        on_emit : callable, optional
            ``on_emit(topic, record)`` receives every record, spectra included, in the
            worker thread (e.g. to push rows to live plots through a queue).

        Notes
        -----
        ``Worker.join()`` (PyMeasure's ``StoppableThread.join``) waits for the stop flag,
        not for the thread, and stops the run when it times out; to wait for the end of
        the thread call ``threading.Thread.join(worker, timeout)``.
        """

        def __init__(self, results, out_dir, log_queue=None, log_level=20, port=None,
                     flush_interval_s: float = 1.0,
                     on_emit: Callable[[str, Any], None] | None = None):
            super().__init__(results, log_queue=log_queue, log_level=log_level, port=port)
            self.out_dir = Path(out_dir)
            self.flush_interval_s = flush_interval_s
            self.on_emit = on_emit
            self.engine: RunEngine | None = None
            self.run_result: RunResult | None = None

        @property
        def path(self) -> Path | None:
            """The run file, once the engine has created it (None before)."""
            engine = self.engine
            writer = engine.writer if engine is not None else None
            return writer.path if writer is not None else None

        def run(self):
            from pymeasure.experiment.listeners import Recorder
            self.procedure = self.results.procedure
            self.recorder = Recorder(self.results, self.recorder_queue)
            self.recorder.start()
            self.prepare_run()
            self.update_status(Procedure.RUNNING)
            status = Procedure.FAILED
            name = type(self).__name__
            try:
                status = self.execute_run()
            except Exception:  # noqa: BLE001 - bad folder, station or parameters
                _log.exception("%s: the run could not start", name)
                _PMWorker.emit(self, "error", traceback.format_exc())
            try:
                self.after_run()
            except Exception:  # noqa: BLE001 - a failing hook must not hide the run's end
                _log.exception("%s: after_run failed", name)
            self.update_status(status)  # exactly one final status: the Manager acts on it
            if status == Procedure.FINISHED:
                self.emit("progress", 100.0)
            self.recorder.stop()
            self.monitor_queue.put(None)
            self.stop()

        def prepare_run(self) -> None:
            """Build the run engine (before the status turns RUNNING)."""
            self.engine = RunEngine(self.procedure, self.out_dir,
                                    flush_interval_s=self.flush_interval_s,
                                    on_emit=self._forward)
            self.engine._stop = self._should_stop  # Worker.stop() is the engine's stop flag

        def execute_run(self) -> int:
            """Run the procedure; return its final PyMeasure status. Overridable: the rest
            of :meth:`run` (recorder, statuses, ``after_run``, clean-up) is shared."""
            self.run_result = self.engine.run(handle_signals=False)
            return _PM_STATUS.get(self.engine.status, Procedure.FAILED)

        def after_run(self) -> None:
            """Called in the worker thread after the run file is closed, before the final
            status is announced (e.g. analyse the file); override in subclasses."""

        def _forward(self, topic: str, record: Any) -> None:
            if self.on_emit is not None:
                self.on_emit(topic, record)
            if topic in ("results", "batch results") and isinstance(record, Mapping):
                record = {k: v for k, v in record.items() if k != "spectrum"}
            if topic in ("results", "batch results", "progress", "status"):
                _PMWorker.emit(self, topic, record)
else:  # pragma: no cover
    HDF5Worker = None
