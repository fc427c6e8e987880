"""Runs of the window: results whose record is the HDF5 file, the workers that run them (one
procedure, or N lifetime channels at once), and the manager that queues them.

Runs go through :class:`GuiWorker` (an :class:`acquisition.runner.HDF5Worker`): the HDF5 file is
the record, PyMeasure's ``Results`` writes nothing (its ``data_filenames`` is empty), and the
worker's records reach the live plots through a queue (:class:`~qled.gui.live.RecordFeed`).
When a run ends, the analysis and report of its kind (:mod:`qled.kinds`) are written beside
it (:func:`write_summary`). :class:`ChannelsWorker` runs N lifetime channels through
:func:`procedures.lifetime_channels.run_channels` (one file per channel).
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from pymeasure.display.listeners import Monitor
from pymeasure.display.manager import Manager
from pymeasure.experiment import Procedure, Results
from pymeasure.experiment.results import CSVFormatter

from acquisition.runner import HDF5Worker
from qled.kinds import kind_of_run

from .abort import outputs_off_now, serialise_station
from .live import RecordFeed, RunData
from .presets import Preset

__all__ = ["RunResults", "ChannelSummary", "write_summary", "GuiWorker", "ChannelsWorker",
           "QledManager", "running_procedures", "JOIN_TIMEOUT_S"]

log = logging.getLogger(__name__)

#: Longest wait for a worker thread to end after its final status [s].
JOIN_TIMEOUT_S = 10.0

_STATUS = {"finished": Procedure.FINISHED, "aborted": Procedure.ABORTED,
           "failed": Procedure.FAILED, "running": Procedure.RUNNING}


class RunResults(Results):
    """What PyMeasure's display needs of a run, with the HDF5 file as the record.

    ``data_filenames`` is empty, so PyMeasure's ``Recorder`` writes no CSV; ``data`` is
    the rows received so far (or read from the file); ``data_filename`` is the run
    file's path once the run has created it.
    """

    _counter = 0

    def __init__(self, procedure, out_dir, preset: Preset, run=None):
        # Results.__init__ would create a CSV file: set its attributes instead.
        if not isinstance(procedure, Procedure):
            raise ValueError("RunResults needs a Procedure instance")
        self.procedure = procedure
        self.procedure_class = type(procedure)
        self.parameters = procedure.parameter_objects()
        self.formatter = CSVFormatter(columns=procedure.DATA_COLUMNS)
        self._header_count = self._metadata_count = -1
        self._data = None
        self.out_dir = Path(out_dir)
        self.preset = preset
        self.data_filenames: list[str] = []
        RunResults._counter += 1
        self.data_filename = f"queued #{RunResults._counter}"
        self.path: Path | None = None
        self.feed = RecordFeed()
        self.run_data = RunData(procedure.DATA_COLUMNS, preset.derivers)
        self.worker: GuiWorker | None = None
        self.status = "queued"
        self.message = ""
        self.analysis: dict | None = None
        self.report_path: Path | None = None
        self.report_error = ""
        #: Channels run at once (lifetime); with more than one, ``paths`` and ``parts``
        #: (a :class:`ChannelSummary` each) hold every channel's file and summary.
        self.channels = int(getattr(procedure, "channels", 1) or 1)
        self.paths: list[Path] = []
        self.parts: list[ChannelSummary] = []
        if run is not None:
            self.set_path(run.path)
            self.status = run.status

    def set_path(self, path) -> None:
        self.path = Path(path)
        self.data_filename = str(self.path)

    @property
    def data(self):
        return self.run_data.frame()

    @property
    def report_pngs(self) -> list[Path]:
        """The report's figures (``<report stem>_*.png`` beside the report page)."""
        if self.report_path is None:
            return []
        return sorted(self.report_path.parent.glob(self.report_path.stem + "_*.png"))


class ChannelSummary:
    """One channel's file, status and summary in a several-channel run."""

    def __init__(self, channel: int, path, status: str, message: str = ""):
        self.channel = channel
        self.path = None if path is None else Path(path)
        self.status, self.message = status, message
        self.analysis: dict | None = None
        self.report_path: Path | None = None
        self.report_error = ""

    report_pngs = RunResults.report_pngs


