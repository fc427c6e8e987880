"""Live plots of a procedure window (pyqtgraph), fed with new rows only and decimated.

:class:`LivePlotsWidget` is a PyMeasure ``TabWidget``: ``ManagedWindowBase`` asks it for
one "curve" per experiment (:meth:`LivePlotsWidget.new_curve`), which here is a
:class:`RunCurves` — every plot item of the preset for that run, one per group (channel,
frequency) — and loads, removes and recolours it like PyMeasure's own curves.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pymeasure.display.Qt import QtWidgets
from pymeasure.display.widgets import TabWidget

from .live import DISPLAY_POINTS, DecimatedSeries
from .presets import Preset, PlotSpec, group_text

__all__ = ["LivePlotsWidget", "RunCurves"]

#: Above this many displayed points a curve is drawn without symbols (they cost ~µs each).
_SYMBOL_LIMIT = 600


class RunCurves:
    """The curves of one run in every plot of a :class:`LivePlotsWidget`."""

    def __init__(self, wdg: "LivePlotsWidget", color, max_points: int = DISPLAY_POINTS,
                 label: str = ""):
        self.wdg = wdg
        self.color = pg.mkColor(color)
        self.max_points = max_points
        self.label = label
        #: per plot index: {group value: (DecimatedSeries, PlotDataItem)}
        self.series: list[dict] = [{} for _ in wdg.preset.plots]
        self._dirty: set = set()
        self.loaded = False

    # -- data -------------------------------------------------------------------------
    def extend(self, chunk: dict) -> None:
        """Append the rows of ``chunk`` (data and derived columns) to every curve."""
        for i, spec in enumerate(self.wdg.preset.plots):
            x, y = chunk.get(spec.x), chunk.get(spec.y)
            if x is None or y is None or len(x) == 0:
                continue
            x, y = _axis_values(spec, x, y)
            if spec.group_by is None or spec.group_by not in chunk:
                self._series(i, None).extend(x, y)
                self._dirty.add((i, None))
                continue
            keys = np.asarray(chunk[spec.group_by], float)
            for key in np.unique(keys):  # NaN keys are never equal: such rows are not plotted
                sel = keys == key
                self._series(i, float(key)).extend(x[sel], y[sel])
                self._dirty.add((i, float(key)))

    def _series(self, i: int, key):
        entry = self.series[i].get(key)
        if entry is None:
            spec = self.wdg.preset.plots[i]
            pen_colour = self.color if key is None else \
                self.wdg.group_colour(i, key)
            name = None if key is None else group_text(spec, key)
            item = pg.PlotDataItem(pen=pg.mkPen(pen_colour, width=1.5), name=name,
                                   connect="finite")
            entry = self.series[i][key] = (DecimatedSeries(self.max_points), item)
            if self.loaded:
                self.wdg.plot_items[i].addItem(item)
        return entry[0]

    def update(self) -> None:
        """Hand the new display data of changed curves to pyqtgraph."""
        for i, key in self._dirty:
            series, item = self.series[i][key]
            x, y = series.display()
            spec = self.wdg.preset.plots[i]
            if spec.symbols and len(x) <= _SYMBOL_LIMIT:
                brush = item.opts["pen"].color()
                item.setSymbol("o")
                item.setSymbolSize(5)
                item.setSymbolBrush(brush)
                item.setSymbolPen(None)
            else:
                item.setSymbol(None)
            item.setData(x, y)
        self._dirty.clear()

    update_data = update  # the name PyMeasure's Manager calls when a run finishes

    def reset(self) -> None:
        """Forget every point (the run is re-read from its file)."""
        for i, groups in enumerate(self.series):
            for series, item in groups.values():
                if self.loaded:
                    self.wdg.plot_items[i].removeItem(item)
            groups.clear()
        self._dirty.clear()

    def data(self, plot: int | str, group=None) -> tuple[np.ndarray, np.ndarray]:
        """All (x, y) samples of one curve as plotted (before decimation); ``plot`` is an
        index or a plot title."""
        i = plot if isinstance(plot, int) else \
            [p.title for p in self.wdg.preset.plots].index(plot)
        entry = self.series[i].get(group)
        if entry is None:
            return np.empty(0), np.empty(0)
        return entry[0].x.values.copy(), entry[0].y.values.copy()

    def items(self):
        for i, groups in enumerate(self.series):
            for _, item in groups.values():
                yield i, item


def _axis_values(spec: PlotSpec, x, y):
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if spec.y_abs:
        y = np.abs(y)
    if spec.y_log:
        y = np.where(y > 0, y, np.nan)
    if spec.x_log:
        x = np.where(x > 0, x, np.nan)
    return x, y


class LivePlotsWidget(TabWidget, QtWidgets.QWidget):
    """The live plots of a preset side by side, axes labelled with units."""

    def __init__(self, name: str, preset: Preset, parent=None):
        super().__init__(name, parent)
        self.preset = preset
        self.view = pg.GraphicsLayoutWidget(parent=self)
        self.view.setBackground("w")
        self.plot_items: list[pg.PlotItem] = []
        ncols = len(preset.plots) if len(preset.plots) <= 3 else 2
        for i, spec in enumerate(preset.plots):
            plot = self.view.addPlot(row=i // ncols, col=i % ncols, title=spec.title)
            for side, text in (("bottom", spec.x_label), ("left", spec.y_label)):
                axis = plot.getAxis(side)
                axis.enableAutoSIPrefix(False)
                plot.setLabel(side, text)
            plot.setLogMode(x=spec.x_log, y=spec.y_log)
            plot.showGrid(x=True, y=True, alpha=0.2)
            if spec.group_by is not None:
                plot.addLegend(offset=(10, 10))
            self.plot_items.append(plot)
        self._group_keys: list[list] = [[] for _ in preset.plots]
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    def group_colour(self, plot: int, key: float):
        keys = self._group_keys[plot]
        if key not in keys:
            keys.append(key)
        return pg.intColor(keys.index(key), hues=9, values=1, maxValue=220)

    # -- PyMeasure TabWidget protocol ---------------------------------------------------
    def new_curve(self, results, color=(0, 0, 255), **kwargs) -> RunCurves:
        return RunCurves(self, color, label=kwargs.get("label", ""))

    def load(self, curve: RunCurves) -> None:
        if curve.loaded:
            return
        for i, item in curve.items():
            self.plot_items[i].addItem(item)
        curve.loaded = True

    def remove(self, curve: RunCurves) -> None:
        if not curve.loaded:
            return
        for i, item in curve.items():
            self.plot_items[i].removeItem(item)
        curve.loaded = False

    def set_color(self, curve: RunCurves, color) -> None:
        curve.color = pg.mkColor(color)
        for i, groups in enumerate(curve.series):
            for key, (_, item) in groups.items():
                if key is None:
                    item.setPen(pg.mkPen(curve.color, width=1.5))
                    if item.opts.get("symbol") is not None:
                        item.setSymbolBrush(curve.color)
