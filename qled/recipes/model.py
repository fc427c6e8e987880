"""The recipe file: TOML text → a :class:`Recipe` (structure only, one line per problem).

A recipe names substrates (each with its pixels and station), blocks (one measurement kind
with its parameters, on every pixel or on the pixels a condition picks from an earlier
block), recipe-wide defaults and per-pixel overrides::

    [recipe]
    name = "batch 12"
    sim = { time_scale = 300 }          # simulated bench only

    [defaults]                          # every block whose procedure has the parameter
    operator = "night shift"

    [[substrate]]
    name = "S1"
    station = "sim:passivated"
    pixels = [1, 2, 3, 4]

    [[block]]
    name = "jvl"
    kind = "jvl"
    parameters = { stop_voltage_V = 7.0 }
    per_pixel = { "3" = { compliance_mA = 50.0 } }   # "3": pixel 3 of every substrate; "S1/3"

    [[block]]
    name = "life"
    kind = "lifetime"
    pixels = "best 2 by max_eqe_percent from jvl"
    channels = true                                  # both at once, one channel each
    per_channel = [{ l0_cd_m2 = 1000.0 }, { l0_cd_m2 = 2000.0 }]

    [[block]]
    name = "dlcp"
    kind = "dlcp"
    pixels = "best 1 by max_eqe_percent from jvl"

Parsing checks the shape (tables, keys, types, names, pixel numbers, condition syntax);
:mod:`qled.recipes.check` checks what needs the kinds and procedures.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Recipe", "Substrate", "Block", "Condition", "RecipeError", "parse_recipe",
           "load_recipe", "parse_condition", "PIXEL_RANGE", "SIM_KEYS"]

#: Pixel numbers a recipe may name (those of ``QledProcedure.pixel``).
PIXEL_RANGE = (1, 64)
#: Simulated-bench options a recipe may set (``sim = {…}`` in [recipe] or a block).
SIM_KEYS = {"time_scale": "a number > 0", "noise": "true | false",
            "switch": "keithley7001 | relay_box (a switched substrate: each run wires its pixel)"}
#: Pixel switches a simulated substrate may have (``simulators.bench.Bench(switch=…)``).
SIM_SWITCHES = ("keithley7001", "relay_box")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CONDITION = re.compile(r"^\s*(best|highest|lowest)\s+(\d+)\s+by\s+([A-Za-z0-9_.-]+)\s+"
                        r"from\s+([A-Za-z0-9][A-Za-z0-9_.-]*)\s*$")
_TOP = {"recipe", "defaults", "substrate", "block"}
_RECIPE_KEYS = {"name", "description", "station", "sim"}
_SUBSTRATE_KEYS = {"name", "station", "pixels", "parameters", "description"}
_BLOCK_KEYS = {"name", "kind", "parameters", "pixels", "per_pixel", "channels", "sim",
               "substrates", "per_channel"}


class RecipeError(ValueError):
    """A recipe that cannot run; ``problems`` holds one line per problem (source-prefixed)."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Condition:
    """``best N by METRIC from BLOCK``: the N pixels of a substrate whose step of BLOCK has
    the highest (``best``/``highest``) or lowest (``lowest``) METRIC (a key of that kind's
    analysis result)."""

    count: int
    metric: str
    source: str
    descending: bool = True
    text: str = ""


@dataclass(frozen=True)
class Substrate:
    name: str
    station: str
    pixels: tuple[int, ...]
    parameters: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Block:
    """One measurement kind over pixels: ``pixels`` None = every pixel of the substrate, a
    tuple of pixel numbers, or a :class:`Condition`. ``channels``: a lifetime block runs all
    its pixels of a substrate at once (one station channel each); ``substrates``: the
    substrates it runs on (empty: every one)."""

    name: str
    kind: str
    parameters: dict = field(default_factory=dict)
    pixels: object = None
    per_pixel: dict = field(default_factory=dict)
    channels: bool = False
    sim: dict = field(default_factory=dict)
    substrates: tuple[str, ...] = ()
    per_channel: tuple = ()

    def runs_on(self, substrate: str) -> bool:
        return not self.substrates or substrate in self.substrates


@dataclass(frozen=True)
class Recipe:
    name: str
    source: str
    text: str
    station: str
    sim: dict
    defaults: dict
    substrates: tuple[Substrate, ...]
    blocks: tuple[Block, ...]
    base_dir: Path = Path(".")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def block(self, name: str) -> Block:
        return next(b for b in self.blocks if b.name == name)

    def substrate(self, name: str) -> Substrate:
        return next(s for s in self.substrates if s.name == name)