def write_summary(results, path) -> None:
    """Analyse the run file and write its report beside it (the run's kind's ``analyze``
    and ``report``)."""
    from acquisition.store import load_run, write_analysis

    run = load_run(path)
    try:
        kind = kind_of_run(run)
        if kind.analyze is None:
            raise ValueError(f"runs of kind '{kind.name}' have no analysis")
        results.analysis = kind.analyze(run)
        write_analysis(path, kind.key, results.analysis)
    except (ValueError, OSError) as exc:      # OSError: the disk is full (file unchanged)
        results.report_error = f"analysis not possible: {' '.join(str(exc).split())}"
        return
    try:
        if kind.report is None:
            raise ValueError(f"runs of kind '{kind.name}' have no report page")
        results.report_path = Path(kind.report(run, Path(path).parent))
    except ValueError as exc:
        results.report_error += ("; " if results.report_error else "") + \
            f"report not possible: {exc}"


class GuiWorker(HDF5Worker):
    """The window's worker: the run file is the record, records go to the live plots'
    feed, links are serialised for the abort handler, and the run is analysed and
    reported in this thread before the final status reaches the GUI."""

    def __init__(self, results: RunResults, flush_interval_s: float = 0.25):
        super().__init__(results, results.out_dir, port=None, flush_interval_s=flush_interval_s,
                         on_emit=results.feed.put)
        procedure = results.procedure
        startup = procedure.startup

        def startup_then_serialise():
            startup()
            serialise_station(procedure.instruments)

        procedure.startup = startup_then_serialise

    def after_run(self) -> None:
        results: RunResults = self.results
        result = self.run_result
        if result is not None:
            results.status, results.message = result.status, result.message
        if self.path is not None:
            results.set_path(self.path)
        if result is None or result.path is None or not result.rows:
            return
        if result.store_failed:       # nothing more on a disk that just failed
            results.report_error = result.note
            return
        write_summary(results, result.path)


class ChannelsWorker(GuiWorker):
    """Worker of a several-channel lifetime run: :func:`procedures.lifetime.run_channels`
    with the run's inputs, each channel's records to the live plots tagged with their
    ``channel``, PyMeasure's stop flag as every channel's stop flag, and every channel
    file analysed and reported before the final status reaches the GUI."""

    def __init__(self, results: RunResults, flush_interval_s: float = 0.25):
        HDF5Worker.__init__(self, results, results.out_dir, port=None,
                            flush_interval_s=flush_interval_s)
        #: channel → LifetimeProcedure and the open station, once the channels run
        self.channel_procedures: dict = {}
        self.station = None
        self.channel_results: list = []
        self._progress: dict[int, float] = {}
        self._started = threading.Event()

    def _on_started(self, procedures, station) -> None:
        serialise_station(station)
        self.station = station
        self.channel_procedures = procedures
        self._started.set()
        if self.should_stop():   # aborted while the channels were starting
            for proc in procedures.values():
                outputs_off_now(proc)

    def _on_emit(self, channel: int, topic: str, record) -> None:
        feed = self.results.feed
        if topic == "results" and isinstance(record, dict):
            feed.put(topic, dict(record, channel=channel))
        elif topic == "batch results" and isinstance(record, dict):
            n = len(next((v for k, v in record.items() if k != "spectrum"), []))
            feed.put(topic, dict(record, channel=[float(channel)] * n))
        elif topic == "event" and isinstance(record, dict):
            feed.put(topic, dict(record, message=f"ch{channel}: {record.get('message', '')}"))
        elif topic == "progress":
            self._progress[channel] = float(record)
            HDF5Worker.emit(self, "progress",
                            sum(self._progress.values()) / self.results.channels)

    def prepare_run(self) -> None:
        """Nothing to build: :func:`~procedures.lifetime.run_channels` makes the engines."""

    def execute_run(self) -> int:
        from procedures.lifetime_channels import run_channels

        inputs = self.procedure
        self.channel_results = run_channels(
            inputs.channel_values, self.out_dir, overrides=dict(inputs.sim_overrides),
            flush_interval_s=self.flush_interval_s, handle_signals=False,
            on_started=self._on_started, on_emit=self._on_emit,
            stop_event=self._should_stop)
        states = [getattr(r, "status", "failed") for r in self.channel_results]
        return _STATUS["failed" if "failed" in states else
                       "aborted" if "aborted" in states else "finished"]

    def after_run(self) -> None:
        results: RunResults = self.results
        parts = []
        for c, r in enumerate(self.channel_results, start=1):
            if r is None:
                parts.append(ChannelSummary(c, None, "failed", "no result"))
                continue
            part = ChannelSummary(c, r.path, r.status, r.message)
            if r.store_failed:
                part.report_error = r.note
            elif r.path is not None and r.rows:
                write_summary(part, r.path)
            parts.append(part)
        results.parts = parts
        results.paths = [p.path for p in parts if p.path is not None]
        if not parts:
            results.status, results.message = "failed", "no channel ran"
            return
        states = [p.status for p in parts]
        results.status = ("failed" if "failed" in states else
                          "aborted" if "aborted" in states else "finished")
        results.message = "; ".join(f"ch{p.channel}: {p.message}" for p in parts
                                    if p.message)
        if results.paths:
            results.set_path(results.paths[0])
        first = parts[0]
        results.analysis, results.report_path = first.analysis, first.report_path
        results.report_error = first.report_error


