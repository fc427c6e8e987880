"""Photometry and colorimetry of LED emission: EQE, efficiencies, chromaticity, line shape.

Pure functions of scalars or numpy arrays, no I/O. Spectra are spectral *power*
(radiance or irradiance, W per nm on any scale): they enter only through ratios of
integrals, so their absolute scale never matters. A spectrum is 1-D (one curve on
``wavelength_nm``) or 2-D (one row per measurement point); results then have one value
per row. Integrals are trapezoidal on the given wavelength axis; the CIE tables are
linearly interpolated onto that axis and are zero outside 360-830 nm, where they are
defined.

CIE tables come from colour-science: photopic V(λ) is the CIE 1924 photopic luminous
efficiency function (not the Judd-Vos modification), colour matching functions are the
CIE 1931 2° standard observer.

References
----------
.. [1] S. R. Forrest, D. D. C. Bradley, M. E. Thompson, "Measuring the efficiency of
   organic light-emitting devices", Adv. Mater. 15, 1043 (2003).
   DOI: 10.1002/adma.200302151
.. [2] M. Anaya et al., "Best practices for measuring emerging light-emitting diode
   technologies", Nat. Photonics 13, 818 (2019). DOI: 10.1038/s41566-019-0543-y
.. [3] J. Archer et al., "Accurate efficiency measurements of organic light-emitting
   diodes via angle-resolved spectroscopy", Adv. Opt. Mater. 9, 2000838 (2021).
   DOI: 10.1002/adom.202000838
.. [4] CIE 015:2018, Colorimetry, 4th ed. DOI: 10.25039/TR.015.2018
"""

from __future__ import annotations

from functools import lru_cache

import colour
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


# ---------------------------------------------------------------- input handling
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


# ---------------------------------------------------------------- spectral ratios
def photons_per_lumen(wavelength_nm, spectrum):
    """Photon rate per lumen of a spectrum: ∫P·λ/(hc) dλ / (K_m·∫P·V dλ).

    Parameters
    ----------
    wavelength_nm : array_like
        Strictly increasing wavelengths [nm], shape (n,).
    spectrum : array_like
        Spectral power on any scale, shape (n,) or (m, n).

    Returns
    -------
    float or numpy.ndarray
        Photons per second per lumen [s⁻¹ lm⁻¹]; NaN where ∫P·V dλ = 0 (no visible light)
        or the row contains NaN.

    References
    ----------
    .. [1] Forrest, Bradley, Thompson, Adv. Mater. 15, 1043 (2003).
       DOI: 10.1002/adma.200302151
    """
    wl, s = _spectra(wavelength_nm, spectrum)
    v, _ = _tables_on(wl.tobytes())
    # both integrals in one pass over the spectra
    weights = np.stack([wl * 1e-9 / _HC_J_M, K_M_LM_W * v], axis=1) * _trapezoid_weights(wl)[:, None]
    both = s @ weights
    photons, lumens = both[..., 0], both[..., 1]
    return _scalar_if_0d(_ratio(photons, lumens))


def photon_weighted_mean_energy_eV(wavelength_nm, spectrum):
    """Mean photon energy of a spectrum, weighted by photon number: ∫P dλ / ∫P·λ/(hc) dλ.

    This is the energy that converts a photon rate into optical power (wall-plug
    efficiency = EQE × ⟨E⟩ / (qV)). Weighting the energy by *power* instead is a known
    error; it over-weights short wavelengths.

    Parameters
    ----------
    wavelength_nm : array_like
        Strictly increasing wavelengths [nm], shape (n,).
    spectrum : array_like
        Spectral power on any scale, shape (n,) or (m, n).

    Returns
    -------
    float or numpy.ndarray
        Mean photon energy [eV]; NaN for an all-zero spectrum.

    References
    ----------
    .. [1] Forrest, Bradley, Thompson, Adv. Mater. 15, 1043 (2003).
       DOI: 10.1002/adma.200302151
    """
    wl, s = _spectra(wavelength_nm, spectrum)
    power = _integrate(s, wl)
    photons = _integrate(s, wl, wl * 1e-9 / _HC_J_M)
    return _scalar_if_0d(_ratio(power, photons) / constants.e)


