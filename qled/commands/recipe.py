"""``qled recipe run|check|resume``: a plan of substrates × pixels × measurements, unattended.

``check`` validates the whole recipe (one line per problem, exit 2, nothing written);
``run`` validates it, then runs every step into ``--out`` (one run file per measurement and
the recipe record ``recipe.json``), writes the batch report and prints a summary; ``resume``
continues a recipe output folder from its first unfinished step; ``gui`` opens the recipe
window (:mod:`qled.gui.recipe_window`). Ctrl-C / SIGTERM stop after
the current point with outputs off (exit code 130).
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

from qled.errors import EXIT_OK, EXIT_USAGE

__all__ = ["register", "run_recipe", "resume_recipe", "default_recipe_folder",
           "finish_outputs"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "recipe", help="run a recipe: substrates × pixels × measurements, unattended",
        description="Recipes (TOML): J-V-L every pixel, DLCP on the best pixel by EQE, a "
        "lifetime of the best few … One run file per measurement plus the recipe record "
        "(recipe.json) in the output folder.")
    sub = p.add_subparsers(dest="recipe_command", metavar="ACTION")
    sub.required = True
    r = sub.add_parser("run", help="validate, then run a recipe",
                       description="Validate the whole recipe, then run its steps in order.")
    r.add_argument("recipe", help="recipe file (.toml)")
    r.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (new; default: <user data dir>/qled-bench/recipes/"
                   "<name>-<YYYYmmdd-HHMMSS>)")
    r.add_argument("--flush-interval", type=float, default=1.0, metavar="S",
                   help="longest time rows wait in memory before reaching the disk [s]")
    r.add_argument("--no-report", action="store_true", help="do not write the batch report")
    r.set_defaults(func=_run)
    c = sub.add_parser("check", help="validate a recipe (nothing is sourced or written)",
                       description="Validate the whole recipe: one line per problem, exit 2.")
    c.add_argument("recipe", help="recipe file (.toml)")
    c.set_defaults(func=_check)
    s = sub.add_parser("resume", help="continue a recipe from its first unfinished step",
                       description="Continue the recipe of an output folder: finished steps "
                       "are never run again; an interrupted lifetime continues in its file, "
                       "an interrupted sweep is measured again (the partial file is kept).")
    s.add_argument("dir", help="the recipe's output folder (holds recipe.json)")
    s.add_argument("--flush-interval", type=float, default=1.0, metavar="S",
                   help="longest time rows wait in memory before reaching the disk [s]")
    s.add_argument("--no-report", action="store_true", help="do not write the batch report")
    s.set_defaults(func=_resume)
    g = sub.add_parser("gui", help="the recipe window: planned steps, run, live states, abort",
                       description="Open a recipe in a window: its planned steps (or its "
                       "problems), Run in the background with every step's state live, Abort "
                       "after the current point (outputs off).")
    g.add_argument("recipe", nargs="?", default=None, help="recipe file (.toml)")
    g.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: the recipe's name next to it; a folder "
                   "with a recipe record is resumed)")
    g.add_argument("--exit-after", type=float, default=None, help=argparse.SUPPRESS)
    g.set_defaults(func=_gui)


def default_recipe_folder(name: str, now: datetime.datetime | None = None) -> Path:
    import platformdirs

    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "recipe"
    return platformdirs.user_data_path("qled-bench", appauthor=False) / "recipes" / \
        f"{safe}-{stamp}"


def _problems(exc) -> int:
    for line in exc.problems:
        print(f"qled: error: {line}", file=sys.stderr)
    return EXIT_USAGE


def _say(text: str) -> None:
    print(text, flush=True)


def _check(args) -> int:
    from qled.recipes import RecipeError, load_recipe, plan_steps, validate_recipe
    from qled.recipes.check import known_parameters

    try:
        recipe = validate_recipe(load_recipe(args.recipe))
    except RecipeError as exc:
        return _problems(exc)
    steps = plan_steps(recipe, known_parameters)
    print(f"{args.recipe}: ok — {len(recipe.substrates)} substrates, {len(recipe.blocks)} "
          f"blocks, {len(steps)} steps planned")
    for step in steps:
        pixels = step["condition"] if step["pixels"] is None else \
            "pixel " + ",".join(map(str, step["pixels"]))
        print(f"  {step['id']:3d}  {step['substrate']:12s} {step['block']:20s} "
              f"{step['kind']:10s} {pixels}")
    return EXIT_OK


def run_recipe(path, out: Path | None = None, *, flush_interval_s: float = 1.0,
               report: bool = True, say=_say) -> int:
    """Validate and run the recipe file ``path`` into ``out`` → exit code."""
    from qled.recipes import RecipeError, RecipeRunner, load_recipe, start_recipe

    try:
        recipe = load_recipe(path)
        out = Path(out) if out is not None else default_recipe_folder(recipe.name)
        record = start_recipe(recipe, out, str(Path(path).resolve()))
    except RecipeError as exc:
        return _problems(exc)
    say(f"qled recipe: {recipe.name} ({len(record.steps)} steps planned) → {out.resolve()}")
    code = RecipeRunner(recipe, record, say=say, flush_interval_s=flush_interval_s).run("run")
    return finish_outputs(record, code, report=report, say=say)


def resume_recipe(folder, *, flush_interval_s: float = 1.0, report: bool = True,
                  say=_say) -> int:
    """Continue the recipe of output folder ``folder`` → exit code."""
    from qled.recipes import RecipeError, RecipeRunner, reopen_recipe

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"dir = {str(folder)!r} is not a folder")
    try:
        recipe, record = reopen_recipe(folder)
    except RecipeError as exc:
        return _problems(exc)
    first = record.first_unfinished()
    if first is None:
        say(f"{folder}: every step is finished: nothing to resume")
        return EXIT_OK
    say(f"qled recipe resume: {recipe.name} from step {first + 1} of {len(record.steps)}")
    code = RecipeRunner(recipe, record, say=say, flush_interval_s=flush_interval_s) \
        .run("resume")
    return finish_outputs(record, code, report=report, say=say)


def finish_outputs(record, code: int, *, report: bool = True, say=_say) -> int:
    """After a session: the counts, and (when every step is over) the batch report and the
    summary of every run file the record names."""
    from qled.errors import EXIT_INTERRUPTED

    counts = record.counts()
    say("steps: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if code == EXIT_INTERRUPTED:
        say(f"stopped: continue with qled recipe resume {record.folder}")
        return code
    paths = [record.folder / n for s in record.steps for n in s["run_files"]]
    paths = [p for p in paths if p.is_file()]
    if report and paths:
        from qled.commands.analyze import write_index_report
        from qled.commands.demo import print_run_summary

        index = write_index_report(paths, record.folder / "report", label="recipe reports")
        from acquisition.store import load_run

        print_run_summary([load_run(p, spectra=False) for p in paths])
        say(f"report: {index.resolve()}")
    say(f"record: {record.path.resolve()}")
    return code


def _run(args) -> int:
    return run_recipe(args.recipe, None if args.out is None else Path(args.out),
                      flush_interval_s=args.flush_interval, report=not args.no_report)


def _resume(args) -> int:
    return resume_recipe(args.dir, flush_interval_s=args.flush_interval,
                         report=not args.no_report)


def _gui(args) -> int:
    from qled.commands.gui import check_display
    from qled.errors import UserError

    check_display()
    try:
        from pymeasure.display.Qt import QtCore, QtWidgets
    except ImportError:
        raise UserError("qled recipe gui needs a Qt binding, which is not installed: "
                        "pip install 'qled-bench[gui]'") from None
    from qled.gui.recipe_window import RecipeWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = RecipeWindow(args.recipe, out_dir=args.out)
    window.show()
    exit_after = args.exit_after if args.exit_after is not None else \
        float(os.environ.get("QLED_GUI_EXIT_AFTER_S", "0") or 0) or None
    if exit_after:
        QtCore.QTimer.singleShot(int(1000 * exit_after), app.quit)
    return app.exec()