def running_procedures(experiment) -> list:
    """The procedures sourcing for ``experiment``'s run: its own, or every channel's."""
    if experiment is None:
        return []
    worker = getattr(experiment.results, "worker", None)
    if isinstance(worker, ChannelsWorker):
        return list(worker.channel_procedures.values())
    return [experiment.procedure]


class QledManager(Manager):
    """PyMeasure's ``Manager`` running :class:`GuiWorker` threads and joining them for real.

    PyMeasure's ``_clean_up`` calls ``Worker.join()`` with its default timeout of 0, which
    neither waits for the thread nor lets it finish; here the thread is joined with
    ``threading.Thread.join(timeout)``. No ZMQ port is opened (``port=None``).
    """

    def __init__(self, widget_list, browser, flush_interval_s: float = 0.25,
                 log_level=logging.INFO, parent=None):
        super().__init__(widget_list, browser, port=None, log_level=log_level, parent=parent)
        self.flush_interval_s = flush_interval_s

    def next(self):
        if self.is_running():
            raise RuntimeError("another procedure is already running")
        if not self.experiments.has_next():
            return
        experiment = self.experiments.next()
        self._running_experiment = experiment
        worker_class = ChannelsWorker if experiment.results.channels > 1 else GuiWorker
        worker = worker_class(experiment.results, flush_interval_s=self.flush_interval_s)
        experiment.results.worker = worker
        experiment.results.status = "running"
        self._worker = worker
        self._monitor = Monitor(worker.monitor_queue)
        self._monitor.worker_running.connect(self._running)
        self._monitor.worker_failed.connect(self._failed)
        self._monitor.worker_abort_returned.connect(self._abort_returned)
        self._monitor.worker_finished.connect(self._finish)
        self._monitor.progress.connect(self._update_progress)
        self._monitor.status.connect(self._update_status)
        self._monitor.log.connect(self._update_log)
        self._monitor.start()
        worker.start()

    def _clean_up(self):
        worker, monitor = self._worker, self._monitor
        threading.Thread.join(worker, JOIN_TIMEOUT_S)
        if worker.is_alive():
            log.error("the worker thread did not end within %g s", JOIN_TIMEOUT_S)
        monitor.wait(int(JOIN_TIMEOUT_S * 1000))
        self._worker = self._monitor = None
        self._running_experiment = None

    def shutdown(self, timeout_s: float = JOIN_TIMEOUT_S) -> None:
        """Stop a running experiment and wait for its threads (window closing)."""
        worker, monitor = self._worker, self._monitor
        if worker is None:
            return
        worker.stop()
        threading.Thread.join(worker, timeout_s)
        if monitor is not None:
            monitor.wait(int(timeout_s * 1000))
