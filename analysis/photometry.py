"""Photometry of LED emission: EQE, current and power efficiency, photon ratios, the photodiode
route; colour and line shape (:mod:`analysis.colorimetry`) re-exported for one import.

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

import numpy as np
from scipy import constants

from .colorimetry import (WHITE_POINTS, cie1931_xy, dominant_wavelength_nm, fwhm_meV, fwhm_nm,
                          peak_wavelength_nm)
from .spectra import (_HC_J_M, _MA_CM2_TO_A_M2, K_M_LM_W, _integrate, _ratio, _scalar_if_0d,
                      _spectra, _tables_on, _trapezoid_weights, photopic_v)

__all__ = ["photons_per_lumen", "photon_weighted_mean_energy_eV", "eqe_percent",
           "current_efficiency_cd_A", "power_efficiency_lm_W", "photodiode_collection_fraction",
           "photodiode_photon_flux_per_s", "photodiode_luminance_cd_m2", "photodiode_eqe_percent",
           "photopic_v", "K_M_LM_W",
           # colour and line shape, from analysis.colorimetry
           "cie1931_xy", "dominant_wavelength_nm", "peak_wavelength_nm", "fwhm_nm", "fwhm_meV",
           "WHITE_POINTS"]


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
