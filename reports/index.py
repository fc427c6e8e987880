"""The report of a folder of runs: one page per run, the J-V-L batch comparison, an index.

:func:`write_index_report` loads each run file (through :mod:`acquisition.store`), asks the
caller which report belongs to it (the ``qled`` program answers from its registry of
measurement kinds), draws the pages in parallel worker processes and links them from
``index.md``; a file that cannot be read, or whose page cannot be drawn, is listed with the
reason instead of stopping the others.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

__all__ = ["write_index_report"]

#: ``page_for(run) -> (key, report)``: the run's kind key (its report folder) and its report
#: function ``report(run, out_dir, **options) -> Path`` (None: the kind has no page); a
#: ValueError says the run's kind is not known (listed with that reason).
PageFor = Callable[[object], tuple[str, Optional[Callable]]]


def write_index_report(paths, out: Path, page_for: PageFor, progress=None,
                       workers: int | None = None, options: dict | None = None) -> Path:
    """Reports for every run file in ``paths``: the J-V-L batch page plus one page per run,
    linked from ``out/index.md``. Returns the index path.

    ``options`` maps a kind key to extra keyword arguments of its report function, e.g.
    ``{"lifetime": {"assumed_acceleration_n": 1.5}}``. ``progress(done)`` is called with the
    number of pages drawn so far.

    Run pages are drawn in parallel worker processes (figures are CPU-bound: matplotlib
    layout and rasterising); ``workers`` defaults to the number of CPUs.
    """
    from acquisition.store import load_run, procedure_short_name

    from .jvl import write_batch_report
    from .page import run_stem

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
        try:
            key, report = page_for(run)
        except ValueError as exc:         # a kind this program does not know: say so
            key, report = procedure_short_name(run.procedure), " ".join(str(exc).split())
        runs.setdefault(key, []).append((p, run, report))
    options = options or {}
    tasks = [(report, str(p), str(out / ("jvl/runs" if key == "jvl" else key)),
              dict(options.get(key) or {}))
             for key, items in sorted(runs.items()) for p, _, report in items]
    pages = dict(zip((t[1] for t in tasks), _map_reports(tasks, workers, progress)))
    lines = ["# qled-bench report", ""]
    if "jvl" in runs:
        jvl_pages = {run_stem(run, "jvl"): pages[str(p)] for p, run, _ in runs["jvl"]
                     if not isinstance(pages[str(p)], str)}
        try:
            batch = write_batch_report([r for _, r, _ in runs["jvl"]], out / "jvl",
                                       per_run_reports=False, run_pages=jvl_pages)
        except ValueError as exc:
            lines.append(f"- J-V-L batch comparison ({len(runs['jvl'])} runs): not written "
                         f"({exc})")
        else:
            rel = batch.relative_to(out).as_posix()
            lines.append(f"- J-V-L batch comparison ({len(runs['jvl'])} runs): [{rel}]({rel})")
    for key, items in sorted(runs.items()):
        for p, _, _ in items:
            page = pages[str(p)]
            if isinstance(page, str):          # the reason there is no page
                lines.append(f"- {key}: {p.name}: no report ({page})")
            elif key != "jvl":
                rel = Path(page).relative_to(out).as_posix()
                lines.append(f"- {key}: {p.name} → [{rel}]({rel})")
    for p, reason in unreadable:
        lines.append(f"- {p.name}: no report (not a readable run file: {reason})")
    index = out / "index.md"
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index


def _report_one(task) -> Path | str:
    """One run's page (in a worker process): its path, or why there is none."""
    from acquisition.store import load_run

    report, path, out_dir, options = task
    if report is None:
        return "this kind of run has no report page"
    if isinstance(report, str):           # why there is no report function
        return report
    try:
        return Path(report(load_run(path), Path(out_dir), **options))
    except ValueError as exc:
        return str(exc)
    except (KeyError, IndexError, TypeError, OSError) as exc:
        # A file whose content the report did not expect (a column missing, a damaged
        # dataset) must not cost the other runs their pages: its reason goes in the index.
        text = str(exc).splitlines()[0] if str(exc) else ""
        return f"report failed: {type(exc).__name__}: {text}"


def _map_reports(tasks, workers, progress):
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    workers = workers or os.cpu_count() or 1
    results = []
    if workers <= 1 or len(tasks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for t in tasks:
            results.append(_report_one(t))
            if progress:
                progress(len(results))
        return results
    # fork: the workers inherit the imported analysis stack instead of importing it again
    with ProcessPoolExecutor(min(workers, len(tasks)),
                             mp_context=multiprocessing.get_context("fork")) as pool:
        for page in pool.map(_report_one, tasks):
            results.append(page)
            if progress:
                progress(len(results))
    return results