# ---------------------------------------------------------------- efficiencies
def _positive_or_nan(x):
    x = np.asarray(x, dtype=float)
    return np.where((x > 0) & np.isfinite(x), x, np.nan)   # J = inf is no measurement


def eqe_percent(luminance_cd_m2, current_density_mA_cm2, wavelength_nm, spectrum,
                angular_factor=np.pi):
    """External quantum efficiency from luminance, current density and the EL spectrum.

    .. math::
        \\mathrm{EQE} = \\frac{F\\,q\\,L}{K_m\\,J}\\,
        \\frac{\\int P(\\lambda)\\,\\lambda/(hc)\\,d\\lambda}{\\int P(\\lambda)\\,V(\\lambda)\\,d\\lambda}

    with J in A/m² (1 mA/cm² = 10 A/m²), K_m = 683 lm/W, V(λ) the CIE 1924 photopic
    function and F = π for a Lambertian emitter into the forward hemisphere.

    Parameters
    ----------
    luminance_cd_m2 : float or array_like
        On-axis luminance [cd/m²].
    current_density_mA_cm2 : float or array_like
        Current density [mA/cm²], broadcastable with ``luminance_cd_m2``. EQE is NaN where
        J ≤ 0 (no injection).
    wavelength_nm : array_like
        Strictly increasing wavelengths [nm], shape (n,).
    spectrum : array_like
        EL spectral *power* (radiance) on any scale: shape (n,) for one spectrum for all
        points, or (m, n) with one row per point (m broadcastable with the luminance).
        A photon-count spectrum must be converted to power first (× hc/λ).
    angular_factor : float, default π
        F = 2π∫I(θ)/I(0)·sinθ dθ [sr], the forward-hemisphere integral of the normalised
        angular emission profile. π for a Lambertian emitter.

    Returns
    -------
    float or numpy.ndarray
        EQE [%] (photons out per electron in × 100).

    References
    ----------
    .. [1] Forrest, Bradley, Thompson, Adv. Mater. 15, 1043 (2003).
       DOI: 10.1002/adma.200302151
    .. [2] Anaya et al., Nat. Photonics 13, 818 (2019). DOI: 10.1038/s41566-019-0543-y
    """
    angular_factor = float(angular_factor)
    if not (np.isfinite(angular_factor) and angular_factor > 0):
        raise ValueError(
            f"angular_factor = {angular_factor} is out of range: allowed > 0 sr (π for Lambertian)"
        )
    ratio = photons_per_lumen(wavelength_nm, spectrum)
    lum = np.asarray(luminance_cd_m2, dtype=float)
    j_a_m2 = _positive_or_nan(current_density_mA_cm2) * _MA_CM2_TO_A_M2
    try:
        eqe = 100.0 * angular_factor * constants.e * lum * ratio / j_a_m2
    except ValueError as exc:
        raise ValueError(
            "luminance_cd_m2, current_density_mA_cm2 and spectrum rows must broadcast "
            f"to one shape: {lum.shape}, {np.shape(current_density_mA_cm2)}, {np.shape(ratio)}"
        ) from exc
    return _scalar_if_0d(eqe)


def current_efficiency_cd_A(luminance_cd_m2, current_density_mA_cm2):
    """Current efficiency CE = L / J with J in A/m² (CE = L / (10·J[mA/cm²])).

    Parameters
    ----------
    luminance_cd_m2 : float or array_like
        Luminance [cd/m²].
    current_density_mA_cm2 : float or array_like
        Current density [mA/cm²]; CE is NaN where J ≤ 0.

    Returns
    -------
    float or numpy.ndarray
        Current efficiency [cd/A].

    References
    ----------
    .. [1] Forrest, Bradley, Thompson, Adv. Mater. 15, 1043 (2003).
       DOI: 10.1002/adma.200302151
    """
    lum = np.asarray(luminance_cd_m2, dtype=float)
    j_a_m2 = _positive_or_nan(current_density_mA_cm2) * _MA_CM2_TO_A_M2
    return _scalar_if_0d(lum / j_a_m2)


