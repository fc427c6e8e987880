"""Environment during a run: temperature excursion and drift, the over-temperature warning,
and the start/end records of a run's events.

Pure functions of arrays and strings. Ageing standards ask for the device and ambient
temperature beside ageing data (IEC 62341-5-3, LM-80's case-temperature record) because the
lifetime of an organic / QD emitter is thermally accelerated; a lifetime whose device
temperature moved by several kelvin is not one stress condition. The default threshold,
5 K, is our choice (a convention, not a standard's number).
"""
from __future__ import annotations

import math
import re
from typing import Iterable, Sequence

import numpy as np

__all__ = ["temperature_excursion", "temperature_warning", "lifetime_environment",
           "parse_environment_events", "DEFAULT_MAX_TEMPERATURE_CHANGE_K"]

DEFAULT_MAX_TEMPERATURE_CHANGE_K = 5.0

_RECORD_RE = re.compile(r"^environment (\w+): (.*)$")


def temperature_excursion(time_s, temperature_C) -> dict:
    """Excursion and drift of a temperature record.

    Returns ``excursion_K`` = max − min, ``change_K`` = largest |T(t) − T(t₀)| with T(t₀)
    the first valid reading (how far the device moved from where the test started),
    ``drift_K_per_h`` = least-squares slope (numpy.polyfit, degree 1) × 3600, ``min_C``,
    ``max_C``, ``first_C``, ``last_C`` and ``n_valid``. NaN readings are ignored; with no
    valid reading every figure is NaN (n_valid 0).
    """
    t = np.asarray(time_s, dtype=float)
    T = np.asarray(temperature_C, dtype=float)
    ok = np.isfinite(t) & np.isfinite(T)
    n = int(ok.sum())
    out = {"n_valid": n}
    if n == 0:
        return dict(out, excursion_K=math.nan, change_K=math.nan, drift_K_per_h=math.nan,
                    min_C=math.nan, max_C=math.nan, first_C=math.nan, last_C=math.nan)
    t, T = t[ok], T[ok]
    drift = float(np.polyfit(t, T, 1)[0] * 3600.0) if n >= 2 and np.ptp(t) > 0 else math.nan
    return dict(out, excursion_K=float(T.max() - T.min()), change_K=float(np.abs(T - T[0]).max()),
                drift_K_per_h=drift, min_C=float(T.min()), max_C=float(T.max()),
                first_C=float(T[0]), last_C=float(T[-1]))


def temperature_warning(excursion: dict, max_temperature_change_K: float, *,
                        what: str = "device temperature") -> str | None:
    """One-line warning when ``change_K`` exceeds the threshold [K], else None."""
    change = excursion.get("change_K", math.nan)
    if not math.isfinite(change) or change <= max_temperature_change_K:
        return None
    return (f"{what} moved by {change:.3g} K during the test (from {excursion['first_C']:.4g} "
            f"°C; range {excursion['min_C']:.4g} … {excursion['max_C']:.4g} °C), more than "
            f"max_temperature_change_K = {max_temperature_change_K:g} K: the stress was not "
            "at one temperature")


def lifetime_environment(time_s, device_temperature_C=None, ambient_temperature_C=None,
                         ambient_rh_percent=None, *,
                         max_temperature_change_K: float = DEFAULT_MAX_TEMPERATURE_CHANGE_K) -> dict:
    """Device and ambient excursions of a lifetime test and the warning (None if within)."""
    if not (math.isfinite(max_temperature_change_K) and max_temperature_change_K > 0):
        raise ValueError(f"max_temperature_change_K = {max_temperature_change_K!r} is out of "
                         "range: allowed > 0 K")
    nan = np.full(np.shape(time_s), np.nan)
    device = temperature_excursion(time_s, nan if device_temperature_C is None
                                   else device_temperature_C)
    ambient = temperature_excursion(time_s, nan if ambient_temperature_C is None
                                    else ambient_temperature_C)
    rh = np.asarray(nan if ambient_rh_percent is None else ambient_rh_percent, float)
    rh = rh[np.isfinite(rh)]
    return {"device": device, "ambient": ambient,
            "ambient_rh_min_percent": float(rh.min()) if rh.size else math.nan,
            "ambient_rh_max_percent": float(rh.max()) if rh.size else math.nan,
            "max_temperature_change_K": float(max_temperature_change_K),
            "warning": temperature_warning(device, max_temperature_change_K)}


def parse_environment_events(messages: Iterable[str],
                             times_s: Sequence[float] | None = None) -> dict:
    """``{when: {column: value, "time_s": t}}`` from ``environment <when>: k=v …`` events.

    The format is written by ``procedures.environment.environment_message`` (documented in
    acquisition/schema.md); other messages are ignored, a later record of the same ``when``
    (a resumed run's) replaces an earlier one.
    """
    out: dict = {}
    times = list(times_s) if times_s is not None else None
    for i, message in enumerate(messages):
        m = _RECORD_RE.match(str(message))
        if m is None:
            continue
        record = {}
        for part in m.group(2).split():
            key, _, value = part.partition("=")
            try:
                record[key] = float(value)
            except ValueError:
                record[key] = math.nan
        if times is not None:
            record["time_s"] = float(times[i])
        out[m.group(1)] = record
    return out
