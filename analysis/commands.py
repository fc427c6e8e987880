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
    folder = Path(args.dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"dir = {args.dir!r} is not a folder")
    out = Path(args.out) if args.out else folder / "report"
    page = write_index_report(sorted(folder.glob("*.h5")), out)
    print(page)
    return 0


def write_index_report(paths, out: Path, progress=None, workers: int | None = None) -> Path:
    """Reports for every run file in ``paths``: the J-V-L batch page plus one page per run,
    linked from ``out/index.md``. Returns the index path.

    Run pages are drawn in parallel worker processes (figures are CPU-bound: matplotlib
    layout and rasterising); ``workers`` defaults to the number of CPUs.
    """
    from acquisition.store import load_run
    from analysis.dispatch import run_kind
    from analysis.report import _stem, write_batch_report

    paths = [Path(p) for p in paths]
    if not paths:
        raise FileNotFoundError(f"no run files (*.h5) to report on in {out.parent}")
    out.mkdir(parents=True, exist_ok=True)
    runs = {}
    for p in paths:
        run = load_run(p)
        runs.setdefault(run_kind(run), []).append((p, run))
    tasks = [(kind, str(p), str(out / ("jvl/runs" if kind == "jvl" else kind)))
             for kind, items in sorted(runs.items()) for p, _ in items]
    pages = dict(zip((t[1] for t in tasks), _map_reports(tasks, workers)))
    lines = ["# qled-bench report", ""]
    if "jvl" in runs:
        jvl_pages = {_stem(run): pages[str(p)] for p, run in runs["jvl"]
                     if not isinstance(pages[str(p)], str)}
        batch = write_batch_report([r for _, r in runs["jvl"]], out / "jvl",
                                   per_run_reports=False, run_pages=jvl_pages)
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
    index = out / "index.md"
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index


def _report_one(task) -> Path | str:
    """One run's page (in a worker process): its path, or why there is none."""
    from acquisition.store import load_run
    from analysis.dispatch import reporter

    kind, path, out_dir = task
    try:
        return Path(reporter(kind)(load_run(path), Path(out_dir)))
    except ValueError as exc:
        return str(exc)


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
