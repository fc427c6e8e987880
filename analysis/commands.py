"""``qled analyze FILE`` and ``qled report DIR``."""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["register", "write_index_report"]


def register(subparsers) -> None:
    a = subparsers.add_parser("analyze", help="analyse a run file",
                              description="Analyse one run file (J-V-L, lifetime, DLCP, C-V, "
                              "SCLC, PL stability) and store the result in its /analysis.")
    a.add_argument("file", help="run file (.h5)")
    a.add_argument("--json", action="store_true", help="print the result as one JSON object")
    a.set_defaults(func=_analyze)
    r = subparsers.add_parser("report", help="write reports for every run in a folder",
                              description="Write a report per run and a batch comparison of "
                              "the J-V-L runs (Table S1 style) for every run file in DIR.")
    r.add_argument("dir", help="folder holding run files (.h5)")
    r.add_argument("--out", default=None, metavar="DIR",
                   help="folder for the reports (default DIR/report)")
    r.add_argument("--assumed-acceleration-n", type=float, default=None, metavar="N",
                   help="lifetime: an acceleration exponent n (L0^n·T50 = const, 0 < n ≤ 10) "
                   "to test against the n fitted over each sample's runs; the page warns when "
                   "the data contradict it (> 2σ) or cannot test it")
    r.set_defaults(func=_report)


def _analyze(args) -> int:
    from procedures.commands import _json_default, analyze_file

    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"file = {args.file!r} does not exist")
    result = analyze_file(path)
    if result is None:
        return 1
    if args.json:
        print(json.dumps(result, default=_json_default, allow_nan=False
                         if _finite(result) else True))
    else:
        for key, value in result.items():
            if not isinstance(value, (list, dict)):
                print(f"{key:40s} {value}")
    return 0


def _finite(obj) -> bool:
    import math

    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(_finite(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(_finite(v) for v in obj)
    return True


def _report(args) -> int:
    options = {}
    if args.assumed_acceleration_n is not None:
        from analysis.lifetime_report import check_assumed_n

        options["lifetime"] = {"assumed_acceleration_n":
                               check_assumed_n(args.assumed_acceleration_n)}
    folder = Path(args.dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"dir = {args.dir!r} is not a folder")
    if not any(folder.glob("*.h5")):   # (write_index_report would name --out's parent)
        raise FileNotFoundError(f"no run files (*.h5) to report on in {folder}")
    out = Path(args.out) if args.out else folder / "report"
    page = write_index_report(sorted(folder.glob("*.h5")), out, options=options)
    print(page)
    return 0


def write_index_report(paths, out: Path, progress=None, workers: int | None = None,
                       options: dict | None = None) -> Path:
    """Reports for every run file in ``paths``: the J-V-L batch page plus one page per run,
    linked from ``out/index.md``. Returns the index path.

    ``options`` maps a run kind to extra keyword arguments of its report function, e.g.
    ``{"lifetime": {"assumed_acceleration_n": 1.5}}``.

    Run pages are drawn in parallel worker processes (figures are CPU-bound: matplotlib
    layout and rasterising); ``workers`` defaults to the number of CPUs. A file that cannot
    be read as a run, or whose page cannot be drawn, is listed in the index with the reason.
    """
    from acquisition.store import load_run
    from analysis.dispatch import run_kind
    from analysis.report import _stem, write_batch_report

    paths = [Path(p) for p in paths]
    if not paths:
        raise FileNotFoundError(f"no run files (*.h5) to report on in {out.parent}")
    out.mkdir(parents=True, exist_ok=True)
    runs, unreadable = {}, []
    for p in paths:
        try:
            run = load_run(p)
        except (OSError, ValueError) as exc:   # not HDF5 / not a run file / damaged, locked
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            unreadable.append((p, " ".join(str(reason).split())))
            continue
        runs.setdefault(run_kind(run), []).append((p, run))
    options = options or {}
    tasks = [(kind, str(p), str(out / ("jvl/runs" if kind == "jvl" else kind)),
              dict(options.get(kind) or {}))
             for kind, items in sorted(runs.items()) for p, _ in items]
    pages = dict(zip((t[1] for t in tasks), _map_reports(tasks, workers)))
    lines = ["# qled-bench report", ""]
    if "jvl" in runs:
        jvl_pages = {_stem(run): pages[str(p)] for p, run in runs["jvl"]
                     if not isinstance(pages[str(p)], str)}
        try:
            batch = write_batch_report([r for _, r in runs["jvl"]], out / "jvl",
                                       per_run_reports=False, run_pages=jvl_pages)
        except ValueError as exc:
            lines.append(f"- J-V-L batch comparison ({len(runs['jvl'])} runs): not written "
                         f"({exc})")
        else:
            rel = batch.relative_to(out).as_posix()
            lines.append(f"- J-V-L batch comparison ({len(runs['jvl'])} runs): [{rel}]({rel})")
    for kind, items in sorted(runs.items()):
        for p, _ in items:
            page = pages[str(p)]
            if isinstance(page, str):          # the reason there is no page
                lines.append(f"- {kind}: {p.name}: no report ({page})")
            elif kind != "jvl":
                rel = Path(page).relative_to(out).as_posix()
                lines.append(f"- {kind}: {p.name} → [{rel}]({rel})")
        if progress:
            progress(kind)
    for p, reason in unreadable:
        lines.append(f"- {p.name}: no report (not a readable run file: {reason})")
    index = out / "index.md"
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index


def _report_one(task) -> Path | str:
    """One run's page (in a worker process): its path, or why there is none."""
    from acquisition.store import load_run
    from analysis.dispatch import reporter

    kind, path, out_dir, options = task
    try:
        return Path(reporter(kind)(load_run(path), Path(out_dir), **options))
    except ValueError as exc:
        return str(exc)
    except (KeyError, IndexError, TypeError, OSError) as exc:
        # A file whose content the report did not expect (a column missing, a damaged
        # dataset) must not cost the other runs their pages: its reason goes in the index.
        text = str(exc).splitlines()[0] if str(exc) else ""
        return f"report failed: {type(exc).__name__}: {text}"


def _map_reports(tasks, workers):
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(tasks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_report_one(t) for t in tasks]
    # fork: the workers inherit the imported analysis stack instead of importing it again
    with ProcessPoolExecutor(min(workers, len(tasks)),
                             mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_report_one, tasks))
