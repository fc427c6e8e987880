"""Colour and line shape of LED emission: CIE 1931 chromaticity, dominant wavelength, peak
wavelength and FWHM (in nm and meV).

Pure functions of numpy arrays (see :mod:`analysis.spectra` for the spectrum conventions).

References
----------
.. [1] CIE 015:2018, Colorimetry, 4th ed. DOI: 10.25039/TR.015.2018
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import constants

from .spectra import (_HC_J_M, CMFS_OBSERVER, WHITE_POINTS, _ratio, _scalar_if_0d, _spectra,
                      _tables_on, _trapezoid_weights)

__all__ = ["cie1931_xy", "dominant_wavelength_nm", "peak_wavelength_nm", "fwhm_nm", "fwhm_meV",
           "WHITE_POINTS"]

def cie1931_xy(wavelength_nm, spectrum):
    """CIE 1931 chromaticity (x, y) of a spectral power distribution.

    X, Y, Z = ∫P·x̄, ȳ, z̄ dλ with the CIE 1931 2° colour matching functions (colour-science,
    linearly interpolated onto ``wavelength_nm``); x = X/(X+Y+Z), y = Y/(X+Y+Z).

    Parameters
    ----------
    wavelength_nm : array_like
        Strictly increasing wavelengths [nm], shape (n,).
    spectrum : array_like
        Spectral power on any scale, shape (n,) or (m, n).

    Returns
    -------
    x, y : float or numpy.ndarray
        Chromaticity coordinates; NaN for a spectrum with no tristimulus response.

    References
    ----------
    .. [1] CIE 015:2018, Colorimetry, 4th ed. DOI: 10.25039/TR.015.2018
    """
    wl, s = _spectra(wavelength_nm, spectrum)
    _, cmf = _tables_on(wl.tobytes())
    xyz = np.moveaxis(s @ (cmf * _trapezoid_weights(wl)).T, -1, 0)
    total = xyz.sum(axis=0)
    return _scalar_if_0d(_ratio(xyz[0], total)), _scalar_if_0d(_ratio(xyz[1], total))


@lru_cache(maxsize=1)
def _fine_cmfs():
    import colour  # here, not at import: `qled --help` need not load it

    # colour.dominant_wavelength returns the nearest sample of the spectral locus; a 0.1 nm
    # locus keeps that quantisation well below an EL line's peak shift.
    cmfs = colour.MSDS_CMFS[CMFS_OBSERVER].copy()
    return cmfs.align(colour.SpectralShape(360, 830, 0.125))


def dominant_wavelength_nm(wavelength_nm, spectrum, white_point="E"):
    """Dominant wavelength of a spectrum relative to a white point (CIE 1931 2°).

    The wavelength where the line from the white point through the colour's (x, y)
    meets the spectral locus, computed by ``colour.dominant_wavelength`` on a 0.125 nm
    locus (360-830 nm).

    Parameters
    ----------
    wavelength_nm : array_like
        Strictly increasing wavelengths [nm], shape (n,).
    spectrum : array_like
        Spectral power on any scale, shape (n,) or (m, n).
    white_point : {'E', 'D65'}, default 'E'
        Achromatic reference: equal-energy illuminant E (x = y = 1/3, the usual choice for
        self-luminous sources) or CIE D65.

    Returns
    -------
    float or numpy.ndarray
        Dominant wavelength [nm]; negative values are complementary wavelengths (colours on
        the purple side of the white point); NaN for a spectrum without chromaticity.

    References
    ----------
    .. [1] CIE 015:2018, Colorimetry, 4th ed., §9.1. DOI: 10.25039/TR.015.2018
    """
    import colour  # here, not at import: `qled --help` need not load it

    if white_point not in WHITE_POINTS:
        raise ValueError(f"white_point = {white_point!r} is not allowed: choose one of {WHITE_POINTS}")
    xy_n = colour.CCS_ILLUMINANTS[CMFS_OBSERVER][white_point]
    x, y = cie1931_xy(wavelength_nm, spectrum)
    xy = np.stack([np.atleast_1d(x), np.atleast_1d(y)], axis=-1)
    ok = np.all(np.isfinite(xy), axis=-1)
    out = np.full(ok.shape, np.nan)
    if ok.any():
        out[ok] = np.asarray(colour.dominant_wavelength(xy[ok], xy_n, _fine_cmfs())[0])
    return float(out[0]) if np.ndim(x) == 0 else out


# ---------------------------------------------------------------- line shape
def _dark_subtracted(s, dark):
    if dark is None:
        return s
    return s - np.asarray(dark, dtype=float)


def peak_wavelength_nm(wavelength_nm, spectrum, dark=None):
    """Wavelength of the spectral maximum, refined by a 3-point parabola through the maximum.

    Parameters
    ----------
    wavelength_nm : array_like
        Strictly increasing wavelengths [nm], shape (n,).
    spectrum : array_like
        Spectrum on any scale, shape (n,) or (m, n).
    dark : float or array_like, optional
        Dark spectrum or offset subtracted first (broadcastable to ``spectrum``).

    Returns
    -------
    float or numpy.ndarray
        Peak wavelength [nm]; NaN for rows containing NaN. A maximum at either end of the
        axis is returned unrefined.

    Notes
    -----
    The vertex of the parabola through the three samples around the maximum (exact for a
    locally quadratic peak) gives sub-sample resolution, so small bias-dependent shifts
    are not quantised to the spectrometer step.
    """
    wl, s = _spectra(wavelength_nm, spectrum)
    s2 = np.atleast_2d(_dark_subtracted(s, dark))
    bad = ~np.all(np.isfinite(s2), axis=-1)
    s2 = np.where(bad[:, None], 0.0, s2)
    i = np.argmax(s2, axis=-1)
    inner = (i > 0) & (i < wl.size - 1)
    ic = np.clip(i, 1, wl.size - 2)
    rows = np.arange(s2.shape[0])
    y0, y1, y2 = s2[rows, ic - 1], s2[rows, ic], s2[rows, ic + 1]
    x0, x1, x2 = wl[ic - 1], wl[ic], wl[ic + 1]
    # vertex of the parabola through three (possibly unevenly spaced) points
    num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
    den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = x1 - 0.5 * num / den
    refined = inner & np.isfinite(vertex) & (den != 0)
    out = np.where(refined, vertex, wl[i])
    out = np.where(bad, np.nan, out)
    return float(out[0]) if s.ndim == 1 else out


def _half_max_crossings(wl, s2):
    """Interpolated left/right half-maximum wavelengths per row (NaN if not crossed)."""
    n = wl.size
    bad = ~np.all(np.isfinite(s2), axis=-1)
    s2 = np.where(bad[:, None], 0.0, s2)
    rows = np.arange(s2.shape[0])
    ipk = np.argmax(s2, axis=-1)
    peak = s2[rows, ipk]
    half = 0.5 * peak
    idx = np.arange(n)[None, :]
    below = s2 < half[:, None]
    # last sample below half left of the peak, first one below half right of it
    il = np.where(below & (idx < ipk[:, None]), idx, -1).max(axis=-1)
    ir = np.where(below & (idx > ipk[:, None]), idx, n).min(axis=-1)
    ok = (il >= 0) & (ir < n) & (peak > 0) & ~bad
    il_c, ir_c = np.clip(il, 0, n - 2), np.clip(ir, 1, n - 1)

    def cross(i0, i1):
        y0, y1 = s2[rows, i0], s2[rows, i1]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (half - y0) / (y1 - y0)
        return wl[i0] + t * (wl[i1] - wl[i0])

    left = np.where(ok, cross(il_c, il_c + 1), np.nan)
    right = np.where(ok, cross(ir_c - 1, ir_c), np.nan)
    return left, right


def fwhm_nm(wavelength_nm, spectrum, dark=None):
    """Full width at half maximum from the half-maximum crossings, linearly interpolated.

    Parameters
    ----------
    wavelength_nm : array_like
        Strictly increasing wavelengths [nm], shape (n,).
    spectrum : array_like
        Spectrum on any scale (response-calibrated), shape (n,) or (m, n).
    dark : float or array_like, optional
        Dark spectrum or offset subtracted first (broadcastable to ``spectrum``).

    Returns
    -------
    float or numpy.ndarray
        FWHM [nm]; NaN where the spectrum does not fall below half maximum on both sides of
        its peak inside the axis, or contains NaN.

    References
    ----------
    .. [1] Anaya et al., Nat. Photonics 13, 818 (2019). DOI: 10.1038/s41566-019-0543-y
    """
    wl, s = _spectra(wavelength_nm, spectrum)
    left, right = _half_max_crossings(wl, np.atleast_2d(_dark_subtracted(s, dark)))
    out = right - left
    return float(out[0]) if s.ndim == 1 else out


def fwhm_meV(wavelength_nm, spectrum, dark=None):
    """FWHM in photon energy: E(λ_left) − E(λ_right) at the half-maximum crossings.

    Uses the exact E = hc/(qλ) at both crossings; for a narrow line this equals the usual
    ΔE ≈ 1239.84·Δλ/λ² [meV, nm].

    Parameters
    ----------
    wavelength_nm : array_like
        Strictly increasing wavelengths [nm], shape (n,).
    spectrum : array_like
        Spectrum on any scale, shape (n,) or (m, n).
    dark : float or array_like, optional
        Dark spectrum or offset subtracted first.

    Returns
    -------
    float or numpy.ndarray
        FWHM [meV]; NaN where :func:`fwhm_nm` is NaN.
    """
    wl, s = _spectra(wavelength_nm, spectrum)
    left, right = _half_max_crossings(wl, np.atleast_2d(_dark_subtracted(s, dark)))
    hc_eV_nm = _HC_J_M / constants.e * 1e9
    out = 1e3 * hc_eV_nm * (1.0 / left - 1.0 / right)
    return float(out[0]) if s.ndim == 1 else out
