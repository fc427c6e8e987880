"""The technician's window: a PyMeasure ``ManagedWindowBase`` whose record is the HDF5 file.

One window class serves every procedure. Its inputs are the procedure's PyMeasure
parameters (with units); queueing builds the procedure through
:func:`procedures.base.build_procedure`, which runs the range checks and the procedure's
``validate()`` — a refused value never reaches an instrument. Runs go through
:class:`GuiWorker` (an :class:`acquisition.runner.HDF5Worker`): the HDF5 file is the
record, PyMeasure's ``Results`` writes nothing (its ``data_filenames`` is empty), and
the worker's records reach the live plots through a queue (:class:`~.live.RecordFeed`)
that a 0.2 s timer drains, so a refresh costs only the new rows. When a run ends its
curves are re-read from the file (what is shown is what was stored) and the analysis and
report of the run's kind (:mod:`qled.kinds`) are written beside it and shown in the Summary tab.

The lifetime window has a ``channels`` input (:mod:`.channels`): N > 1 runs N pixels at
once through :func:`procedures.lifetime.run_channels` in a :class:`ChannelsWorker` (one
file per channel, records tagged with their ``channel`` for one curve per channel, every
channel's report in the Summary tab); N = 1 is the single-procedure path above.

Abort sets the stop flag (PyMeasure aborts are cooperative) *and* switches the outputs
off at once from the GUI thread, serialised with the worker's exchanges per instrument
link so the two threads never interleave on one connection.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from pymeasure.display.Qt import QtCore, QtGui, QtWidgets
from pymeasure.display.listeners import Monitor
from pymeasure.display.manager import Manager
from pymeasure.display.widgets import LogWidget, TabWidget
from pymeasure.display.windows.managed_window import ManagedWindowBase
from pymeasure.experiment import Procedure, Results
from pymeasure.experiment.results import CSVFormatter

from acquisition.runner import HDF5Worker, check_output_dir

from .channels import build_window_procedure, window_procedure_class
from .live import RecordFeed, RunData
from .plots import LivePlotsWidget
from qled.kinds import Kind, kind_of_procedure, kind_of_run

from .presets import Preset, preset_for

__all__ = ["QledWindow", "RunResults", "GuiWorker", "ChannelsWorker", "QledManager",
           "SummaryWidget", "ChannelSummary",
           "serialise_station", "outputs_off_now", "ordered_parameters"]

log = logging.getLogger(__name__)

#: Longest wait for a worker thread to end after its final status [s].
JOIN_TIMEOUT_S = 10.0
#: Longest wait of the abort handler for an instrument link busy with a step [s].
ABORT_LOCK_TIMEOUT_S = 0.5

_STATUS = {"finished": Procedure.FINISHED, "aborted": Procedure.ABORTED,
           "failed": Procedure.FAILED, "running": Procedure.RUNNING}


def ordered_parameters(cls) -> list[str]:
    """Parameter names in definition order, base class first (``station`` … then the
    procedure's own); PyMeasure's ``parameter_objects()`` is alphabetical."""
    known = cls().parameter_objects()
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name in vars(klass):
            if name in known and name not in names:
                names.append(name)
    return names


# -------------------------------------------------------------------- thread safety
def _sources_of(station):
    for role in ("smu", "light_meter", "photodiode", "lcr"):
        obj = getattr(station, role, None)
        if obj is not None:
            yield obj
    for ch in getattr(station, "channels", None) or ():
        for role in ("smu", "photodiode"):
            obj = getattr(ch, role, None)
            if obj is not None:
                yield obj


def _links_of(station):
    seen = set()
    for obj in _sources_of(station):
        link = getattr(obj, "_link", None)
        if link is not None and callable(getattr(link, "call", None)) and id(link) not in seen:
            seen.add(id(link))
            yield link


def serialise_station(station) -> int:
    """Give each instrument link of ``station`` a lock held for the whole of every exchange.

    The worker thread and the abort handler (GUI thread) may then both talk to one
    instrument without interleaving commands and replies. A link that already has a
    ``lock`` attribute is left alone. Returns the number of links now locked.
    """
    n = 0
    for link in _links_of(station):
        if getattr(link, "lock", None) is None:
            link.call = _locked(link.call, lock := threading.RLock())
            link.lock = lock
        n += 1
    return n


def _locked(call, lock):
    """``call`` (any signature) run while holding ``lock``."""
    def locked_call(*args, **kwargs):
        with lock:
            return call(*args, **kwargs)
    return locked_call


def outputs_off_now(procedure, timeout_s: float = ABORT_LOCK_TIMEOUT_S) -> bool:
    """Call ``procedure.outputs_off()`` from another thread than the run's.

    Waits at most ``timeout_s`` for each instrument link to finish the exchange under
    way; returns False (and leaves it to the procedure's ``shutdown``) if one stays busy,
    e.g. during a hardware sweep.
    """
    station = getattr(procedure, "instruments", None)
    if station is None:
        return False
    locks = [link.lock for link in _links_of(station) if getattr(link, "lock", None)]
    held = []
    try:
        for lock in locks:
            if not lock.acquire(timeout=timeout_s):
                log.warning("abort: an instrument is busy with a step; its output goes off "
                            "when the step ends")
                return False
            held.append(lock)
        procedure.outputs_off()
        return True
    except Exception as exc:  # noqa: BLE001 - a closed station: shutdown did it already
        log.warning("abort: outputs off from the abort handler failed: %s", exc)
        return False
    finally:
        for lock in reversed(held):
            lock.release()


# -------------------------------------------------------------------- results / worker
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
    except ValueError as exc:
        results.report_error = f"analysis not possible: {exc}"
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
            if r.path is not None and r.rows:
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


class RunLogWidget(LogWidget):
    """PyMeasure's log tab with its own blink timer: 0.16 shares one class-level QTimer
    among all log widgets, so a second window's warnings blinked (and crashed) the first's."""

    def __init__(self, name: str, parent=None):
        self._blink_qtimer = QtCore.QTimer()
        super().__init__(name, parent)
        self._blink_qtimer.setParent(self)


# -------------------------------------------------------------------- summary tab
class SummaryWidget(TabWidget, QtWidgets.QScrollArea):
    """A run's status, key results and report figures."""

    def __init__(self, name: str, parent=None):
        super().__init__(name, parent)
        self.setWidgetResizable(True)
        self.body = QtWidgets.QWidget()
        self.layout_ = QtWidgets.QVBoxLayout(self.body)
        self.header = QtWidgets.QLabel("No run finished yet: queue one, or open a run file "
                                       "with Open.")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_.addWidget(self.header)
        self.layout_.addStretch(1)
        self.setWidget(self.body)
        self.image_paths: list[Path] = []
        self._images: list[QtWidgets.QLabel] = []

    def show_results(self, results: RunResults) -> None:
        for label in self._images:
            self.layout_.removeWidget(label)
            label.deleteLater()
        self._images = []
        lines = []
        self.image_paths = []
        parts = getattr(results, "parts", None) or [results]
        if len(parts) > 1 or getattr(results, "channels", 1) > 1:
            lines.append(f"<b>{len(parts)} channels</b> — {results.status}")
        for part in parts:
            name = part.path.name if part.path else getattr(part, "data_filename", "no file")
            prefix = f"ch{part.channel}: " if isinstance(part, ChannelSummary) else ""
            lines.append(f"{prefix}<b>{name}</b> — {part.status}"
                         + (f": {part.message}" if part.message else ""))
            if part.report_error:
                lines.append(f"<i>{part.report_error}</i>")
            if part.report_path is not None:
                lines.append(f"Report: {part.report_path}")
            self.image_paths += part.report_pngs
        self.header.setText("<br>".join(lines))
        for png in self.image_paths:
            label = QtWidgets.QLabel()
            pix = QtGui.QPixmap(str(png))
            if pix.width() > 900:
                pix = pix.scaledToWidth(900, QtCore.Qt.TransformationMode.SmoothTransformation)
            label.setPixmap(pix)
            label.setToolTip(str(png))
            self.layout_.insertWidget(self.layout_.count() - 1, label)
            self._images.append(label)


# -------------------------------------------------------------------- the window
class QledWindow(ManagedWindowBase):
    """A PyMeasure managed window for one qled-bench procedure.

    Parameters
    ----------
    procedure_class : type
        A :class:`procedures.base.QledProcedure` subclass.
    station : str
        Initial value of the Station input: ``"sim"``, ``"sim:<preset>"`` or a TOML path.
    out_dir : path
        Folder of the run files (and of their reports).
    sim_overrides : dict, optional
        Simulated-bench options for every run (``{"time_scale": 100, "noise": False}``).
    station_object : Station, optional
        An open station used by every run instead of opening one per run (tests, or a
        station shared with other tools); the window does not close it.
    flush_interval_s : float
        Longest time rows wait before reaching the run file [s].
    refresh_ms : int
        Live-plot refresh period [ms].
    """

    def __init__(self, procedure_class, *, station: str = "sim", out_dir="runs",
                 sim_overrides: dict | None = None, station_object=None,
                 flush_interval_s: float = 0.25, refresh_ms: int = 200, parent=None):
        import matplotlib

        # Reports are drawn in the worker thread and colour.plotting goes through pyplot:
        # pyplot must not pick the Qt backend (Qt widgets live in the GUI thread only).
        matplotlib.use("Agg")
        kind = procedure_class if isinstance(procedure_class, Kind) else \
            kind_of_procedure(procedure_class)
        procedure_class = kind.procedure
        self.kind_object, self.kind = kind, kind.key
        #: the procedure a run executes; ``procedure_class`` is that of the inputs (the
        #: lifetime window's has ``channels`` too: several pixels at once)
        self.run_class = procedure_class
        doc = (procedure_class.__doc__ or procedure_class.__name__).strip().splitlines()[0]
        procedure_class = window_procedure_class(procedure_class)
        self.preset = preset_for(procedure_class, kind.gui_preset)
        self.out_dir = Path(out_dir)
        self.sim_overrides = dict(sim_overrides or {})
        self.station_object = station_object
        self.flush_interval_s = flush_interval_s
        self.last_error = ""
        self.plots = LivePlotsWidget("Live plots", self.preset)
        self.summary = SummaryWidget("Summary")
        self.log_widget = RunLogWidget("Log")
        super().__init__(procedure_class,
                         widget_list=(self.plots, self.summary, self.log_widget),
                         inputs=tuple(ordered_parameters(procedure_class)),
                         displays=self.preset.displays, inputs_in_scrollarea=True,
                         enable_file_input=False, parent=parent)
        self._log_handler = handler = self.log_widget.handler
        logging.getLogger().addHandler(handler)
        # a window deleted without a close event must not leave its handler on the root
        self.destroyed.connect(lambda *_: logging.getLogger().removeHandler(handler))
        self.inputs.station.setValue(station)
        self.setWindowTitle(f"qled — {doc}")
        self.statusBar().showMessage(f"Run files go to {self.out_dir.resolve()}")
        self.browser.itemClicked.connect(self._show_item_summary)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(refresh_ms)
        self.resize(1400, 850)
        self.browser.header().resizeSection(1, 330)  # run file names are ~45 characters
        splitter = self.tabs.parent()  # PyMeasure's plots-over-browser splitter
        if isinstance(splitter, QtWidgets.QSplitter):
            splitter.setSizes([620, 200])

    # -- set-up (replace PyMeasure's Manager by ours) -----------------------------------
    def _setup_ui(self):
        super()._setup_ui()
        self.manager.deleteLater()
        self.manager = QledManager(self.widget_list, self.browser,
                                   flush_interval_s=self.flush_interval_s,
                                   log_level=self.log_level, parent=self)
        self.manager.abort_returned.connect(self.abort_returned)
        self.manager.queued.connect(self.queued)
        self.manager.running.connect(self.running)
        self.manager.finished.connect(self.finished)
        self.manager.log.connect(self.log.handle)
        for signal in (self.manager.finished, self.manager.failed,
                       self.manager.abort_returned):
            signal.connect(self._run_ended)
        self.manager.failed.connect(self.finished)  # same buttons as a finished run

    # -- queue, validation, abort -------------------------------------------------------
    def make_procedure(self):
        """The procedure of the present inputs, validated (raises ValueError, one line)."""
        values = {name: getattr(self.inputs, name).parameter.value
                  for name in self.inputs._inputs}
        procedure = build_window_procedure(self.run_class, values,
                                           station_object=self.station_object)
        if self.sim_overrides:
            procedure.sim_overrides = {**procedure.sim_overrides, **self.sim_overrides}
        return procedure

    def queue(self, procedure=None):
        """Queue a run of the present inputs; a refused value is shown and nothing runs.

        Returns the queued PyMeasure ``Experiment`` or None if refused.
        """
        try:
            if procedure is None:
                procedure = self.make_procedure()
            check_output_dir(self.out_dir)
        except (ValueError, OSError) as exc:
            self.refuse(str(exc))
            return None
        self.last_error = ""
        results = RunResults(procedure, self.out_dir, self.preset)
        experiment = self.new_experiment(results)
        self.manager.queue(experiment)
        return experiment

    def refuse(self, message: str) -> None:
        """Show why the inputs were refused (status bar, log and a non-blocking box)."""
        self.last_error = message
        self.statusBar().showMessage(f"Not queued: {message}")
        log.error("not queued: %s", message)
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "Input refused",
                                    message, QtWidgets.QMessageBox.StandardButton.Ok, self)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self._refusal_box = box

    def abort(self):
        """Stop flag for the procedure, and outputs off now from this thread."""
        running = self.manager._running_experiment
        super().abort()
        if running is not None:
            procedures = running_procedures(running)
            off = bool(procedures) and all([outputs_off_now(p) for p in procedures])
            log.warning("abort requested%s", ": outputs switched off" if off else "")

    # -- live refresh -------------------------------------------------------------------
    def _live_experiments(self):
        running = self.manager._running_experiment
        return [running] if running is not None else []

    def refresh(self) -> None:
        """Move new rows from the running worker to its curves (timer slot)."""
        for experiment in self._live_experiments():
            self._drain(experiment)

    def _drain(self, experiment) -> None:
        results: RunResults = experiment.results
        worker = results.worker
        if results.path is None and worker is not None and worker.path is not None:
            results.set_path(worker.path)
            experiment.browser_item.setText(1, results.path.name)
            self._load_axis(results)
        chunks, events = results.feed.drain()
        curves = self._curves(experiment)
        for chunk in chunks:
            if results.run_data.wavelength_nm is None and results.path is not None:
                self._load_axis(results)
            out = results.run_data.ingest(chunk)
            curves.extend(out)
        curves.update()
        for event in events:
            level = getattr(logging, str(event.get("level", "info")).upper(), logging.INFO)
            log.log(level, "%s", event.get("message", ""))

    @staticmethod
    def _load_axis(results: RunResults) -> None:
        from acquisition.store import StoreBusy, load_run

        try:
            run = load_run(results.path, spectra=False, lock_timeout_s=0.2)
        except (StoreBusy, OSError) as exc:
            log.debug("spectrum axis not read yet: %s", exc)
            return
        results.run_data.wavelength_nm = run.wavelength_nm

    def _curves(self, experiment):
        return next(c for c in experiment.curve_list if getattr(c, "wdg", None) is self.plots)

    def _run_ended(self, experiment) -> None:
        """Final rows, then the curves re-read from the file, then the summary."""
        self._drain(experiment)
        results: RunResults = experiment.results
        experiment.browser_item.setStatus(_STATUS.get(results.status, Procedure.FAILED))
        if results.path is not None and results.path.exists():
            self._fill_from_file(experiment, results.path)
            experiment.browser_item.setText(1, results.path.name)
        self.summary.show_results(results)
        self.tabs.setCurrentWidget(self.summary)
        self.statusBar().showMessage(
            f"{results.status}: {results.path or 'no run file'}"
            + (f" — {results.message}" if results.message else ""))

    def _fill_from_file(self, experiment, path) -> None:
        from acquisition.store import load_run

        results: RunResults = experiment.results
        several = results.channels > 1 and results.paths
        paths = results.paths if several else [path]
        curves = self._curves(experiment)
        curves.reset()
        for k, p in enumerate(paths, start=1):
            run = load_run(p)
            if k == 1:
                results.run_data = RunData(results.procedure.DATA_COLUMNS,
                                           self.preset.derivers,
                                           wavelength_nm=run.wavelength_nm)
            chunk = {c: run.data[c].to_numpy(float) for c in run.data.columns}
            if several:
                chunk["channel"] = np.full(len(run.data), float(k))
            if run.spectra is not None and len(run.spectra):
                chunk["spectrum"] = run.spectra
            if len(run.data):
                curves.extend(results.run_data.ingest(chunk))
        curves.update()

    # -- browsing earlier runs ----------------------------------------------------------
    def open_experiment(self):
        """Open dialog for earlier run files (PyMeasure's Open button)."""
        names, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self, "Open run files", str(self.out_dir), "qled run files (*.h5)")
        for name in names:
            try:
                self.open_run(name)
            except (ValueError, OSError) as exc:
                self.refuse(str(exc))

    def open_run(self, path):
        """Show a stored run: its curves in the plots, its summary figures in Summary."""
        from acquisition.runner import restore_procedure
        from acquisition.store import load_run

        path = Path(path)
        if any(getattr(e.results, "path", None) == path for e in self.manager.experiments):
            raise ValueError(f"{path.name} is already open")
        run = load_run(path, spectra=False)
        kind = kind_of_run(run)
        if kind.key != self.kind:
            raise ValueError(f"{path.name} is a '{kind.name}' run: this window shows "
                             f"'{self.kind_object.name}' runs (open it with: qled gui {kind.name})")
        procedure = restore_procedure(kind.procedure, run.parameter_values())
        procedure.status = _STATUS.get(run.status, Procedure.FAILED)
        results = RunResults(procedure, path.parent, self.preset, run=run)
        experiment = self.new_experiment(results)
        self._fill_from_file(experiment, path)
        experiment.browser_item.progressbar.setValue(100)
        self.manager.load(experiment)
        page = path.with_suffix(".md")  # reports are named after the run file
        if page.exists() and kind in run.analysis:
            results.report_path, results.analysis = page, run.analysis[kind]
        elif run.data.shape[0]:
            write_summary(results, path)
        self.summary.show_results(results)
        return experiment

    def _show_item_summary(self, item, column) -> None:
        experiment = self.manager.experiments.with_browser_item(item)
        if experiment is not None and experiment.results.status not in ("queued", "running"):
            self.summary.show_results(experiment.results)

    # -- closing ------------------------------------------------------------------------
    def closeEvent(self, event):
        self.timer.stop()
        if self.manager.is_running():
            self.manager.abort()
            for procedure in running_procedures(self.manager._running_experiment):
                outputs_off_now(procedure)
        self.manager.shutdown()
        logging.getLogger().removeHandler(self._log_handler)
        super().closeEvent(event)
