"""``qled resume FILE`` and ``qled export FILE --csv [--out PATH]``."""
from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("resume", help="continue an interrupted run in the same file",
                              description="Continue an interrupted run (crash, power loss, "
                              "kill) in the same HDF5 file; the gap is recorded in /events.")
    p.add_argument("file", help="run file (.h5)")
    p.add_argument("--flush-interval", type=float, default=1.0, metavar="S",
                   help="longest time rows wait in memory before reaching the disk [s]")
    p.set_defaults(func=_resume)
    e = subparsers.add_parser("export", help="export a run file",
                              description="Export the 1-D columns of a run as CSV with a "
                              "PyMeasure-style commented header (never overwrites).")
    e.add_argument("file", help="run file (.h5)")
    e.add_argument("--csv", action="store_true", required=True, help="write CSV")
    e.add_argument("--out", default=None, metavar="PATH", help="output file (default: FILE.csv)")
    e.set_defaults(func=_export)


def _resume(args) -> int:
    custom = _resume_hook(args.file)
    if custom is not None:          # e.g. lifetime: its live per-channel status line
        result = custom(args.file, flush_interval_s=args.flush_interval)
    else:
        from acquisition.runner import resume_run
        from procedures.commands import ProgressBar

        bar = ProgressBar("resume")
        try:
            result = resume_run(args.file, flush_interval_s=args.flush_interval, progress=bar)
        finally:
            bar.close()
    line = f"{result.status}: {result.path} ({result.rows} rows)"
    if result.message:
        line += f" — {result.message}"
    print(line, file=sys.stdout if result.status == "finished" else sys.stderr)
    return 0 if result.status == "finished" else 1


def _resume_hook(path):
    """``cli_resume`` of the procedure module that wrote ``path``, if it has one.

    Only the modules of ``qled run``'s own procedure table are looked at (a run file names
    its procedure; a crafted name must not import anything else). Any problem reading the
    file → None: ``resume_run`` then reports it in one line.
    """
    try:
        from acquisition.store import load_run
        from procedures.commands import PROCEDURES, load_class

        target = load_run(path, spectra=False).procedure
    except Exception:  # noqa: BLE001 - resume_run gives the one-line reason
        return None
    if target not in PROCEDURES.values():
        return None
    return getattr(sys.modules[load_class(target).__module__], "cli_resume", None)


def _export(args) -> int:
    from acquisition.store import export_csv
    print(export_csv(args.file, args.out))
    return 0
