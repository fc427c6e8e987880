"""The photodiode dark current of a stored run: its readings, the corrected luminance, the drift.

The readings are the run's ``dark current <label>: …`` events (``acquisition/schema.md``,
"Dark current"); the luminance column holds the live values, which subtracted the latest
reading. :func:`corrected_luminance` recomputes it with the dark current interpolated in
time between the readings (:mod:`analysis.dark_current`), :func:`dark_summary` gives the
drift figures for the analysis result and the report page.
"""
from __future__ import annotations

import math
import re

import numpy as np

from analysis import dark_current as dc

__all__ = ["dark_readings", "corrected_luminance", "dark_summary", "dark_paragraph"]

_EVENT = re.compile(r"^dark current (\w+): I_dark = ([-+0-9.eE]+) A, std ([-+0-9.eEnaNinf]+) A, "
                    r"n = (\d+), at time_s = ([-+0-9.eEnaNinf]+) s")


def dark_readings(run) -> dict[str, np.ndarray]:
    """``label``, ``time_s``, ``current_A``, ``std_A``, ``n`` of the run's dark readings
    (arrays, in the order recorded; empty without any)."""
    out: dict[str, list] = {"label": [], "time_s": [], "current_A": [], "std_A": [], "n": []}
    ev = getattr(run, "events", None)
    if ev is not None and len(ev) and "message" in ev:
        for msg in ev["message"].tolist():
            m = _EVENT.match(str(msg))
            if m:
                out["label"].append(m.group(1))
                out["current_A"].append(float(m.group(2)))
                out["std_A"].append(float(m.group(3)))
                out["n"].append(int(m.group(4)))
                out["time_s"].append(float(m.group(5)))
    return {k: np.asarray(v, dtype=object if k == "label" else float) for k, v in out.items()}


def _columns(run):
    d = run.data
    if "photocurrent_A" not in d.columns or "time_s" not in d.columns:
        return None
    i = d["photocurrent_A"].to_numpy(float)
    if not np.isfinite(i).any():
        return None
    live = d["dark_current_A"].to_numpy(float) if "dark_current_A" in d.columns \
        else np.zeros(len(d))
    return d["time_s"].to_numpy(float), i, np.where(np.isfinite(live), live, 0.0)


def _corrected(run):
    cols = _columns(run)
    readings = dark_readings(run)
    if cols is None or not readings["time_s"].size:
        return None
    t, i, live = cols
    corr = dc.corrected_photocurrent_A(i, t, readings["time_s"], readings["current_A"])
    return t, i, live, corr, readings


def corrected_luminance(run) -> np.ndarray:
    """The luminance column [cd/m²] with the dark current interpolated between its readings
    (row order of ``run.data``); the column as stored without dark readings."""
    lum = run.data["luminance_cd_m2"].to_numpy(float)
    got = _corrected(run)
    if got is None:
        return lum
    _, i, live, corr, _ = got
    return dc.rescale_luminance_cd_m2(lum, i, live, corr)


def dark_summary(run) -> dict:
    """Flat, JSON-able dark-current figures (:func:`analysis.dark_current.dark_drift`);
    empty for a run without dark readings."""
    got = _corrected(run)
    if got is None:
        return {}
    _, _, _, corr, readings = got
    out = dc.dark_drift(readings["time_s"], readings["current_A"], corr,
                        dark_std_A=readings["std_A"], dark_n=readings["n"])
    out["dark_current_std_A"] = float(readings["std_A"][0])
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in out.items()}


def dark_paragraph(summary) -> str | None:
    """One paragraph for a report page (None without dark readings); the warning first."""
    if not summary.get("dark_readings"):
        return None

    def g(key, spec=".3g"):
        v = summary.get(key)
        return "—" if v is None else format(v, spec)

    text = (f"Photodiode dark current (LED source off, subtracted, interpolated in time): "
            f"start {g('dark_current_start_A')} A (σ {g('dark_current_std_A')} A), end "
            f"{g('dark_current_end_A')} A, drift {g('dark_current_drift_A')} ± "
            f"{g('dark_drift_uncertainty_A', '.2g')} A = "
            f"{g('dark_drift_fraction')} of the smallest photocurrent "
            f"({g('smallest_photocurrent_A')} A); {summary['dark_readings']} dark measurements.")
    warning = summary.get("dark_drift_warning")
    return f"**Warning:** {warning}. {text}" if warning else text
