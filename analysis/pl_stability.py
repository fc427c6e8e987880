"""PL stability under continuous excitation: time to x % of the initial PL, spectral drift.

Pure functions of arrays. Conventions follow operational-lifetime reporting (T_x: time for
the signal to fall to x of its reference; metrology notes, "Operational lifetime"): the
reference L0 is stated — the first value (``"initial"``) or the maximum (``"max"``, for films
that brighten first under light soaking) — and T_x is read by linear interpolation between
the two samples that bracket the first crossing after the reference point.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["time_to_fraction_s", "spectral_peak_and_fwhm_nm", "integrated_intensity",
           "summarize_pl_stability", "REFERENCES"]

REFERENCES = ("initial", "max")


def _series(time_s, intensity):
    t = np.asarray(time_s, dtype=float).ravel()
    y = np.asarray(intensity, dtype=float).ravel()
    if t.shape != y.shape:
        raise ValueError(f"time_s and intensity differ in length ({t.size} vs {y.size}): "
                         "allowed equal lengths")
    keep = np.isfinite(t) & np.isfinite(y)
    t, y = t[keep], y[keep]
    if t.size < 2:
        raise ValueError(f"{t.size} finite samples: allowed at least 2")
    if np.any(np.diff(t) <= 0):
        raise ValueError("time_s is not strictly increasing: allowed a time series in order")
    if y[0] <= 0:
        raise ValueError(f"the first intensity is {y[0]:g}: allowed > 0 (a reference L0)")
    return t, y


def time_to_fraction_s(time_s, intensity, fraction, reference="initial"):
    """Time at which ``intensity`` first falls to ``fraction`` × L0 after the reference point.

    Parameters
    ----------
    time_s, intensity : array_like
        Strictly increasing times [s] and the PL signal (any linear unit).
    fraction : float
        0 < fraction < 1 (0.8 → T80, 0.5 → T50).
    reference : {"initial", "max"}
        L0 = the first sample, or the maximum (then the crossing is searched after it).

    Returns
    -------
    float
        T_x [s] on the ``time_s`` axis, linearly interpolated; NaN if not reached.
    """
    if not (0 < fraction < 1):
        raise ValueError(f"fraction = {fraction!r} is out of range: allowed 0 < fraction < 1")
    if reference not in REFERENCES:
        raise ValueError(f"reference = {reference!r} is not allowed: use 'initial' or 'max'")
    t, y = _series(time_s, intensity)
    k0 = 0 if reference == "initial" else int(np.argmax(y))
    level = fraction * y[k0]
    below = np.nonzero(y[k0:] <= level)[0]
    if below.size == 0:
        return math.nan
    k = k0 + int(below[0])
    if k == k0:
        return float(t[k0])
    # linear interpolation between the last sample above and the first at/below the level
    t1, t2, y1, y2 = t[k - 1], t[k], y[k - 1], y[k]
    return float(t1 + (y1 - level) * (t2 - t1) / (y1 - y2))


def integrated_intensity(wavelength_nm, spectra):
    """∫ spectrum dλ (trapezoid) per spectrum [spectrum unit × nm]; rows are spectra."""
    wl = np.asarray(wavelength_nm, dtype=float)
    s = np.atleast_2d(np.asarray(spectra, dtype=float))
    if s.shape[-1] != wl.size or wl.size < 2 or np.any(np.diff(wl) <= 0):
        raise ValueError("wavelength_nm must increase and match the spectra's last axis")
    return np.trapezoid(s, wl, axis=-1)


def spectral_peak_and_fwhm_nm(wavelength_nm, spectra):
    """Peak wavelength and FWHM [nm] of each spectrum (rows).

    Peak: vertex of the parabola through the maximum sample and its neighbours. FWHM:
    distance between the half-maximum crossings, each linearly interpolated (metrology
    notes, "FWHM from half-maximum crossings"). NaN for an empty (all ≤ 0 or NaN) spectrum
    or a line cut by the axis ends.
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    s = np.atleast_2d(np.asarray(spectra, dtype=float))
    if s.shape[-1] != wl.size or wl.size < 3 or np.any(np.diff(wl) <= 0):
        raise ValueError("wavelength_nm must increase (≥ 3 points) and match the spectra")
    peaks = np.full(s.shape[0], np.nan)
    fwhm = np.full(s.shape[0], np.nan)
    for r, row in enumerate(s):
        if not np.any(np.isfinite(row)) or np.nanmax(row) <= 0:
            continue
        row = np.nan_to_num(row, nan=0.0)
        k = int(np.argmax(row))
        if 0 < k < wl.size - 1:
            y0, y1, y2 = row[k - 1], row[k], row[k + 1]
            denom = y0 - 2 * y1 + y2
            off = 0.5 * (y0 - y2) / denom if denom != 0 else 0.0
            peaks[r] = wl[k] + off * (wl[k + 1] - wl[k - 1]) / 2
        else:
            peaks[r] = wl[k]
        half = row[k] / 2
        left = np.nonzero(row[:k] < half)[0]
        right = np.nonzero(row[k:] < half)[0]
        if left.size == 0 or right.size == 0:
            continue
        i, j = left[-1], k + right[0]
        xl = wl[i] + (half - row[i]) * (wl[i + 1] - wl[i]) / (row[i + 1] - row[i])
        xr = wl[j - 1] + (row[j - 1] - half) * (wl[j] - wl[j - 1]) / (row[j - 1] - row[j])
        fwhm[r] = xr - xl
    return peaks, fwhm


def summarize_pl_stability(time_s, intensity, wavelength_nm=None, spectra=None,
                           fractions=(0.8, 0.5)) -> dict:
    """T_x for both references, the brightening maximum and (with spectra) spectral drift.

    Returns
    -------
    dict
        ``t80_s``, ``t50_s`` (L0 = first value), ``t80_from_max_s``, ``t50_from_max_s``
        (L0 = maximum), ``time_of_max_s``, ``max_relative_intensity`` (max/first),
        ``final_relative_intensity``, ``duration_s``; with spectra also ``peak_initial_nm``,
        ``peak_shift_nm`` and ``fwhm_initial_nm``, ``fwhm_change_nm`` (last − first).
        A T_x not reached within the record is NaN.
    """
    t, y = _series(time_s, intensity)
    t = t - t[0]          # times from the first sample (the start of the exposure record)
    out = {}
    for f in fractions:
        tag = f"t{round(100 * f)}"
        out[f"{tag}_s"] = time_to_fraction_s(t, y, f, "initial")
        out[f"{tag}_from_max_s"] = time_to_fraction_s(t, y, f, "max")
    k = int(np.argmax(y))
    out.update(time_of_max_s=float(t[k]), max_relative_intensity=float(y[k] / y[0]),
               final_relative_intensity=float(y[-1] / y[0]), duration_s=float(t[-1]))
    if spectra is not None and wavelength_nm is not None:
        peaks, fwhm = spectral_peak_and_fwhm_nm(wavelength_nm, spectra)
        good = np.isfinite(peaks) & np.isfinite(fwhm)
        if good.sum() >= 2:
            first, last = np.nonzero(good)[0][[0, -1]]
            out.update(peak_initial_nm=float(peaks[first]),
                       peak_shift_nm=float(peaks[last] - peaks[first]),
                       fwhm_initial_nm=float(fwhm[first]),
                       fwhm_change_nm=float(fwhm[last] - fwhm[first]))
    return out
