"""The window's side widgets: the run log and the Summary tab (a run's figures and report)."""
from __future__ import annotations

from pathlib import Path

from pymeasure.display.Qt import QtCore, QtGui, QtWidgets
from pymeasure.display.widgets import LogWidget, TabWidget

__all__ = ["RunLogWidget", "SummaryWidget"]


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

    def show_results(self, results) -> None:
        """Show a finished run's :class:`~qled.gui.workers.RunResults` (or its channels)."""
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
            prefix = f"ch{part.channel}: " if hasattr(part, "channel") else ""
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
