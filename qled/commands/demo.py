"""``qled demo``: a full simulated session, as a lab would run it on a new batch.

The lab flow first: the demo recipe (``qled/recipes/demo.toml``, one substrate per device
type, pristine and passivated, with its pixels) runs J-V-L on every pixel, DLCP and C-V on
the best pixel by EQE and a lifetime test of the best three at once, with its recipe record
(``recipe.json``). Then every other registered kind with a ``demo`` contributes its runs
(SCLC, PL stability, plug-ins); every run is analysed into its ``/analysis`` group, the
reports are written and a summary is printed. The session goes to a new folder under the
user's data directory (``--out`` chooses another), never into the current folder.
"""
from __future__ import annotations

import datetime
import sys
import time
from pathlib import Path

from qled.actions import analyze_file, lookup
from qled.commands.analyze import write_index_report
from qled.errors import EXIT_OK
from qled.kinds import kind_of_run, kinds

__all__ = ["register", "run_demo", "default_demo_folder", "print_run_summary",
           "demo_recipe_text"]


def register(subparsers) -> None:
    demo = subparsers.add_parser(
        "demo", help="a full simulated session: every kind of measurement, a batch report",
        description="Run every kind of measurement against the simulated bench (pixels of a "
        "pristine and a passivated device), write all runs and the reports, print a summary.")
    demo.add_argument("--out", default=None, metavar="DIR",
                      help="folder for runs and reports (default: a new folder "
                      f"{default_demo_folder().parent}/<YYYYmmdd-HHMMSS>)")
    demo.add_argument("--pixels", type=int, default=3, metavar="N",
                      help="pixels per device for the J-V-L batch (1 … 16, default 3)")
    demo.set_defaults(func=_demo)


def default_demo_folder(now: datetime.datetime | None = None) -> Path:
    """``<user data dir>/qled-bench/demo/<YYYYmmdd-HHMMSS>`` (platformdirs)."""
    import platformdirs

    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return platformdirs.user_data_path("qled-bench", appauthor=False) / "demo" / stamp


def _say(text: str) -> None:
    print(text, flush=True)


def demo_recipe_text(pixels: int = 3) -> str:
    """The demo recipe (:data:`qled.recipes.DEMO_RECIPE`) with ``pixels`` pixels per substrate."""
    import re

    from qled.recipes import DEMO_RECIPE

    text = DEMO_RECIPE.read_text(encoding="utf-8")
    listed = ", ".join(str(p) for p in range(1, pixels + 1))
    return re.sub(r"(?m)^pixels = \[[0-9, ]*\]$", f"pixels = [{listed}]", text)


def run_demo(out: Path, *, pixels: int = 3) -> int:
    from acquisition.store import load_run
    from qled.recipes import DEMO_RECIPE, RecipeRunner, parse_recipe, start_recipe

    if pixels < 1 or pixels > 16:
        raise ValueError(f"--pixels = {pixels} is out of range: allowed 1 … 16")
    if out.exists() and any(out.glob("*.h5")):
        raise FileExistsError(f"--out {out} already holds run files: choose a new folder "
                              "(runs are never overwritten)")
    recipe = parse_recipe(demo_recipe_text(pixels), DEMO_RECIPE.name,
                          base_dir=DEMO_RECIPE.parent)
    t0 = time.perf_counter()
    record = start_recipe(recipe, out, str(DEMO_RECIPE))
    _say(f"qled demo: simulated session → {out.resolve()}")
    _say(f"recipe {DEMO_RECIPE.name}: {len(recipe.substrates)} substrates "
         f"({', '.join(s.name for s in recipe.substrates)}) × {pixels} pixels; "
         f"{len(record.steps)} steps planned (record: {record.path.name})")
    code = RecipeRunner(recipe, record, say=_say, progress=False).run("demo")
    paths = [out / n for step in record.steps for n in step["run_files"]]
    _say(f"recipe: {len(paths)} runs in {time.perf_counter() - t0:.1f} s")
    if code != EXIT_OK:
        _say(f"recipe ended with exit code {code}: see {record.path}")
    covered = {b.kind for b in recipe.blocks}
    for kind in kinds().values():
        if kind.demo is None or kind.name in covered or \
                (kind.name == "dlcp" and "cv" in covered):
            continue
        t = time.perf_counter()
        new = [Path(p) for p in kind.demo(out, progress=_say) if p is not None]
        paths += new
        _say(f"{kind.name}: {len(new)} runs in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    _analyse_missing(paths)
    index = write_index_report(paths, out / "report", label="demo reports")
    _say(f"reports written in {time.perf_counter() - t:.1f} s")
    print_run_summary([load_run(p) for p in paths])
    _say(f"\n{len(paths)} run files in {out.resolve()}")
    _say(f"report: {index.resolve()}")
    jvl_page = out / "report" / "jvl" / "batch_report.html"
    if jvl_page.exists():
        _say(f"J-V-L batch page: {jvl_page.resolve()}")
    _say(f"demo finished in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK if code == EXIT_OK else code


def _analyse_missing(paths) -> None:
    """Record the analysis in every run file whose kind's demo did not already."""
    from acquisition.store import load_run

    for path in paths:
        run = load_run(path)
        if len(run.data) and kind_of_run(run).key not in (run.analysis or {}):
            analyze_file(path)


def print_run_summary(runs) -> None:
    """One line per run with its kind's headline figures (from its /analysis group)."""
    _say("\nsummary")
    for run in runs:
        kind = kind_of_run(run)
        result = (run.analysis or {}).get(kind.key) or {}
        attrs = run.attrs
        label = f"{kind.key:11s} {attrs.get('sample', ''):12s} px {attrs.get('pixel', ''):3s}"
        fields = []
        for key, title, spec in kind.headlines:
            value = lookup(result, key)
            if value is None:
                continue
            fields.append(f"{title} {format(value, spec) if spec else value}")
        if not result:
            fields = ["no analysis (see the report index)"]
        _say(f"  {label} " + "  ".join(fields))


_print_summary = print_run_summary


def _demo(args) -> int:
    out = Path(args.out) if args.out is not None else default_demo_folder()
    return run_demo(out, pixels=args.pixels)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_demo(default_demo_folder()))
