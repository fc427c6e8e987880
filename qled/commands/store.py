"""``qled resume FILE``, ``qled recover FILE``, ``qled inspect FILE`` and ``qled export FILE
--csv``: run files as records.

``resume`` and ``recover`` write the file, so they take its run lock first (one writer per
run file: a second one is refused in one line naming the holder, exit code 2); a stale lock
they take over is recorded in the file's ``/events`` (resume) or said on stderr (recover).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qled.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from qled.progress import Progress

__all__ = ["register", "inspect_lines", "holding_run_lock"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("resume", help="continue an interrupted run in the same file",
                              description="Continue an interrupted run (crash, power loss, "
                              "kill) in the same HDF5 file; the gap is recorded in /events.")
    p.add_argument("file", help="run file (.h5)")
    p.add_argument("--flush-interval", type=float, default=1.0, metavar="S",
                   help="longest time rows wait in memory before reaching the disk [s]")
    p.add_argument("--accept-discontinuity", action="store_true",
                   help="lifetime: continue although the pixel does not read as the stored "
                   "run ended (recorded as a discontinuity; T_x come from the data before)")
    p.set_defaults(func=_resume)
    r = subparsers.add_parser("recover", help="rebuild or finish a run file from its journal",
                              description="Make a run file whole from its journal: rebuild a "
                              "file damaged by a kill or a full disk, and give a file the final "
                              "status a full disk kept from it. Needs free space about the "
                              "size of the journal; the damaged file is kept as FILE.damaged.")
    r.add_argument("file", help="run file (.h5)")
    r.set_defaults(func=_recover)
    i = subparsers.add_parser("inspect", help="show what a run file holds",
                              description="Status, sample, rows, time span, parameters, the "
                              "last events and the analysis of one run file (read-only).")
    i.add_argument("file", help="run file (.h5)")
    i.add_argument("--events", type=int, default=10, metavar="N",
                   help="how many of the last events to show (default 10)")
    i.set_defaults(func=_inspect)
    e = subparsers.add_parser("export", help="export a run file",
                              description="Export the 1-D columns of a run as CSV with a "
                              "PyMeasure-style commented header (never overwrites).")
    e.add_argument("file", help="run file (.h5)")
    e.add_argument("--csv", action="store_true", required=True, help="write CSV")
    e.add_argument("--out", default=None, metavar="PATH", help="output file (default: FILE.csv)")
    e.set_defaults(func=_export)


def _load(path: str, **kwargs):
    """The run in ``path``; a damaged or foreign file is one ValueError line."""
    from acquisition.store import StoreBusy, StoreError, load_run

    if not Path(path).is_file():
        raise FileNotFoundError(f"file = {path!r} does not exist")
    try:
        return load_run(path, **kwargs)
    except (StoreError, StoreBusy) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ValueError(f"{Path(path).name}: not a readable run file: "
                         f"{' '.join(str(reason).split())}") from None


def holding_run_lock(path, command: str):
    """The run lock of ``path`` (a context manager); another writer → one ValueError line."""
    from acquisition.store import RunLocked, run_lock

    try:
        return run_lock(path, command)
    except RunLocked as exc:
        raise ValueError(str(exc)) from None


def _resume(args) -> int:
    from acquisition.runner import resume_run
    from qled.actions import after_store_failure
    from qled.kinds import kind_of_run

    if not Path(args.file).is_file():
        raise FileNotFoundError(f"file = {args.file!r} does not exist")
    # the lock before anything reads the file; a stale one taken over is recorded in /events
    with holding_run_lock(args.file, "qled resume"):
        run = _load(args.file, spectra=False)
        if run.status == "finished":
            raise ValueError(f"{Path(args.file).name} has status finished: nothing to resume")
        kind = kind_of_run(run)
        del run
        if kind.resume_command is not None:   # e.g. lifetime: its live per-channel status line
            result = kind.resume_command(args.file, flush_interval_s=args.flush_interval,
                                         accept_discontinuity=args.accept_discontinuity)
        else:
            if args.accept_discontinuity:
                raise ValueError(f"--accept-discontinuity applies to lifetime runs, not to "
                                 f"{kind.name} runs")
            with Progress("resume") as bar:
                result = resume_run(args.file, kind.procedure,
                                    flush_interval_s=args.flush_interval, progress=bar)
    if result.refused:                       # nothing was appended: the file is as it was
        print(f"qled: error: {result.message}", file=sys.stderr)
        return EXIT_USAGE
    line = f"{result.status}: {result.path} ({result.rows} rows)"
    if result.message:
        line += f" — {result.message}"
    print(line, file=sys.stdout if result.status == "finished" else sys.stderr)
    if result.store_failed:
        after_store_failure(result)
    return EXIT_OK if result.status == "finished" else EXIT_FAILED


def _recover(args) -> int:
    from acquisition.store import StoreError, journal_path, load_run, recover

    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"file = {args.file!r} does not exist")
    had_journal = journal_path(path).exists()
    try:                       # the lock file itself may not fit on a disk that is still full
        with holding_run_lock(path, "qled recover") as lock:
            changed = recover(path)
            run = load_run(path, spectra=False)
    except StoreError as exc:
        print(f"qled: {' '.join(str(exc.strerror or exc).split())}", file=sys.stderr)
        return EXIT_FAILED
    if lock.stale is not None:
        print(f"qled: {lock.stale_note()}", file=sys.stderr)
    if not changed:
        why = "its journal records nothing it lacks" if had_journal else "it has no journal"
        print(f"{path}: nothing to recover (it reads cleanly and {why}); status "
              f"{run.status}, {len(run.data)} rows")
        return EXIT_OK
    left = " (journal kept: the run can be resumed)" if journal_path(path).exists() else ""
    print(f"recovered: {path}: status {run.status}, {len(run.data)} rows{left}")
    return EXIT_OK


def inspect_lines(run, events: int = 10) -> list[str]:
    """What ``qled inspect`` prints about a loaded run."""
    a = run.attrs
    data = run.data
    lines = [f"file        {getattr(run, 'path', '')}",
             f"procedure   {a.get('procedure', '')}",
             f"status      {a.get('status', '')}",
             f"sample      {a.get('sample', '')}   pixel {a.get('pixel', '')}   "
             f"operator {a.get('operator', '') or '–'}",
             f"started     {a.get('start_time', '')}   ended {a.get('end_time', '') or '–'}",
             f"simulated   {a.get('simulated', '')}",
             f"rows        {len(data)}" + (f"   time_s {data['time_s'].iloc[0]:.6g} … "
                                           f"{data['time_s'].iloc[-1]:.6g}"
                                           if len(data) and "time_s" in data else ""),
             f"columns     {', '.join(data.columns)}"]
    params = run.parameters or {}
    if params:
        lines.append("parameters  " + ", ".join(
            f"{k}={v[0] if isinstance(v, tuple) else v}" for k, v in sorted(params.items())))
    ev = run.events
    if ev is not None and len(ev):
        lines.append(f"events      {len(ev)} (last {min(events, len(ev))}):")
        for _, e in ev.tail(events).iterrows():
            lines.append(f"  {e.get('time_s', float('nan')):10.4g} s  {e.get('level', '')}: "
                         f"{e.get('message', '')}")
    if run.analysis:
        lines.append(f"analysis    {', '.join(run.analysis)}")
    return lines


def _inspect(args) -> int:
    from acquisition.store import journal_status

    run = _load(args.file, spectra=False)
    lines = inspect_lines(run, args.events)
    ended = journal_status(args.file) if run.status == "running" else None
    if ended is not None:          # the disk was full when the run ended
        lines[2] += (f"   (its journal records the end: {ended}; finish the file with "
                     f"qled recover {args.file})")
    print("\n".join(lines))
    return EXIT_OK


def _export(args) -> int:
    from acquisition.store import StoreError, export_csv

    _load(args.file, spectra=False)
    try:
        print(export_csv(args.file, args.out))
    except StoreError as exc:          # disk full: no CSV (not even half of one) is left
        print(f"qled: {' '.join(str(exc.strerror or exc).split())}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