def power_efficiency_lm_W(luminance_cd_m2, current_density_mA_cm2, voltage_V):
    """Luminous power efficiency of a Lambertian emitter, PE = π·L / (J·V).

    Parameters
    ----------
    luminance_cd_m2 : float or array_like
        Luminance [cd/m²].
    current_density_mA_cm2 : float or array_like
        Current density [mA/cm²]; PE is NaN where J ≤ 0.
    voltage_V : float or array_like
        Applied voltage [V]; PE is NaN where V ≤ 0.

    Returns
    -------
    float or numpy.ndarray
        Power efficiency [lm/W].

    References
    ----------
    .. [1] Forrest, Bradley, Thompson, Adv. Mater. 15, 1043 (2003).
       DOI: 10.1002/adma.200302151
    """
    ce = np.asarray(current_efficiency_cd_A(luminance_cd_m2, current_density_mA_cm2))
    return _scalar_if_0d(np.pi * ce / _positive_or_nan(voltage_V))


# ---------------------------------------------------------------- colour
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


# ---------------------------------------------------------------- photodiode route
def photodiode_collection_fraction(radius_mm, distance_mm):
    """Fraction sin²α = r²/(d²+r²) of a Lambertian source's flux hitting an on-axis disc.

    Parameters
    ----------
    radius_mm : float
        Radius of the detector's active area [mm].
    distance_mm : float
        Source-detector distance along the axis [mm].

    Returns
    -------
    float
        Collected fraction of the forward-hemisphere flux (0 … 1).

    References
    ----------
    .. [1] Archer et al., Adv. Opt. Mater. 9, 2000838 (2021). DOI: 10.1002/adom.202000838
    """
    r, d = float(radius_mm), float(distance_mm)
    if not (np.isfinite(r) and r > 0):
        raise ValueError(f"radius_mm = {radius_mm} is out of range: allowed > 0 mm")
    if not (np.isfinite(d) and d >= 0):
        raise ValueError(f"distance_mm = {distance_mm} is out of range: allowed >= 0 mm")
    return r * r / (d * d + r * r)


def _photodiode_power_W(photocurrent_A, wavelength_nm, spectrum, responsivity_A_W,
                        radius_mm, distance_mm):
    """Total forward optical power [W] per unit-area spectrum S normalised so ∫S dλ = P."""
    wl, s = _spectra(wavelength_nm, spectrum)
    resp = np.broadcast_to(np.asarray(responsivity_A_W, dtype=float), wl.shape)
    if np.any(~np.isfinite(resp)) or np.any(resp < 0):
        raise ValueError("responsivity_A_W is out of range: allowed finite values >= 0 A/W")
    frac = photodiode_collection_fraction(radius_mm, distance_mm)
    i_pd = np.asarray(photocurrent_A, dtype=float)
    # I_PD/sin²α / ∫S·R dλ is the scale (per unit of S) of the whole forward emission
    scale = _ratio(i_pd / frac, _integrate(s, wl, resp))
    return wl, s, scale


