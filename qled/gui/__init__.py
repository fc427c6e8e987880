"""PyMeasure windows for the lab technician: ``qled gui KIND``.

:class:`~qled.gui.windows.QledWindow` is one ``ManagedWindowBase`` for every kind (inputs
from its procedure's parameters, live plots from its kind's preset, :mod:`qled.gui.presets`);
the HDF5 run file is the record; live plots take only new rows and decimate beyond
:data:`qled.gui.live.DISPLAY_POINTS`.

Qt is imported only by :mod:`~qled.gui.windows` and :mod:`~qled.gui.plots`;
:mod:`~qled.gui.live` and :mod:`~qled.gui.presets` work without a display.
"""
from __future__ import annotations

__all__ = ["open_window", "main_window"]


def main_window(procedure_class, **kwargs):
    """A :class:`~qled.gui.windows.QledWindow` for a kind or a kind's procedure class (needs
    a ``QApplication``)."""
    from .windows import QledWindow

    return QledWindow(procedure_class, **kwargs)


def open_window(procedure_class, argv=None, **kwargs) -> int:
    """Create the Qt application, show the window and run the event loop; → exit code."""
    import sys

    from pymeasure.display.Qt import QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(
        list(argv if argv is not None else sys.argv[:1]))
    window = main_window(procedure_class, **kwargs)
    window.show()
    return app.exec()
