"""Validation of a whole recipe before anything is sourced: one line per problem.

Every block's kind is registered; every step's parameters build its procedure
(:func:`procedures.base.build_procedure`: ranges and the procedure's own cross-checks) on
every pixel it may run on (a block with a condition: every pixel of the substrate); every
station is ``sim``/``sim:<device>`` of a device the kind simulates, or a station file that
validates for the roles the procedure needs; a condition names an earlier block and a metric
that block's kind really produces (:attr:`qled.kinds.Kind.metric_keys`); per-pixel overrides
name pixels and substrates of the recipe; defaults are used by at least one block.
Nothing connects and nothing is written.
"""
from __future__ import annotations

from .model import Condition, Recipe, RecipeError
from .plan import block_pixels, is_sim, step_values

__all__ = ["check_recipe", "validate_recipe", "known_parameters"]


def known_parameters(kind_name: str) -> dict:
    """Parameter names of a kind's procedure (empty for an unknown kind)."""
    from qled.kinds import kinds

    kind = kinds().get(kind_name)
    return {} if kind is None else dict(kind.procedure().parameter_objects())


def _station_problem(proc, station: str, cache: dict) -> str | None:
    key = (type(proc), station)
    if key in cache:
        return cache[key]
    problem = None
    if is_sim(station):
        try:
            proc.sim_preset(station)
        except ValueError as exc:
            problem = str(exc)
    else:
        from instruments.station_config import StationConfigError, load_config

        try:
            load_config(station, roles=proc.required_roles())
        except StationConfigError as exc:
            problem = f"{station}: " + "; ".join(exc.errors)
    cache[key] = problem
    return problem


def _cases(block, cond, pixels):
    """(pixel, extra values) to validate: every pixel; for a channels block every channel a
    pixel may become (channel k = the k-th pixel chosen, with ``per_channel[k - 1]``; each
    validated as channel 1 of a station of its own)."""
    if not block.channels:
        return [(p, {}) for p in pixels]
    if cond is None:
        slots = [[k] for k in range(len(pixels))]          # pixel i is channel i + 1
    else:
        slots = [list(range(min(cond.count, len(pixels))))] * len(pixels)
    return [(p, {**(block.per_channel[k] if k < len(block.per_channel) else {}), "channel": 1})
            for p, ks in zip(pixels, slots) for k in ks]