def parse_condition(text: str) -> Condition:
    """``best 2 by max_eqe_percent from jvl`` → :class:`Condition` (ValueError otherwise)."""
    m = _CONDITION.match(str(text))
    if m is None:
        raise ValueError(f"pixels = {text!r} is not a condition: allowed 'all', a list of "
                         "pixel numbers or 'best|highest|lowest N by METRIC from BLOCK'")
    count = int(m.group(2))
    if count < 1:
        raise ValueError(f"pixels = {text!r}: N = {count} is out of range: allowed ≥ 1")
    return Condition(count, m.group(3), m.group(4), m.group(1) != "lowest",
                     " ".join(str(text).split()))


def _pixels(value, where: str, problems: list[str]) -> tuple[int, ...] | None:
    lo, hi = PIXEL_RANGE
    if not isinstance(value, list) or not value:
        problems.append(f"{where}: pixels = {value!r} must be a non-empty list of pixel "
                        f"numbers {lo} … {hi}")
        return None
    bad = [p for p in value if isinstance(p, bool) or not isinstance(p, int)
           or not lo <= p <= hi]
    if bad:
        problems.append(f"{where}: pixel {bad[0]!r} is out of range: allowed {lo} … {hi}")
        return None
    if len(set(value)) != len(value):
        problems.append(f"{where}: pixels = {value} names a pixel twice")
        return None
    return tuple(value)


def _table(value, where: str, problems: list[str]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{where} must be a table")
        return {}
    return dict(value)


def _keys(table: dict, allowed: set, where: str, problems: list[str]) -> None:
    for key in table:
        if key not in allowed:
            problems.append(f"{where}: unknown key {key!r}: allowed {', '.join(sorted(allowed))}")


def _name(table: dict, where: str, problems: list[str]) -> str | None:
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"{where}: name = {name!r} must be 1-64 letters, digits, '_', '.' or "
                        "'-' (starting with a letter or digit)")
        return None
    return name


def _sim(value, where: str, problems: list[str]) -> dict:
    table = _table(value, f"{where}: sim", problems)
    out = {}
    for key, val in table.items():
        if key not in SIM_KEYS:
            problems.append(f"{where}: sim.{key} is not known: allowed "
                            f"{', '.join(sorted(SIM_KEYS))}")
        elif key == "time_scale" and (isinstance(val, bool) or not isinstance(val, (int, float))
                                      or not 0 < val < float("inf")):
            problems.append(f"{where}: sim.time_scale = {val!r} is out of range: allowed > 0")
        elif key == "switch" and val not in SIM_SWITCHES:
            problems.append(f"{where}: sim.switch = {val!r} is not accepted: allowed "
                            f"{' | '.join(SIM_SWITCHES)}")
        elif key == "noise" and not isinstance(val, bool):
            problems.append(f"{where}: sim.noise = {val!r} is not accepted: allowed true | false")
        else:
            out[key] = float(val) if key == "time_scale" else val
    return out


def _substrate(i: int, t, default_station: str, problems: list[str]) -> Substrate | None:
    where = f"substrate #{i}"
    if not isinstance(t, dict):
        problems.append(f"{where} must be a table ([[substrate]])")
        return None
    name = _name(t, where, problems)
    where = f"substrate '{name}'" if name else where
    _keys(t, _SUBSTRATE_KEYS, where, problems)
    station = t.get("station", default_station)
    if not isinstance(station, str) or not station:
        problems.append(f"{where}: station = {station!r} must be 'sim', 'sim:<device>' or a "
                        "station TOML path")
        station = None
    pixels = _pixels(t.get("pixels"), where, problems)
    params = _table(t.get("parameters"), f"{where}: parameters", problems)
    if name is None or station is None or pixels is None:
        return None
    return Substrate(name, station, pixels, params)


