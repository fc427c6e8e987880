"""The environment of a stored run: device/ambient temperature figures, the over-temperature
warning, and the T(t) figure beside L/L0 of a lifetime report.

Computation in :mod:`analysis.environment`; this module reads the run's columns and events.
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from analysis.environment import (DEFAULT_MAX_TEMPERATURE_CHANGE_K, lifetime_environment,
                                  parse_environment_events)

__all__ = ["run_environment", "plot_temperature", "max_temperature_change_K_of"]

HOUR_S = 3600.0


def max_temperature_change_K_of(run) -> float:
    """The run's ``max_temperature_change_K`` parameter (the default for older files)."""
    p = (getattr(run, "parameters", None) or {}).get("max_temperature_change_K")
    try:
        value = float(p["value"] if isinstance(p, dict) else p)
    except (TypeError, ValueError, KeyError):
        return DEFAULT_MAX_TEMPERATURE_CHANGE_K
    return value if math.isfinite(value) and value > 0 else DEFAULT_MAX_TEMPERATURE_CHANGE_K


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _column(run, name):
    d = run.data
    return d[name].to_numpy(float) if name in d.columns else None


def run_environment(run, *, max_temperature_change_K: float | None = None) -> dict:
    """JSON-able environment of a run: the lifetime columns' excursions and warning (when the
    run has them) and the ``start`` / ``end`` records of its events."""
    events = getattr(run, "events", None)
    records = {}
    if events is not None and len(events):
        records = parse_environment_events(events["message"], events["time_s"])
    out = {"records": records}
    if "time_s" in run.data.columns and "device_temperature_C" in run.data.columns:
        limit = max_temperature_change_K or max_temperature_change_K_of(run)
        out.update(lifetime_environment(_column(run, "time_s"),
                                        _column(run, "device_temperature_C"),
                                        _column(run, "ambient_temperature_C"),
                                        _column(run, "ambient_rh_percent"),
                                        max_temperature_change_K=limit))
    return _clean(out)


def plot_temperature(time_s, relative, device_temperature_C, ambient_temperature_C=None,
                     title: str | None = None) -> Figure:
    """L/L0 (top) and the device and ambient temperature (bottom) on one time axis [h]."""
    t = np.asarray(time_s, float) / HOUR_S
    fig = Figure(figsize=(6.0, 5.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(t, relative, ".", ms=3, color="#2e8b3a")
    top.set_ylabel("L/L0")
    bottom.plot(t, device_temperature_C, "-", color="#b03a2e", lw=1, label="device")
    if ambient_temperature_C is not None and np.isfinite(ambient_temperature_C).any():
        bottom.plot(t, ambient_temperature_C, "--", color="#1f3b73", lw=1, label="ambient")
    bottom.set_xlabel("stress time (h)")
    bottom.set_ylabel("temperature (°C)")
    bottom.legend(loc="best", fontsize=8)
    if title:
        top.set_title(title)
    return fig
