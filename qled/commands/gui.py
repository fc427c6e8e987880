"""``qled gui KIND``: the technician's window for one kind of measurement.

Qt is imported only when the command runs, so the rest of the program works on machines
without a display or without the ``gui`` extra; a missing binding or display is one line
saying what to do.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from qled.commands.run import kind_subcommands, station_help
from qled.errors import UserError
from qled.kinds import kinds
from qled.options import add_simulation_options, sim_overrides

__all__ = ["register", "gui_options", "check_display"]


def register(subparsers) -> None:
    gui = subparsers.add_parser(
        "gui", help="open the measurement window of a kind (PyMeasure/Qt)",
        description="Open a window with the procedure's inputs (units, ranges, validation), "
        "live plots, the run queue, abort (outputs off at once), earlier runs and each run's "
        "summary figures. Every run is recorded in an HDF5 file in --out.")
    for kind, p in kind_subcommands(gui):
        p.add_argument("--station", default="sim", metavar="sim|FILE.toml",
                       help=station_help(kind) + " (default sim)")
        p.add_argument("--out", default="runs", metavar="DIR",
                       help="folder for the run files and their reports (default ./runs)")
        add_simulation_options(p)
        p.add_argument("--open", action="append", default=[], metavar="FILE.h5",
                       help="show an earlier run file (repeatable)")
        p.add_argument("--exit-after", type=float, default=None, help=argparse.SUPPRESS)
        p.set_defaults(func=_gui, kind_name=kind.name)


def gui_options(args) -> dict:
    """Window keyword arguments from the parsed options (raises ValueError, one line)."""
    station = str(args.station)
    on_sim = station == "sim" or station.startswith("sim:")
    if not on_sim and not Path(station).is_file():
        raise ValueError(f"--station = {station!r}: no such file; allowed: sim, "
                         "sim:<device> or a station TOML file")
    overrides = sim_overrides(args, default_time_scale=None)
    for path in args.open:
        if not Path(path).is_file():
            raise FileNotFoundError(f"--open {path}: no such run file")
    return {"station": station, "out_dir": Path(args.out), "sim_overrides": overrides}


def check_display(environ=os.environ, platform: str = sys.platform) -> None:
    """UserError (one line) when Qt would find no screen to open a window on (Linux/BSD)."""
    if platform.startswith(("win", "darwin")) or environ.get("QT_QPA_PLATFORM"):
        return
    if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        raise UserError("qled gui needs a display and found none (DISPLAY and WAYLAND_DISPLAY "
                        "are unset): run it on the lab PC's desktop or over 'ssh -X', or set "
                        "QT_QPA_PLATFORM=offscreen to try it without a window")


def _gui(args) -> int:
    options = gui_options(args)
    check_display()
    try:
        from pymeasure.display.Qt import QtCore, QtWidgets
    except ImportError:      # qtpy's "no Qt bindings" error is an ImportError too
        raise UserError("qled gui needs a Qt binding, which is not installed: "
                        "pip install 'qled-bench[gui]'") from None

    from qled.gui import main_window

    kind = kinds()[args.kind_name]
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = main_window(kind, **options)
    for path in args.open:
        try:
            window.open_run(path)
        except (ValueError, OSError) as exc:
            window.refuse(str(exc))
    window.show()
    exit_after = args.exit_after if args.exit_after is not None else \
        float(os.environ.get("QLED_GUI_EXIT_AFTER_S", "0") or 0) or None
    if exit_after:                           # smoke tests (README commands) and screenshots
        QtCore.QTimer.singleShot(int(1000 * exit_after), app.quit)
    return app.exec()
