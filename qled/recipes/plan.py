"""The plan of a recipe: substrates × blocks × pixels → steps, in the order they run.

Steps run substrate by substrate (a substrate is mounted, then measured through every block),
blocks in the recipe's order. A step is a JSON-able dict (the recipe record keeps it):

``substrate``, ``block``, ``kind``, ``pixels`` (list; None until a condition picks them),
``condition`` (its text, or None), ``parameters`` (one dict of procedure values per pixel),
``sim`` (simulated-bench options; {} on a real station), ``state``, ``run_files``,
``partial_files``, ``reason``, ``started``, ``ended``, ``figures`` (what a condition saw),
``results`` (the step's metrics, for later conditions).

Parameter precedence, lowest first: ``[defaults]`` (only where the procedure has the
parameter), the block's ``parameters``, the substrate's ``parameters`` (same rule), the
block's ``per_pixel`` ("P" then "SUBSTRATE/P"), then (channels) ``per_channel``; ``station``, ``sample`` (= substrate name) and
``pixel`` always come from the substrate.
"""
from __future__ import annotations

import math

from .model import Block, Condition, Recipe, Substrate

__all__ = ["plan_steps", "step_values", "step_sim", "select_pixels", "expand_step",
           "block_pixels", "is_sim", "new_step", "DEFAULT_TIME_SCALE"]

#: Simulated clock of a recipe that sets no ``sim.time_scale`` (as ``qled run``).
DEFAULT_TIME_SCALE = 100.0


def is_sim(station: str) -> bool:
    return station == "sim" or station.startswith("sim:")


def step_values(recipe: Recipe, substrate: Substrate, block: Block, pixel: int,
                known: dict) -> dict:
    """Procedure values of ``block`` on ``pixel`` of ``substrate``; ``known`` is the
    procedure's parameter names (defaults and substrate parameters apply only where known)."""
    values = {k: v for k, v in recipe.defaults.items() if k in known}
    values.update(block.parameters)
    values.update({k: v for k, v in substrate.parameters.items() if k in known})
    values.update(block.per_pixel.get(str(pixel), {}))
    values.update(block.per_pixel.get(f"{substrate.name}/{pixel}", {}))
    station = substrate.station
    if not is_sim(station):
        station = str((recipe.base_dir / station).resolve()) if not station.startswith("/") \
            else station
    values.update(station=station, sample=substrate.name, pixel=int(pixel))
    return values


def step_sim(recipe: Recipe, substrate: Substrate, block: Block) -> dict:
    """Simulated-bench options of a step ({} on a real station): recipe, then block."""
    if not is_sim(substrate.station):
        return {}
    return {"time_scale": DEFAULT_TIME_SCALE, **recipe.sim, **block.sim}


def block_pixels(substrate: Substrate, block: Block) -> list[int]:
    """The pixels of a block without a condition on ``substrate``."""
    if block.pixels is None:
        return list(substrate.pixels)
    return [p for p in block.pixels if p in substrate.pixels]


def new_step(substrate: str, block: Block, pixels, parameters, sim: dict,
             condition: str | None = None) -> dict:
    return {"substrate": substrate, "block": block.name, "kind": block.kind,
            "pixels": pixels, "condition": condition, "parameters": parameters, "sim": sim,
            "state": "planned", "run_files": [], "partial_files": [], "reason": "",
            "started": None, "ended": None, "figures": {}, "results": {}}


def expand_step(recipe: Recipe, substrate: Substrate, block: Block, pixels: list[int],
                known: dict, condition: str | None = None) -> list[dict]:
    """Concrete steps of ``block`` on ``pixels``: one per pixel, or one for all (channels)."""
    sim = step_sim(recipe, substrate, block)
    values = [step_values(recipe, substrate, block, p, known) for p in pixels]
    for v, extra in zip(values, block.per_channel):
        v.update(extra)
    if block.channels:
        return [new_step(substrate.name, block, list(pixels), values, sim, condition)] \
            if pixels else []
    return [new_step(substrate.name, block, [p], [v], sim, condition)
            for p, v in zip(pixels, values)]


def plan_steps(recipe: Recipe, known_of) -> list[dict]:
    """Every step of ``recipe`` in order; ``known_of(kind_name)`` → the kind's parameter names.
    A block with a condition is one step with ``pixels = None`` until it is reached."""
    steps = []
    for sub in recipe.substrates:
        for block in recipe.blocks:
            if not block.runs_on(sub.name):
                continue
            if isinstance(block.pixels, Condition):
                steps.append(new_step(sub.name, block, None, [], step_sim(recipe, sub, block),
                                      block.pixels.text))
            else:
                steps += expand_step(recipe, sub, block, block_pixels(sub, block),
                                     known_of(block.kind))
    for i, step in enumerate(steps, 1):
        step["id"] = i
    return steps


def select_pixels(steps: list[dict], substrate: str, condition: Condition,
                  candidates) -> tuple[list[int], dict, str]:
    """Apply ``condition`` to the finished steps of its source block on ``substrate`` →
    (chosen pixels, figures {pixel: value or the reason it has none}, reason if none).

    Only ``candidates`` (the substrate's pixels) are eligible; a pixel whose source step
    failed, was skipped or has no finite metric is not chosen (its figure says why).
    """
    figures: dict[str, object] = {}
    ranked = []
    for step in steps:
        if step["substrate"] != substrate or step["block"] != condition.source \
                or not step.get("pixels"):
            continue
        for p in step["pixels"]:
            if p not in candidates:
                continue
            if step["state"] != "done":
                figures[str(p)] = f"{condition.source} step {step['state']}"
                continue
            value = (step.get("results") or {}).get(str(p), {}).get(condition.metric)
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and math.isfinite(value):
                figures[str(p)] = float(value)
                ranked.append((float(value), p))
            else:
                figures[str(p)] = f"no {condition.metric}"
    ranked.sort(key=lambda vp: (-vp[0] if condition.descending else vp[0], vp[1]))
    chosen = [p for _, p in ranked[:condition.count]]
    reason = "" if chosen else (f"no pixel of {substrate} has {condition.metric} from block "
                                f"'{condition.source}' ({condition.text})")
    return chosen, figures, reason