def _block(i: int, t, problems: list[str]) -> Block | None:
    where = f"block #{i}"
    if not isinstance(t, dict):
        problems.append(f"{where} must be a table ([[block]])")
        return None
    name = _name(t, where, problems)
    where = f"block '{name}'" if name else where
    _keys(t, _BLOCK_KEYS, where, problems)
    kind = t.get("kind")
    if not isinstance(kind, str) or not kind:
        problems.append(f"{where}: kind = {kind!r} must name a measurement kind (qled run KIND)")
        kind = None
    params = _table(t.get("parameters"), f"{where}: parameters", problems)
    for fixed in ("station", "sample", "pixel"):
        if fixed in params:
            problems.append(f"{where}: parameters.{fixed} is set by the recipe (substrate "
                            "station, substrate name, pixel): leave it out")
    pixels = t.get("pixels", "all")
    if pixels == "all":
        pixels = None
    elif isinstance(pixels, str):
        try:
            pixels = parse_condition(pixels)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            pixels = None
    else:
        pixels = _pixels(pixels, where, problems)
    per_pixel = {}
    for key, table in _table(t.get("per_pixel"), f"{where}: per_pixel", problems).items():
        sub, _, num = str(key).rpartition("/")
        if not num.isdigit() or not PIXEL_RANGE[0] <= int(num) <= PIXEL_RANGE[1]:
            problems.append(f"{where}: per_pixel key {key!r} must be a pixel number "
                            f"{PIXEL_RANGE[0]} … {PIXEL_RANGE[1]} or 'SUBSTRATE/PIXEL'")
            continue
        per_pixel[f"{sub}/{int(num)}" if sub else str(int(num))] = \
            _table(table, f"{where}: per_pixel.{key}", problems)
    channels = t.get("channels", False)
    if not isinstance(channels, bool):
        problems.append(f"{where}: channels = {channels!r} is not accepted: allowed true | false")
        channels = False
    sim = _sim(t.get("sim"), where, problems)
    per_channel = t.get("per_channel", [])
    if not isinstance(per_channel, list) or not all(isinstance(x, dict) for x in per_channel):
        problems.append(f"{where}: per_channel must be a list of tables (channel 1, 2, …)")
        per_channel = []
    elif per_channel and not channels:
        problems.append(f"{where}: per_channel needs channels = true")
    only = t.get("substrates", [])
    if not isinstance(only, list) or not all(isinstance(x, str) for x in only):
        problems.append(f"{where}: substrates = {only!r} must be a list of substrate names")
        only = []
    if name is None or kind is None:
        return None
    return Block(name, kind, params, pixels, per_pixel, channels, sim, tuple(only),
                 tuple(dict(x) for x in per_channel))


def parse_recipe(text: str, source: str = "recipe.toml", base_dir: Path | None = None) -> Recipe:
    """Parse recipe TOML ``text``; :class:`RecipeError` with every problem, each line
    prefixed ``source: ``."""
    problems: list[str] = []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError([f"{source}: not valid TOML: {' '.join(str(exc).split())}"]) from None
    for key in data:
        if key not in _TOP:
            problems.append(f"unknown table [{key}]: allowed {', '.join(sorted(_TOP))}")
    head = _table(data.get("recipe"), "[recipe]", problems)
    _keys(head, _RECIPE_KEYS, "[recipe]", problems)
    name = head.get("name", Path(source).stem)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"[recipe]: name = {name!r} must be a non-empty string")
        name = "recipe"
    station = head.get("station", "sim")
    if not isinstance(station, str) or not station:
        problems.append(f"[recipe]: station = {station!r} must be 'sim', 'sim:<device>' or a "
                        "station TOML path")
        station = "sim"
    sim = _sim(head.get("sim"), "[recipe]", problems)
    defaults = _table(data.get("defaults"), "[defaults]", problems)
    subs_raw = data.get("substrate", [])
    blocks_raw = data.get("block", [])
    if not isinstance(subs_raw, list) or not subs_raw:
        problems.append("[[substrate]]: a recipe needs at least one substrate")
        subs_raw = []
    if not isinstance(blocks_raw, list) or not blocks_raw:
        problems.append("[[block]]: a recipe needs at least one block")
        blocks_raw = []
    substrates = [s for i, t in enumerate(subs_raw, 1)
                  if (s := _substrate(i, t, station, problems)) is not None]
    blocks = [b for i, t in enumerate(blocks_raw, 1) if (b := _block(i, t, problems)) is not None]
    for label, items in (("substrate", substrates), ("block", blocks)):
        seen = set()
        for item in items:
            if item.name in seen:
                problems.append(f"{label} '{item.name}': the name is used twice")
            seen.add(item.name)
    names = {s.name for s in substrates}
    for block in blocks:
        for sub in block.substrates:
            if sub not in names:
                problems.append(f"block '{block.name}': substrates: '{sub}' is not a substrate "
                                f"of the recipe: allowed {', '.join(sorted(names))}")
    if problems:
        raise RecipeError([f"{source}: {p}" for p in problems])
    return Recipe(name.strip(), source, text, station, sim, defaults, tuple(substrates),
                  tuple(blocks), base_dir or Path("."))


def load_recipe(path) -> Recipe:
    """Read and parse a recipe file (structure only: see :func:`qled.recipes.check`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError([f"{path}: no such recipe file"]) from None
    except IsADirectoryError:
        raise RecipeError([f"{path}: is a folder, not a recipe file"]) from None
    except OSError as exc:
        raise RecipeError([f"{path}: cannot read the recipe: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        raise RecipeError([f"{path}: not UTF-8 text (byte {exc.start}): TOML is UTF-8"]) from None
    return parse_recipe(text, path.name, base_dir=path.resolve().parent)
