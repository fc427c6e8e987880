"""Spectra on a wavelength axis: validation, trapezoidal integrals and the CIE tables there.

What the photometry and colorimetry functions share. A spectrum is 1-D (one curve on
``wavelength_nm``) or 2-D (one row per measurement point). Integrals are trapezoidal on the
given axis; the CIE tables (colour-science: CIE 1924 photopic V(λ), not the Judd-Vos
modification; CIE 1931 2° colour-matching functions) are linearly interpolated onto that axis
and are zero outside 360–830 nm, where they are defined.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import constants

#: Maximum luminous efficacy of photopic vision [lm/W] (SI definition of the candela).
K_M_LM_W = 683.0

#: Photopic luminous efficiency function used throughout.
PHOTOPIC_OBSERVER = "CIE 1924 Photopic Standard Observer"
#: Colour matching functions used throughout.
CMFS_OBSERVER = "CIE 1931 2 Degree Standard Observer"

#: White points accepted by :func:`dominant_wavelength_nm` (CIE 1931 2° xy).
WHITE_POINTS = ("E", "D65")

_HC_J_M = constants.h * constants.c  # photon energy × wavelength [J m]
_MA_CM2_TO_A_M2 = 10.0  # 1 mA/cm² = 1e-3 A / 1e-4 m²


def _axis(wavelength_nm):
    """Validated wavelength axis [nm]: 1-D, finite, strictly increasing, ≥ 3 points."""
    wl = np.asarray(wavelength_nm, dtype=float)
    if wl.ndim != 1 or wl.size < 3:
        raise ValueError(
            f"wavelength_nm must be a 1-D array of at least 3 points, got shape {wl.shape}"
        )
    if not np.all(np.isfinite(wl)):
        raise ValueError("wavelength_nm must be finite: allowed values 1 … 1e5 nm, got NaN/inf")
    if np.any(np.diff(wl) <= 0):
        raise ValueError("wavelength_nm must be strictly increasing (sort the spectrum first)")
    if wl[0] <= 0:
        raise ValueError(f"wavelength_nm = {wl[0]} is out of range: allowed > 0 nm")
    return wl


def _spectra(wavelength_nm, spectrum):
    """Validated (axis, spectra) with spectra of shape (..., n_wavelengths)."""
    wl = _axis(wavelength_nm)
    s = np.asarray(spectrum, dtype=float)
    if s.ndim not in (1, 2) or s.shape[-1] != wl.size:
        raise ValueError(
            f"spectrum must have shape ({wl.size},) or (n_points, {wl.size}) to match "
            f"wavelength_nm, got {s.shape}"
        )
    return wl, s


def _trapezoid_weights(wl):
    """Quadrature weights q with ∫y dλ ≈ Σ q·y (trapezoid rule on a non-uniform axis)."""
    d = np.diff(wl)
    q = np.empty_like(wl)
    q[0], q[-1] = d[0] / 2, d[-1] / 2
    q[1:-1] = (d[:-1] + d[1:]) / 2
    return q


def _integrate(s, wl, weight=1.0):
    """∫ s·weight dλ along the last axis (trapezoid rule).

    Written as a matrix-vector product so a (points × wavelengths) block is read once,
    without temporaries: this is what makes 10^4 spectra per call cheap.
    """
    w = np.broadcast_to(np.asarray(weight, dtype=float), wl.shape) * _trapezoid_weights(wl)
    return s @ w


def _ratio(num, den):
    """num/den with NaN (not inf, not a warning) where den is 0 or not finite."""
    num, den = np.broadcast_arrays(np.asarray(num, float), np.asarray(den, float))
    out = np.full(num.shape, np.nan)
    ok = np.isfinite(den) & (den != 0)
    np.divide(num, den, out=out, where=ok)
    return out


def _scalar_if_0d(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


@lru_cache(maxsize=32)
def _tables_on(axis_key):
    """V(λ) and x̄ȳz̄ interpolated onto a wavelength axis (cached by axis bytes)."""
    import colour  # here, not at import: `qled --help` need not load it

    wl = np.frombuffer(axis_key, dtype=float)
    lef = colour.colorimetry.SDS_LEFS_PHOTOPIC[PHOTOPIC_OBSERVER]
    v = np.interp(wl, lef.wavelengths, lef.values, left=0.0, right=0.0)
    cmfs = colour.MSDS_CMFS[CMFS_OBSERVER]
    xyz = np.stack(
        [np.interp(wl, cmfs.wavelengths, cmfs.values[:, k], left=0.0, right=0.0) for k in range(3)]
    )
    v.setflags(write=False)
    xyz.setflags(write=False)
    return v, xyz


def photopic_v(wavelength_nm):
    """CIE 1924 photopic luminous efficiency V(λ) on a wavelength axis (0 outside 360-830 nm).

    Parameters
    ----------
    wavelength_nm : array_like
        Strictly increasing wavelengths [nm].

    Returns
    -------
    numpy.ndarray
        V(λ) [dimensionless, 1 at 555 nm], linearly interpolated from colour-science's
        1 nm table.

    References
    ----------
    .. [1] CIE 018:2019, The basis of physical photometry, 3rd ed.
       DOI: 10.25039/TR.018.2019
    """
    wl = _axis(wavelength_nm)
    return _tables_on(wl.tobytes())[0].copy()
