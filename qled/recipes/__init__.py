"""Recipes: a plan of substrates × pixels × measurement blocks, run unattended.

:mod:`~qled.recipes.model` parses the TOML, :mod:`~qled.recipes.check` validates the whole
recipe before anything is sourced, :mod:`~qled.recipes.plan` expands it into steps,
:mod:`~qled.recipes.runner` runs (and resumes) them, :mod:`~qled.recipes.record` keeps the
recipe record (``recipe.json``). ``qled recipe run|check|resume`` and ``qled demo`` use it.
"""
from __future__ import annotations

from pathlib import Path

from .check import check_recipe, known_parameters, validate_recipe
from .model import Condition, Recipe, RecipeError, load_recipe, parse_condition, parse_recipe
from .plan import plan_steps
from .record import RECORD_NAME, Record
from .runner import SAFE_STATE_CHECKS, RecipeRunner

__all__ = ["Recipe", "Condition", "RecipeError", "load_recipe", "parse_recipe",
           "parse_condition", "check_recipe", "validate_recipe", "plan_steps", "Record",
           "RECORD_NAME", "RecipeRunner", "SAFE_STATE_CHECKS", "DEMO_RECIPE", "start_recipe",
           "reopen_recipe"]

#: The recipe ``qled demo`` runs (package data).
DEMO_RECIPE = Path(__file__).with_name("demo.toml")


def start_recipe(recipe: Recipe, out: Path, source_path: str = "") -> Record:
    """A new record of ``recipe`` (validated) in ``out``: FileExistsError when ``out``
    already holds a record or run files (resume it instead)."""
    validate_recipe(recipe)
    out = Path(out)
    if (out / RECORD_NAME).exists():
        raise FileExistsError(f"--out {out} already holds a recipe record: continue it with "
                              f"qled recipe resume {out}, or choose a new folder")
    if out.exists() and any(out.glob("*.h5")):
        raise FileExistsError(f"--out {out} already holds run files: choose a new folder "
                              "(runs are never overwritten)")
    from acquisition.runner import check_output_dir

    check_output_dir(out)
    record = Record.new(out, recipe, plan_steps(recipe, known_parameters),
                        source_path or recipe.source)
    record.save()
    return record


def reopen_recipe(out: Path) -> tuple[Recipe, Record]:
    """The recipe and record of a recipe output folder (the recipe text the record keeps)."""
    record = Record.load(Path(out))
    source = Path(record.data.get("recipe_file") or "recipe.toml")
    recipe = parse_recipe(record.data["recipe_text"], source.name,
                          base_dir=source.resolve().parent)
    return recipe, record
