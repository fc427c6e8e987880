"""``qled batch analyze DIR|FILES…``: re-analyse many run files on dask.distributed workers.

Each file ends as ``qled analyze FILE`` leaves it (see :mod:`qled.batch`); a progress bar
while it works, the failure list (file, one-line reason) at the end (``--failures-csv``
writes it as CSV too), exit code 1 when any file failed. Needs the ``batch`` extra
(dask.distributed).
"""
from __future__ import annotations

import sys
from pathlib import Path

from qled.commands.catalogue import add_query_options, catalogue_paths

from qled.errors import EXIT_FAILED, EXIT_OK

__all__ = ["register"]


def register(subparsers) -> None:
    batch = subparsers.add_parser("batch", help="analyse many run files on dask workers",
                                  description="Work on many run files at once on a "
                                  "dask.distributed cluster (pip install 'qled-bench[batch]').")
    sub = batch.add_subparsers(dest="batch_command", metavar="ACTION")
    sub.required = True
    a = sub.add_parser("analyze", help="re-analyse run files as 'qled analyze' does",
                       description="Analyse every run file given (folders: their *.h5) as "
                       "'qled analyze FILE' does, storing each result in its file's /analysis, "
                       "on a local cluster of worker processes bound to 127.0.0.1 (or an "
                       "existing scheduler); prints the files that failed and why.")
    a.add_argument("paths", nargs="*", metavar="DIR|FILE", help="run files or folders of them")
    a.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of the local cluster (default 2)")
    a.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use an existing dask scheduler, e.g. tcp://10.0.0.5:8786 (its "
                   "workers need qled-bench and the same paths)")
    a.add_argument("--from-catalogue", default=None, metavar="URL",
                   help="also analyse the runs the catalogue at URL finds with the query "
                   "options below (as 'qled find')")
    add_query_options(a)
    a.add_argument("--failures-csv", default=None, metavar="PATH",
                   help="also write the failure list as CSV (file,reason)")
    a.set_defaults(func=_analyze)


def _check(args) -> list[Path]:
    from qled.batch import MAX_WORKERS, check_scheduler_address, collect_paths

    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        raise ValueError(f"--workers = {args.workers} is out of range (1 … {MAX_WORKERS})")
    if args.workers is not None and args.scheduler is not None:
        raise ValueError("--workers applies to the local cluster only: with --scheduler the "
                         "scheduler's workers are used")
    if args.scheduler is not None:
        check_scheduler_address(args.scheduler)
    if not args.paths and args.from_catalogue is None:
        raise ValueError("DIR|FILE: give run files or folders (or --from-catalogue URL)")
    if args.failures_csv is not None and not Path(args.failures_csv).parent.is_dir():
        raise FileNotFoundError(f"--failures-csv = {args.failures_csv!r}: its folder does "
                                "not exist")
    paths = collect_paths(args.paths) if args.paths else []
    if args.from_catalogue is not None:
        seen = {p.resolve() for p in paths}
        paths += [p for p in catalogue_paths(args, args.from_catalogue)
                  if Path(p).resolve() not in seen]
    return paths


def _analyze(args) -> int:
    paths = _check(args)
    import distributed  # noqa: F401 – a missing extra is one line before any work

    from qled.batch import analyze_many, write_failures_csv
    from qled.progress import Progress

    with Progress("batch analyze", total=max(1, len(paths)), unit="files") as bar:
        outcome = analyze_many(paths, workers=args.workers or 2, scheduler=args.scheduler,
                               progress=bar)
    print(f"analysed {len(outcome.results)} of {outcome.total} run files"
          + (f"; {len(outcome.failures)} failed:" if outcome.failures else ""))
    for path, reason in outcome.failures:
        print(f"  {path}: {reason}")
    if args.failures_csv is not None:
        out = write_failures_csv(outcome.failures, Path(args.failures_csv))
        print(f"failure list: {out}", file=sys.stderr)
    return EXIT_FAILED if outcome.failures else EXIT_OK
