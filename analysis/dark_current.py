"""Photodiode dark current: its value at every row, its subtraction, and its drift.

A photodiode read by an SMU or a picoammeter returns photocurrent plus dark current (the
detector's own current and the meter's offset). The run measures the dark current with the
LED's source output off at the start, at every resume and at the end; between two readings
it is taken as linear in time (a slow drift), outside them as the nearest reading. The
corrected photocurrent I_ph = I_read − I_dark(t) is what luminance and EQE are computed
from (Archer et al., Adv. Opt. Mater. 9, 2000838 (2021): luminance and photon flux are
proportional to the photocurrent for a fixed spectrum and geometry). Functions of arrays.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["DRIFT_WARN_FRACTION", "dark_current_at_A", "corrected_photocurrent_A",
           "rescale_luminance_cd_m2", "dark_drift"]

#: Drift (end − start) of the dark current, relative to the smallest photocurrent of the run,
#: above which a report warns: the linear interpolation then carries most of the
#: correction of the dimmest points, and a drift that is not linear would bias them.
DRIFT_WARN_FRACTION = 0.05


def _readings(time_s, current_A):
    t = np.atleast_1d(np.asarray(time_s, dtype=float))
    i = np.atleast_1d(np.asarray(current_A, dtype=float))
    if t.shape != i.shape or t.ndim != 1:
        raise ValueError("dark readings: time_s and current_A must be 1-D, same length")
    ok = np.isfinite(t) & np.isfinite(i)
    order = np.argsort(t[ok], kind="stable")
    return t[ok][order], i[ok][order]


def dark_current_at_A(time_s, dark_time_s, dark_current_A) -> np.ndarray:
    """Dark current [A] at the rows' ``time_s`` [s] from the dark readings.

    Piecewise linear between readings (``dark_time_s`` on the same clock as ``time_s``,
    ``dark_current_A`` their means), constant before the first and after the last; no
    reading at all gives 0 (nothing to subtract).
    """
    t = np.asarray(time_s, dtype=float)
    dt, di = _readings(dark_time_s, dark_current_A)
    if dt.size == 0:
        return np.zeros_like(t)
    return np.interp(t, dt, di)


def corrected_photocurrent_A(photocurrent_A, time_s, dark_time_s, dark_current_A) -> np.ndarray:
    """I_ph = I_read − I_dark(t) [A] (:func:`dark_current_at_A`); NaN stays NaN."""
    i = np.asarray(photocurrent_A, dtype=float)
    return i - dark_current_at_A(time_s, dark_time_s, dark_current_A)


def rescale_luminance_cd_m2(luminance_cd_m2, photocurrent_A, live_dark_A, corrected_A) -> np.ndarray:
    """Luminance [cd/m²] of the corrected photocurrent from the live one.

    The live luminance is L = k·max(I_read − I_dark,live, 0) with one constant k of the run
    (calibration, reference spectrum, area: Archer et al. 2021). k is the median of
    L/(I_read − I_dark,live) over rows where both are > 0, and the corrected luminance is
    k·max(I_corrected, 0). Rows without a photocurrent keep their luminance; without any row
    to take k from, the luminance is returned unchanged.
    """
    lum = np.asarray(luminance_cd_m2, dtype=float)
    net = np.asarray(photocurrent_A, dtype=float) - np.asarray(live_dark_A, dtype=float)
    corr = np.asarray(corrected_A, dtype=float)
    use = np.isfinite(lum) & np.isfinite(net) & (net > 0) & (lum > 0)
    if not use.any():
        return lum.copy()
    k = float(np.median(lum[use] / net[use]))
    out = lum.copy()
    has = np.isfinite(corr)
    out[has] = k * np.maximum(corr[has], 0.0)
    return out


def dark_drift(dark_time_s, dark_current_A, corrected_A, *, dark_std_A=None, dark_n=None,
               warn_fraction: float = DRIFT_WARN_FRACTION) -> dict:
    """Drift of the dark current over the run, against the run's smallest signal.

    Returns ``dark_current_start_A`` and ``dark_current_end_A`` (first and last reading),
    ``dark_current_drift_A`` (end − start) and ``dark_drift_uncertainty_A`` (its standard
    error, √(σ_s²/n_s + σ_e²/n_e), from ``dark_std_A`` and ``dark_n`` of the readings),
    ``smallest_photocurrent_A`` (the smallest corrected photocurrent above the noise of one
    dark reading, 3·σ: points below it are not a signal), ``dark_drift_fraction`` = |drift| /
    smallest photocurrent, ``dark_readings`` (their number) and ``dark_drift_warning`` (a
    sentence when the fraction exceeds ``warn_fraction`` and the drift exceeds twice its
    standard error, else None). NaN where a figure is not defined (one reading: no drift;
    no photocurrent above the noise).
    """
    dt, di = _readings(dark_time_s, dark_current_A)
    n_read = np.atleast_1d(np.asarray(dark_time_s, dtype=float)).size
    std = np.zeros(n_read) if dark_std_A is None else np.atleast_1d(np.asarray(dark_std_A, float))
    n = np.ones(n_read) if dark_n is None else np.atleast_1d(np.asarray(dark_n, float))
    if std.shape != (n_read,) or n.shape != (n_read,):
        raise ValueError("dark readings: dark_std_A and dark_n must have one value per reading")
    keep = np.isfinite(np.asarray(dark_time_s, float)) & np.isfinite(np.asarray(dark_current_A,
                                                                                 float))
    order = np.argsort(np.asarray(dark_time_s, float)[keep], kind="stable")
    std, n = std[keep][order], np.maximum(n[keep][order], 1.0)
    corr = np.asarray(corrected_A, dtype=float)
    floor = 3.0 * float(np.nanmax(std)) if std.size else 0.0
    pos = corr[np.isfinite(corr) & (corr > max(floor, 0.0))]
    smallest = float(pos.min()) if pos.size else math.nan
    start = float(di[0]) if di.size else math.nan
    end = float(di[-1]) if di.size else math.nan
    drift = end - start if di.size >= 2 else math.nan
    error = float(math.sqrt(std[0] ** 2 / n[0] + std[-1] ** 2 / n[-1])) if di.size >= 2 \
        else math.nan
    fraction = abs(drift) / smallest if math.isfinite(drift) and smallest > 0 else math.nan
    warning = None
    if math.isfinite(fraction) and fraction > warn_fraction and abs(drift) > 2.0 * error:
        warning = (f"photodiode dark current drifted by {drift:.3g} A during the run "
                   f"({start:.3g} → {end:.3g} A, ± {error:.2g} A), {100 * fraction:.3g} % of "
                   f"the smallest photocurrent ({smallest:.3g} A; warning above "
                   f"{100 * warn_fraction:g} %): the dimmest points rest on the assumed linear "
                   "drift")
    return {"dark_current_start_A": start, "dark_current_end_A": end,
            "dark_current_drift_A": drift, "dark_drift_uncertainty_A": error,
            "smallest_photocurrent_A": smallest, "dark_drift_fraction": fraction,
            "dark_readings": int(di.size), "dark_drift_warning": warning}
