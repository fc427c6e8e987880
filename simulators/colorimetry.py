"""Colorimetry of a spectrum on an instrument's own wavelength grid (what a meter reports).

Everything the meters report derives from the spectrum they report, sampled
on their own grid (CS-2000: 380-780 nm at 1 nm; PR-655: 380-780 nm at 4 nm):

* luminance  L_v = K_m * sum L_e(lambda) V(lambda) dlambda, V = CIE 1924 photopic
  luminous efficiency, K_m = 683 lm/W (``scipy.constants`` "luminous efficacy");
* tristimulus X, Y, Z = K_m * sum L_e {xbar, ybar, zbar} dlambda with the CIE 1931
  2 degree colour-matching functions (so Y = L_v), x = X/(X+Y+Z), y = Y/(X+Y+Z);
* u' = 4x/(-2x+12y+3), v' = 9y/(-2x+12y+3).

(CIE 15:2004 *Colorimetry*, 3rd ed., sections 7.1-7.3 and 8.1; tables from
colour-science.) Sums use the instrument's sampling interval, as instrument
firmware does; for an LED band >= 10 nm wide the sum equals the integral to
better than 1e-6.

No slit function is applied (the real CS-2000 has a 5 nm and the PR-655 an
8 nm bandwidth), so the reported numbers equal the device truth; a
convolution would shift L_v of an 18 nm-wide green band by ~0.1-0.5 %.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.constants

__all__ = ["Colorimetry", "colorimetry", "cct_and_dominant", "cie_tables", "K_M_LM_W"]

#: Maximum luminous efficacy of photopic vision, K_m = 683 lm/W (SI defining constant K_cd).
K_M_LM_W = scipy.constants.physical_constants["luminous efficacy"][0]


# ---------------------------------------------------------------------------
# Photometry on an instrument's grid
# ---------------------------------------------------------------------------
@lru_cache(maxsize=8)
def cie_tables(start_nm: int, stop_nm: int, step_nm: int) -> tuple[np.ndarray, ...]:
    """V(lambda), CIE 1931 2 deg and CIE 1964 10 deg CMFs sampled on a uniform grid."""
    import colour  # imported lazily: ~1 s import, needed only once per grid

    wl = np.arange(start_nm, stop_nm + 1, step_nm, dtype=float)
    v = colour.colorimetry.SDS_LEFS_PHOTOPIC["CIE 1924 Photopic Standard Observer"]
    cmf2 = colour.colorimetry.MSDS_CMFS_STANDARD_OBSERVER["CIE 1931 2 Degree Standard Observer"]
    cmf10 = colour.colorimetry.MSDS_CMFS_STANDARD_OBSERVER["CIE 1964 10 Degree Standard Observer"]
    tables = (wl, np.asarray(v[wl], dtype=float), np.asarray(cmf2[wl], dtype=float),
              np.asarray(cmf10[wl], dtype=float))
    for t in tables:
        t.setflags(write=False)
    return tables


class Colorimetry(dict):
    """Photometric and colorimetric values of one measured spectrum (a dict).

    Keys: ``Le`` [W sr^-1 m^-2], ``Lv`` [cd/m^2], ``X``, ``Y``, ``Z`` [cd/m^2],
    ``x``, ``y``, ``u_prime``, ``v_prime``, ``X10``, ``Y10``, ``Z10``, ``x10``,
    ``y10``, ``u_prime10``, ``v_prime10``, ``peak_nm``,
    ``photon_radiance_s_sr_m2`` [photons s^-1 sr^-1 m^-2].
    """


def _uv_prime(x: float, y: float) -> tuple[float, float]:
    d = -2.0 * x + 12.0 * y + 3.0
    return (4.0 * x / d, 9.0 * y / d) if d else (0.0, 0.0)


def _xy(X: float, Y: float, Z: float) -> tuple[float, float]:
    s = X + Y + Z
    return (X / s, Y / s) if s > 0 else (0.0, 0.0)


def colorimetry(spectral_radiance_W_sr_m2_nm: np.ndarray, start_nm: int = 380,
                stop_nm: int = 780, step_nm: int = 1) -> Colorimetry:
    """Photometry and colorimetry of a spectrum sampled on an instrument grid.

    Parameters
    ----------
    spectral_radiance_W_sr_m2_nm : array
        Spectral radiance [W sr^-1 m^-2 nm^-1] at ``start_nm, start_nm+step_nm, …, stop_nm``.
    start_nm, stop_nm, step_nm : int
        The grid [nm].

    Returns
    -------
    Colorimetry
        See the class docstring.

    Notes
    -----
    L_v = K_m·Σ L_e,λ V(λ) Δλ; X, Y, Z = K_m·Σ L_e,λ {x̄, ȳ, z̄}(λ) Δλ; x = X/(X+Y+Z),
    y = Y/(X+Y+Z); u' = 4x/(−2x+12y+3), v' = 9y/(−2x+12y+3). Photon radiance
    Σ L_e,λ·λ/(h c) Δλ.

    References
    ----------
    CIE 15:2004, *Colorimetry*, 3rd ed., §7.1-7.3, §8.1. CIE S 010/E:2004 (V(λ), K_m).
    """
    wl, v, cmf2, cmf10 = cie_tables(int(start_nm), int(stop_nm), int(step_nm))
    L = np.asarray(spectral_radiance_W_sr_m2_nm, dtype=float)
    if L.shape != wl.shape:
        raise ValueError(f"spectrum has {L.size} values: allowed exactly {wl.size} "
                         f"({start_nm}-{stop_nm} nm at {step_nm} nm)")
    d = float(step_nm)
    X, Y, Z = (K_M_LM_W * d * (L @ cmf2)).tolist()
    X10, Y10, Z10 = (K_M_LM_W * d * (L @ cmf10)).tolist()
    x, y = _xy(X, Y, Z)
    x10, y10 = _xy(X10, Y10, Z10)
    up, vp = _uv_prime(x, y)
    up10, vp10 = _uv_prime(x10, y10)
    photons = float(d * np.sum(L * wl * 1e-9) / (scipy.constants.h * scipy.constants.c))
    return Colorimetry(
        Le=float(d * L.sum()), Lv=float(K_M_LM_W * d * (L @ v)), X=X, Y=Y, Z=Z, x=x, y=y,
        u_prime=up, v_prime=vp, X10=X10, Y10=Y10, Z10=Z10, x10=x10, y10=y10,
        u_prime10=up10, v_prime10=vp10, peak_nm=float(wl[int(np.argmax(L))]),
        photon_radiance_s_sr_m2=photons)


# ---------------------------------------------------------------------------
# Measuring-time laws
# ---------------------------------------------------------------------------


def cct_and_dominant(c: Colorimetry) -> dict[str, float]:
    """CCT/Δuv (Ohno 2013) and dominant wavelength/excitation purity (white = illuminant E).

    References
    ----------
    Ohno, Y. (2014). Practical use and calculation of CCT and Duv. LEUKOS 10(1), 47-55.
    CIE 15:2004 §9.1 (dominant wavelength, excitation purity).
    """
    import colour

    out: dict[str, float] = {}
    white = np.array([1.0 / 3.0, 1.0 / 3.0])
    for suffix, (x, y), cmfs in (("", (c["x"], c["y"]), "CIE 1931 2 Degree Standard Observer"),
                                 ("10", (c["x10"], c["y10"]), "CIE 1964 10 Degree Standard Observer")):
        xy = np.array([x, y])
        try:
            uv = colour.xy_to_UCS_uv(xy)
            T, duv = colour.temperature.uv_to_CCT_Ohno2013(uv)
            wl = float(colour.dominant_wavelength(xy, white, colour.MSDS_CMFS[cmfs])[0])
            pe = float(colour.excitation_purity(xy, white, colour.MSDS_CMFS[cmfs]))
        except Exception:  # a black spectrum has no chromaticity
            T = duv = wl = pe = 0.0
        out.update({f"T{suffix}": float(T), f"duv{suffix}": float(duv),
                    f"lambda_d{suffix}": wl, f"Pe{suffix}": pe})
    return out


# ---------------------------------------------------------------------------
# Photo Research PR-655
# ---------------------------------------------------------------------------