def _check_block(recipe: Recipe, block, index: int, problems: list[str], cache: dict) -> None:
    from qled.kinds import kinds

    where = f"block '{block.name}'"
    kind = kinds().get(block.kind)
    if kind is None:
        problems.append(f"{where}: kind = {block.kind!r} is not known: known kinds are "
                        f"{', '.join(kinds())}")
        return
    known = known_parameters(block.kind)
    if block.channels:
        from procedures.lifetime import LifetimeProcedure

        if not issubclass(kind.procedure, LifetimeProcedure):
            problems.append(f"{where}: channels = true is for lifetime blocks (several pixels "
                            f"stressed at once), not for kind {block.kind!r}")
        if "channel" in block.parameters or any("channel" in c for c in block.per_channel):
            problems.append(f"{where}: parameters.channel is set by channels = true (channel k "
                            "is the k-th pixel of the block): leave it out")
    cond = block.pixels if isinstance(block.pixels, Condition) else None
    if cond is not None:
        earlier = {b.name: b for b in recipe.blocks[:index]}
        if cond.source in earlier and any(block.runs_on(s.name) and not
                                          earlier[cond.source].runs_on(s.name)
                                          for s in recipe.substrates):
            problems.append(f"{where}: pixels = '{cond.text}': block '{cond.source}' does not "
                            "run on every substrate this block runs on")
        if cond.source not in earlier:
            later = any(b.name == cond.source for b in recipe.blocks)
            how = ("is this block: a condition uses an earlier one" if cond.source == block.name
                   else "comes later: a condition uses an earlier block" if later else
                   "does not exist: allowed " + (", ".join(earlier) or "none"))
            problems.append(f"{where}: pixels = '{cond.text}': block '{cond.source}' {how}")
        else:
            source_kind = kinds().get(earlier[cond.source].kind)
            metrics = source_kind.metric_keys if source_kind is not None else ()
            if source_kind is not None and cond.metric not in metrics:
                problems.append(f"{where}: pixels = '{cond.text}': {cond.metric!r} is not a "
                                f"metric of kind '{source_kind.name}': allowed "
                                f"{', '.join(metrics) or 'none'}")
    elif block.pixels is not None:
        everywhere = {p for s in recipe.substrates for p in s.pixels}
        missing = [p for p in block.pixels if p not in everywhere]
        if missing:
            problems.append(f"{where}: pixel {missing[0]} is on no substrate (their pixels: "
                            f"{sorted(everywhere)})")
    for key in block.per_pixel:
        sub, _, num = key.rpartition("/")
        subs = [s for s in recipe.substrates if not sub or s.name == sub]
        if sub and not subs:
            problems.append(f"{where}: per_pixel key {key!r}: substrate '{sub}' does not exist")
        elif not any(int(num) in s.pixels for s in subs):
            problems.append(f"{where}: per_pixel key {key!r}: pixel {num} is on no "
                            f"{'substrate' if not sub else repr(sub)}")
    tried: dict[str, list] = {}
    count = 0
    for sub in [s for s in recipe.substrates if block.runs_on(s.name)]:
        pixels = list(sub.pixels) if cond is not None else block_pixels(sub, block)
        if block.channels and len(pixels) > 64:
            problems.append(f"{where}: substrate '{sub.name}': {len(pixels)} channels is out "
                            "of range: allowed 1 … 64")
        for pixel, extra in _cases(block, cond, pixels):
            count += 1
            values = step_values(recipe, sub, block, pixel, known)
            values.update(extra)
            try:
                from procedures.base import build_procedure

                proc = build_procedure(kind.procedure, values)
            except ValueError as exc:
                tried.setdefault(" ".join(str(exc).split()), []).append((sub.name, pixel))
                continue
            problem = _station_problem(proc, values["station"], cache)
            if problem is not None:
                tried.setdefault(f"substrate '{sub.name}': station: {problem}", []).append(None)
    for message, where_list in tried.items():
        if len(where_list) == count or None in where_list:
            problems.append(f"{where}: {message}")
        else:
            sub, pixel = where_list[0]
            more = f" (and {len(where_list) - 1} more)" if len(where_list) > 1 else ""
            problems.append(f"{where}: substrate '{sub}' pixel {pixel}{more}: {message}")


def check_recipe(recipe: Recipe) -> list[str]:
    """Every problem of ``recipe``, one line each, prefixed ``SOURCE: `` (empty: it can run)."""
    problems: list[str] = []
    cache: dict = {}
    for index, block in enumerate(recipe.blocks):
        _check_block(recipe, block, index, problems, cache)
    used = set()
    for block in recipe.blocks:
        used |= set(known_parameters(block.kind))
    for key in recipe.defaults:
        if key in ("station", "sample", "pixel"):
            problems.append(f"[defaults]: {key} is set by the recipe (substrate station, "
                            "substrate name, pixel): leave it out")
        elif key not in used:
            problems.append(f"[defaults]: {key!r} is a parameter of no block's procedure")
    for sub in recipe.substrates:
        for key in sub.parameters:
            if key in ("station", "sample", "pixel"):
                problems.append(f"substrate '{sub.name}': parameters.{key} is set by the "
                                "recipe: leave it out")
            elif key not in used:
                problems.append(f"substrate '{sub.name}': parameters.{key!r} is a parameter "
                                "of no block's procedure")
    return [f"{recipe.source}: {p}" for p in problems]


def validate_recipe(recipe: Recipe) -> Recipe:
    """``recipe`` if it can run, else :class:`RecipeError` with every problem."""
    problems = check_recipe(recipe)
    if problems:
        raise RecipeError(problems)
    return recipe