def photodiode_photon_flux_per_s(photocurrent_A, wavelength_nm, spectrum, responsivity_A_W,
                                 radius_mm, distance_mm):
    """Forward photon flux of a Lambertian LED from an on-axis photodiode's current.

    N = (I_PD / sin²α) · ∫S·λ/(hc) dλ / ∫S·R dλ, with sin²α = r²/(d²+r²).

    Parameters
    ----------
    photocurrent_A : float or array_like
        Photodiode current, dark-subtracted [A].
    wavelength_nm : array_like
        Strictly increasing wavelengths [nm], shape (n,).
    spectrum : array_like
        EL spectral power on any scale, shape (n,) or (m, n).
    responsivity_A_W : float or array_like
        Photodiode responsivity R(λ) [A/W], scalar or on ``wavelength_nm``.
    radius_mm, distance_mm : float
        Detector radius and source-detector distance [mm].

    Returns
    -------
    float or numpy.ndarray
        Photons emitted per second into the forward hemisphere [s⁻¹].

    References
    ----------
    .. [1] Archer et al., Adv. Opt. Mater. 9, 2000838 (2021). DOI: 10.1002/adom.202000838
    """
    wl, s, scale = _photodiode_power_W(photocurrent_A, wavelength_nm, spectrum,
                                       responsivity_A_W, radius_mm, distance_mm)
    return _scalar_if_0d(scale * _integrate(s, wl, wl * 1e-9 / _HC_J_M))


def photodiode_luminance_cd_m2(photocurrent_A, area_cm2, wavelength_nm, spectrum,
                               responsivity_A_W, radius_mm, distance_mm):
    """Luminance of a Lambertian LED pixel from an on-axis photodiode's current.

    L = K_m · (I_PD / sin²α) · ∫S·V dλ / ∫S·R dλ / (π·A).

    Parameters
    ----------
    photocurrent_A : float or array_like
        Photodiode current, dark-subtracted [A].
    area_cm2 : float
        Emitting pixel area [cm²].
    wavelength_nm : array_like
        Strictly increasing wavelengths [nm], shape (n,).
    spectrum : array_like
        EL spectral power on any scale, shape (n,) or (m, n).
    responsivity_A_W : float or array_like
        Photodiode responsivity R(λ) [A/W], scalar or on ``wavelength_nm``.
    radius_mm, distance_mm : float
        Detector radius and source-detector distance [mm].

    Returns
    -------
    float or numpy.ndarray
        Luminance [cd/m²].

    References
    ----------
    .. [1] Archer et al., Adv. Opt. Mater. 9, 2000838 (2021). DOI: 10.1002/adom.202000838
    """
    area = float(area_cm2)
    if not (np.isfinite(area) and area > 0):
        raise ValueError(f"area_cm2 = {area_cm2} is out of range: allowed > 0 cm²")
    wl, s, scale = _photodiode_power_W(photocurrent_A, wavelength_nm, spectrum,
                                       responsivity_A_W, radius_mm, distance_mm)
    v, _ = _tables_on(wl.tobytes())
    flux_lm = K_M_LM_W * scale * _integrate(s, wl, v)
    return _scalar_if_0d(flux_lm / (np.pi * area * 1e-4))


def photodiode_eqe_percent(photocurrent_A, device_current_A, wavelength_nm, spectrum,
                           responsivity_A_W, radius_mm, distance_mm):
    """EQE of a Lambertian LED from an on-axis photodiode: q·N / I_device.

    Parameters
    ----------
    photocurrent_A : float or array_like
        Photodiode current, dark-subtracted [A].
    device_current_A : float or array_like
        LED drive current [A]; EQE is NaN where it is ≤ 0.
    wavelength_nm : array_like
        Strictly increasing wavelengths [nm], shape (n,).
    spectrum : array_like
        EL spectral power on any scale, shape (n,) or (m, n).
    responsivity_A_W : float or array_like
        Photodiode responsivity R(λ) [A/W], scalar or on ``wavelength_nm``.
    radius_mm, distance_mm : float
        Detector radius and source-detector distance [mm].

    Returns
    -------
    float or numpy.ndarray
        EQE [%].

    References
    ----------
    .. [1] Archer et al., Adv. Opt. Mater. 9, 2000838 (2021). DOI: 10.1002/adom.202000838
    """
    n = photodiode_photon_flux_per_s(photocurrent_A, wavelength_nm, spectrum,
                                     responsivity_A_W, radius_mm, distance_mm)
    return _scalar_if_0d(100.0 * constants.e * np.asarray(n) / _positive_or_nan(device_current_A))
