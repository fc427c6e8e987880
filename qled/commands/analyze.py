"""``qled analyze FILE`` and ``qled report DIR``: figures of one run, pages of a folder of runs."""
from __future__ import annotations

from pathlib import Path

from qled.actions import analyze_file, print_json, print_summary
from qled.errors import EXIT_FAILED, EXIT_OK
from qled.kinds import kind_of_run, kinds
from qled.progress import Progress

__all__ = ["register", "write_index_report"]


def register(subparsers) -> None:
    a = subparsers.add_parser("analyze", help="analyse a run file",
                              description="Analyse one run file (any registered kind: "
                              f"{', '.join(kinds())}) and store the result in its /analysis; "
                              "prints a summary (--json: everything).")
    a.add_argument("file", help="run file (.h5)")
    a.add_argument("--json", action="store_true", help="print the result as one JSON object")
    a.set_defaults(func=_analyze)
    r = subparsers.add_parser("report", help="write reports for every run in a folder",
                              description="Write a report per run and a batch comparison of "
                              "the J-V-L runs (Table S1 style) for every run file in DIR.")
    r.add_argument("dir", nargs="?", default=None,
                   help="folder holding run files (.h5); or use --from-catalogue")
    r.add_argument("--from-catalogue", default=None, metavar="URL",
                   help="report on the runs of a catalogue query instead of a folder "
                   "(with --sample/--kind/--where/--since/--station; --out required)")
    from qled.commands.catalogue import add_query_options

    add_query_options(r)
    r.add_argument("--out", default=None, metavar="DIR",
                   help="folder for the reports (default DIR/report)")
    r.add_argument("--assumed-acceleration-n", type=float, default=None, metavar="N",
                   help="lifetime: an acceleration exponent n (L0^n·T50 = const, 0 < n ≤ 10) "
                   "to test against the n fitted over each sample's runs; the page warns when "
                   "the data contradict it (> 2σ) or cannot test it")
    r.set_defaults(func=_report)


def _analyze(args) -> int:
    from acquisition.store import load_run

    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"file = {args.file!r} does not exist")
    result = analyze_file(path)
    if result is None:
        return EXIT_FAILED
    if args.json:
        print_json(result)
    else:
        try:
            headlines = kind_of_run(load_run(path, spectra=False)).headlines
        except (OSError, ValueError):
            headlines = ()
        print_summary(result, headlines)
    return EXIT_OK


def _page_for(run):
    kind = kind_of_run(run)
    return kind.key, kind.report


def write_index_report(paths, out: Path, *, options: dict | None = None,
                       label: str = "report") -> Path:
    """:func:`reports.index.write_index_report` with this program's kinds and a progress bar."""
    from reports.index import write_index_report as write

    paths = list(paths)
    with Progress(label, total=max(1, len(paths)), unit="pages") as bar:
        return write(paths, out, _page_for, progress=bar, options=options)


def _report(args) -> int:
    options = {}
    if args.assumed_acceleration_n is not None:
        from reports.lifetime import check_assumed_n

        options["lifetime"] = {"assumed_acceleration_n":
                               check_assumed_n(args.assumed_acceleration_n)}
    if args.from_catalogue is not None:
        return _report_from_catalogue(args, options)
    if args.dir is None:
        raise ValueError("dir is missing: name a folder of run files or use --from-catalogue")
    folder = Path(args.dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"dir = {args.dir!r} is not a folder")
    if not any(folder.glob("*.h5")):   # (write_index_report would name --out's parent)
        raise FileNotFoundError(f"no run files (*.h5) to report on in {folder}")
    out = Path(args.out) if args.out else folder / "report"
    page = write_index_report(sorted(folder.glob("*.h5")), out, options=options)
    print(page)
    return EXIT_OK


def _report_from_catalogue(args, options: dict) -> int:
    """The batch page of the runs a catalogue query selects (their registered paths)."""
    from qled.commands.catalogue import query_from_args

    if args.out is None:
        raise ValueError("--out is missing: --from-catalogue needs a folder for the reports")
    table = query_from_args(args, args.from_catalogue)
    if table.empty:
        raise FileNotFoundError("no runs match the catalogue query: nothing to report on")
    paths = [Path(p) for p in table["path"]]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} catalogued run file(s) are not readable "
                                f"here, e.g. {missing[0]}")
    print(write_index_report(paths, Path(args.out), options=options))
    return EXIT_OK
