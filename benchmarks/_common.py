"""Helpers shared by ``benchmarks/run.py``: loading sibling benchmark modules, figures, table."""
from __future__ import annotations

import importlib.util
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def load(name: str):
    """Import ``benchmarks/<name>.py`` (the folder is not a package) and return the module."""
    key = f"_qled_benchmarks_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Figure:
    """One line of the report: our figure beside its baseline and the target it must meet.

    ``check`` receives ``(ours, ratio)`` and says whether the target is met; ``None`` for an
    informational line (no target). ``ratio`` is defined per line so that the target reads
    naturally (a speed-up, or our cost over the baseline's).
    """

    measure: str
    unit: str
    ours: float
    baseline: float | None
    ratio: float | None
    target: str
    check: Callable[[float, float | None], bool] | None = field(default=None, repr=False)
    details: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool | None:
        if self.check is None:
            return None
        values = (self.ours, self.ratio)
        if any(v is not None and not math.isfinite(v) for v in values):
            return False
        return bool(self.check(self.ours, self.ratio))

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("check")
        d["passed"] = self.passed
        return d


def failed_figure(measure: str, unit: str, target: str, error: BaseException) -> Figure:
    """A line for a benchmark that could not run: it fails, with the reason in one line."""
    text = f"{type(error).__name__}: {error}".splitlines()[0]
    return Figure(measure, unit, math.nan, None, None, target, lambda o, r: False,
                  {"error": text})


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "n/a"
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 100:
        return f"{value:.0f}"
    if a >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_table(figures: list[Figure]) -> str:
    """The report as one Markdown table (readable in a terminal and pasteable in README)."""
    head = ("measure", "unit", "ours", "baseline", "ratio", "target", "pass/fail")
    rows = [head]
    for f in figures:
        verdict = {True: "pass", False: "FAIL", None: "info"}[f.passed]
        rows.append((f.measure, f.unit, _fmt(f.ours), _fmt(f.baseline), _fmt(f.ratio),
                     f.target, verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = []
    for k, r in enumerate(rows):
        cells = [c.ljust(w) if i in (0, 1, 5, 6) else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("| " + " | ".join(cells) + " |")
        if k == 0:
            lines.append("|" + "|".join(("-" * (w + 2)) if i in (0, 1, 5, 6)
                                        else ("-" * (w + 1) + ":")
                                        for i, w in enumerate(widths)) + "|")
    return "\n".join(lines)
