"""``qled gui <procedure>``: the technician's window for one procedure.

Qt is imported only when the command runs, so the rest of the CLI works on machines
without a display or without the ``gui`` extra.
"""
from __future__ import annotations

from pathlib import Path

from .commands import add_simulation_options, procedure_subcommands, sim_overrides


def register(subparsers) -> None:
    gui = subparsers.add_parser(
        "gui", help="open the measurement window of a procedure (PyMeasure/Qt)",
        description="Open a window with the procedure's inputs (units, ranges, validation), "
        "live plots, the run queue, abort (outputs off at once), earlier runs and each run's "
        "summary figures. Every run is recorded in an HDF5 file in --out.")
    for _name, cls, p in procedure_subcommands(gui):
        p.add_argument("--station", default="sim", metavar="sim|FILE.toml",
                       help="'sim' / 'sim:<preset>' (built-in simulated bench) or a station "
                       "TOML file (default sim)")
        p.add_argument("--out", default="runs", metavar="DIR",
                       help="folder for the run files and their reports (default ./runs)")
        add_simulation_options(p)
        p.add_argument("--open", action="append", default=[], metavar="FILE.h5",
                       help="show an earlier run file (repeatable)")
        p.set_defaults(func=_gui, procedure_class=cls)


def gui_options(args) -> dict:
    """Window keyword arguments from the parsed options (raises ValueError, one line)."""
    station = str(args.station)
    if not (station == "sim" or station.startswith("sim:")):
        if not Path(station).is_file():
            raise ValueError(f"--station = {station!r}: no such file; allowed: sim, "
                             "sim:<preset> or a station TOML file")
    overrides = sim_overrides(args)
    for path in args.open:
        if not Path(path).is_file():
            raise FileNotFoundError(f"--open {path}: no such run file")
    return {"station": station, "out_dir": Path(args.out), "sim_overrides": overrides}


def _gui(args) -> int:
    options = gui_options(args)
    try:
        from pymeasure.display.Qt import QtWidgets
    except Exception as exc:  # noqa: BLE001 - qtpy raises its own error without a binding
        raise ValueError(f"qled gui needs a Qt binding (pip install 'qled-bench[gui]'): "
                         f"{exc}") from None
    import sys

    from .gui import main_window

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = main_window(args.procedure_class, **options)
    for path in args.open:
        try:
            window.open_run(path)
        except (ValueError, OSError) as exc:
            window.refuse(str(exc))
    window.show()
    return app.exec()
