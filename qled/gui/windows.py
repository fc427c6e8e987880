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
once through :func:`procedures.lifetime_channels.run_channels` in a :class:`ChannelsWorker` (one
file per channel, records tagged with their ``channel`` for one curve per channel, every
channel's report in the Summary tab); N = 1 is the single-procedure path above.

Abort sets the stop flag (PyMeasure aborts are cooperative) *and* switches the outputs
off at once from the GUI thread, serialised with the worker's exchanges per instrument
link so the two threads never interleave on one connection.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pymeasure.display.Qt import QtCore, QtWidgets
from pymeasure.display.windows.managed_window import ManagedWindowBase
from pymeasure.experiment import Procedure

from acquisition.runner import check_output_dir
from qled.kinds import Kind, kind_of_procedure, kind_of_run

from .abort import outputs_off_now, serialise_station
from .channels import build_window_procedure, window_procedure_class
from .live import RunData
from .plots import LivePlotsWidget
from .presets import preset_for
from .widgets import RunLogWidget, SummaryWidget
from .workers import (ChannelsWorker, ChannelSummary, GuiWorker, QledManager,
                      RunResults, running_procedures, write_summary)

__all__ = ["QledWindow", "RunResults", "GuiWorker", "ChannelsWorker", "QledManager",
           "SummaryWidget", "ChannelSummary",
           "serialise_station", "outputs_off_now", "ordered_parameters"]

log = logging.getLogger(__name__)

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
