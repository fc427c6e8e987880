"""Drive-level capacitance profiling (DLCP) and C-V (Mott-Schottky) profiling.

Pure, vectorised functions of arrays. Conventions, stated once and loudly:

* **Amplitude**: every δV in this module is the **peak-to-peak** swing [V]. LCR meters set
  the oscillator level as an **rms** voltage; convert with :func:`delta_v_pp_V`
  (δV_pp = 2√2·V_rms). Fitting against rms levels makes N_DL 2√2 ≈ 2.83× too low,
  against the peak 2× too low.
* **Permittivity**: ε = ε_r·ε0 with ε_r the *static* relative permittivity, a required
  argument (CsPbBr3: ≈ 16–30; never the optical ε∞ ≈ 4–5).
* **Area**: ``area_cm2`` [cm²]; the formulas use A² in m².
* **Bias sign**: forward positive (anode positive), the project's convention.
* **Validity**: every fit takes an optional boolean ``valid`` mask (True = use the point).
  A reading the meter flagged (E4980A/4284A ``:FETCh?`` status ≠ 0: overload, signal
  source overloaded, ALC unable to regulate) is stored but left out of the fits; the
  results say how many points each fit left out.

References
----------
J. T. Heath, J. D. Cohen, W. N. Shafarman, "Bulk and metastable defects in CuIn1−xGaxSe2
thin films using drive-level capacitance profiling", J. Appl. Phys. 95, 1000 (2004),
doi:10.1063/1.1633982 — C(δV) = C0 + C1·δV + C2·δV² + …, N_DL = −C0³/(2qεA²C1),
⟨x⟩ = εA/C0, frequency selects the responding states.
S. M. Sze, K. K. Ng, *Physics of Semiconductor Devices*, 3rd ed. (Wiley, 2007), §3.2.4 —
C-V profiling N = C³/(qεA²·dC/dV) = −2/(qεA²·d(C⁻²)/dV) (forward-positive V), x = εA/C.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import constants, signal

from .trap_cutoff import CutoffFit, trap_cutoff_frequency, trap_response_fraction

__all__ = ["AMPLITUDE_CONVENTIONS", "delta_v_pp_V", "DriveLevelFit", "fit_drive_level",
           "drive_level_density", "profile_distance_nm", "DLCPProfiles", "dlcp_profiles",
           "CVProfile", "cv_profile", "CutoffFit", "trap_cutoff_frequency",
           "trap_response_fraction", "deep_state_density"]

Q_C = constants.elementary_charge
EPS0_F_M = constants.epsilon_0

#: Amplitude conventions and their factor to peak-to-peak.
AMPLITUDE_CONVENTIONS = {"pp": 1.0, "peak": 2.0, "rms": 2.0 * math.sqrt(2.0)}


def _check_eps_r(eps_r):
    if eps_r is None or not np.isscalar(eps_r) or not (1.0 <= float(eps_r) <= 100.0):
        raise ValueError(f"eps_r = {eps_r!r} is out of range: allowed 1 … 100 (static relative "
                         "permittivity, dimensionless; not ε_r·ε0, not the optical ε∞)")
    return float(eps_r)


def _check_area(area_cm2):
    if area_cm2 is None or not np.isscalar(area_cm2) or not (1e-6 <= float(area_cm2) <= 100.0):
        raise ValueError(f"area_cm2 = {area_cm2!r} is out of range: allowed 1e-6 … 100 cm²")
    return float(area_cm2)


def _mask(valid, shape, name):
    """``valid`` as a boolean array of ``shape`` (a one-line ValueError otherwise)."""
    v = np.asarray(valid)
    if v.dtype != bool:
        raise ValueError(f"valid has dtype {v.dtype}: allowed a boolean mask (True = use the "
                         "point), e.g. lcr_status == 0")
    try:
        return np.broadcast_to(v, shape)
    except ValueError:
        raise ValueError(f"valid shape {v.shape} does not match {name} shape {shape}: allowed "
                         "the same shape") from None


def delta_v_pp_V(amplitude_V, convention: str):
    """Peak-to-peak swing δV_pp [V] of an AC amplitude given in ``convention``.

    Parameters
    ----------
    amplitude_V : array_like
        Amplitude [V] in the stated convention (≥ 0).
    convention : {"rms", "peak", "pp"}
        ``rms``: δV_pp = 2√2·V_rms (sine; the E4980A/4284A oscillator level);
        ``peak``: δV_pp = 2·V_peak; ``pp``: unchanged.
    """
    if convention not in AMPLITUDE_CONVENTIONS:
        raise ValueError(f"convention = {convention!r} is not allowed: use one of "
                         + ", ".join(AMPLITUDE_CONVENTIONS))
    a = np.asarray(amplitude_V, dtype=float)
    if np.any(a[np.isfinite(a)] < 0):
        raise ValueError("amplitude_V is out of range: allowed ≥ 0 V")
    return a * AMPLITUDE_CONVENTIONS[convention]


# ------------------------------------------------------------------------------- fits
@dataclass(frozen=True)
class DriveLevelFit:
    """Polynomial fits C(δV) = Σ c_k·δV^k of a stack of curves (leading axes = curves).

    Attributes
    ----------
    coefficients : ndarray, shape (..., order + 1)
        c_0 [F], c_1 [F/V], c_2 [F/V²], … with δV peak-to-peak [V].
    std : ndarray, shape (..., order + 1)
        Standard errors of the coefficients (residual variance × (VᵀV)⁻¹); NaN with no
        degree of freedom left.
    residuals_F : ndarray, shape (..., n)
        Data minus fit [F] (NaN where the data were NaN).
    rms_residual_F : ndarray, shape (...)
    n_points : ndarray of int, shape (...)
    """

    coefficients: np.ndarray
    std: np.ndarray
    residuals_F: np.ndarray
    rms_residual_F: np.ndarray
    n_points: np.ndarray

    @property
    def c0_F(self):
        return self.coefficients[..., 0]

    @property
    def c1_F_per_V(self):
        return self.coefficients[..., 1]

    @property
    def c2_F_per_V2(self):
        return self.coefficients[..., 2] if self.coefficients.shape[-1] > 2 else \
            np.zeros_like(self.c0_F)


def fit_drive_level(delta_v_pp_V, capacitance_F, order: int = 2, *, valid=None
                    ) -> DriveLevelFit:
    """Least-squares fit C(δV) = C0 + C1·δV + C2·δV² (+…) of many curves in one solve.

    Heath, Cohen & Shafarman, J. Appl. Phys. 95, 1000 (2004), eq. (3),
    doi:10.1063/1.1633982.

    Parameters
    ----------
    delta_v_pp_V : array_like, shape (n,) or (..., n)
        Peak-to-peak swing δV [V] (see :func:`delta_v_pp_V` for rms levels). A 1-D axis is
        shared by every curve: one Vandermonde matrix, one ``lstsq`` with all curves as
        right-hand sides.
    capacitance_F : array_like, shape (..., n)
        Capacitance [F]; NaN marks a missing point (the curves are then fitted through
        stacked normal equations with zero weight on missing points, in one batched solve;
        the δV columns are well conditioned for orders ≤ 4 at δV ≲ 1 V).
    order : int, default 2
        Polynomial order (1 … 4); each curve needs finite points at ≥ order + 1 distinct
        δV, else NaN.
    valid : array_like of bool, optional
        Broadcastable to ``capacitance_F``: False leaves a point out of the fit exactly as a
        NaN would (its residual is NaN, it does not count in ``n_points``). None: every
        finite point is used.

    Returns
    -------
    DriveLevelFit
    """
    if int(order) != order or not 1 <= order <= 4:
        raise ValueError(f"order = {order!r} is out of range: allowed integer 1 … 4")
    order = int(order)
    c = np.asarray(capacitance_F, dtype=float)
    dv = np.asarray(delta_v_pp_V, dtype=float)
    if valid is not None:
        c = np.where(_mask(valid, c.shape, "capacitance_F"), c, np.nan)
    if c.ndim == 0 or c.shape[-1] == 0:
        raise ValueError("capacitance_F is empty: allowed arrays with ≥ order + 1 points per curve")
    if dv.ndim == 1 and dv.shape[0] != c.shape[-1] or dv.ndim > 1 and dv.shape != c.shape:
        raise ValueError(f"delta_v_pp_V shape {dv.shape} does not match capacitance_F shape "
                         f"{c.shape}: allowed (n,) or the same shape")
    if np.any(dv[np.isfinite(dv)] < 0):
        raise ValueError("delta_v_pp_V is out of range: allowed ≥ 0 V (peak-to-peak swing)")
    lead = c.shape[:-1]
    n = c.shape[-1]
    c2 = c.reshape(-1, n)
    k = order + 1
    if dv.ndim == 1 and np.all(np.isfinite(dv)) and np.all(np.isfinite(c2)) \
            and np.unique(dv).size >= k:
        vander = np.vander(dv, k, increasing=True)                 # (n, k)
        coef, *_ = np.linalg.lstsq(vander, c2.T, rcond=None)       # (k, m): all curves at once
        coef = coef.T
        fitted = coef @ vander.T
        n_pts = np.full(c2.shape[0], n)
        cov_unit = np.linalg.pinv(vander.T @ vander)               # (k, k), shared
        cov_diag = np.broadcast_to(np.diag(cov_unit), coef.shape)
    else:
        dvb = np.broadcast_to(dv, c.shape).reshape(-1, n)
        ok = np.isfinite(dvb) & np.isfinite(c2)
        w = ok.astype(float)
        vander = np.where(ok[..., None], np.power(np.where(ok, dvb, 0.0)[..., None],
                                                  np.arange(k)), 0.0)   # (m, n, k)
        y = np.where(ok, c2, 0.0)
        # Batched normal equations (m, k, k): one stacked solve; NaN points carry weight 0.
        gram = np.einsum("mnk,mnj->mkj", vander, vander)
        n_pts = w.sum(axis=1).astype(int)
        # ≥ k *distinct* levels: repeated δV leave the fit rank-deficient (any C1 fits)
        levels = np.sort(np.where(ok, dvb, np.nan), axis=1)          # NaN sort last
        distinct = np.where(ok.any(axis=1), 1 + np.sum(np.diff(levels, axis=1) > 0, axis=1), 0)
        bad = distinct < k
        gram[bad] = np.eye(k)
        rhs = np.einsum("mnk,mn->mk", vander, y)
        coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
        fitted = np.einsum("mnk,mk->mn", vander, coef)
        cov_diag = np.diagonal(np.linalg.inv(gram), axis1=1, axis2=2)
        coef[bad] = np.nan
    resid = c2 - fitted
    dof = n_pts - k
    with np.errstate(invalid="ignore", divide="ignore"):
        ss = np.nansum(resid ** 2, axis=1)
        s2 = np.where(dof > 0, ss / np.maximum(dof, 1), np.nan)
        std = np.sqrt(cov_diag * s2[:, None])
        rms = np.sqrt(ss / np.maximum(n_pts, 1))
    rms = np.where(n_pts >= k, rms, np.nan)
    return DriveLevelFit(coefficients=coef.reshape(*lead, k), std=std.reshape(*lead, k),
                         residuals_F=resid.reshape(c.shape), rms_residual_F=rms.reshape(lead),
                         n_points=n_pts.reshape(lead))


def drive_level_density(c0_F, c1_F_per_V, area_cm2, eps_r):
    """Drive-level density N_DL = −C0³ / (2·q·ε·A²·C1) [cm⁻³].

    **C1 must be per volt of peak-to-peak swing δV_pp** (fit against δV_pp, not the rms
    level: an rms fit gives N_DL 2.83× too low). ε = ε_r·ε0 and A² in m².

    Heath, Cohen & Shafarman, J. Appl. Phys. 95, 1000 (2004), eq. (4),
    doi:10.1063/1.1633982; the same formula as eq. (2) of Supplementary Note 1 of the
    seed paper (with ε read as ε_r·ε0).

    Parameters
    ----------
    c0_F : array_like
        Zero-amplitude capacitance C0 [F].
    c1_F_per_V : array_like
        Linear coefficient C1 [F/V] with δV peak-to-peak (negative for a depletion layer).
    area_cm2 : float
        Junction area [cm²].
    eps_r : float
        Static relative permittivity (1 … 100).

    Returns
    -------
    ndarray or float
        N_DL [cm⁻³]; NaN where C0 ≤ 0 or C1 = 0 or either is NaN or infinite.
    """
    eps = _check_eps_r(eps_r) * EPS0_F_M
    area_m2 = _check_area(area_cm2) * 1e-4
    c0 = np.asarray(c0_F, dtype=float)
    c1 = np.asarray(c1_F_per_V, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_m3 = -c0 ** 3 / (2.0 * Q_C * eps * area_m2 ** 2 * c1)
    # an infinite C0 or C1 is no measurement (C1 = inf would give N_DL = 0, not NaN)
    ok = (c0 > 0) & np.isfinite(c0) & (c1 != 0) & np.isfinite(c1) & np.isfinite(n_m3)
    n_m3 = np.where(ok, n_m3, np.nan)
    return (n_m3 * 1e-6)[()]


def profile_distance_nm(c0_F, area_cm2, eps_r):
    """Profiling distance ⟨x⟩ = ε·A / C0 [nm] (ε = ε_r·ε0, A in m²; Heath et al. 2004).

    NaN where C0 ≤ 0.
    """
    eps = _check_eps_r(eps_r) * EPS0_F_M
    area_m2 = _check_area(area_cm2) * 1e-4
    c0 = np.asarray(c0_F, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(c0 > 0, eps * area_m2 / c0 * 1e9, np.nan)
    return x[()]


# ------------------------------------------------------------------------- DLCP tables
@dataclass(frozen=True)
class DLCPProfiles:
    """One entry per (frequency, V_max) curve, sorted by frequency then V_max."""

    frequency_Hz: np.ndarray
    v_max_V: np.ndarray
    c0_F: np.ndarray
    c1_F_per_V: np.ndarray
    c2_F_per_V2: np.ndarray
    c1_std_F_per_V: np.ndarray
    rms_residual_F: np.ndarray
    n_points: np.ndarray
    n_dl_cm3: np.ndarray
    n_dl_std_cm3: np.ndarray
    x_nm: np.ndarray
    fit: DriveLevelFit
    delta_v_pp_V: np.ndarray      # (curves, n) padded with NaN
    capacitance_F: np.ndarray     # (curves, n) padded with NaN; flagged points included
    valid: np.ndarray = None      # (curves, n) bool: False = left out of the fit (or padding)
    n_excluded: np.ndarray = None  # (curves,) int: points of the curve left out by ``valid``

    def shallowest(self):
        """(frequencies [Hz], N_DL [cm⁻³], ⟨x⟩ [nm]) at each frequency's smallest ⟨x⟩."""
        freqs = np.unique(self.frequency_Hz)
        n = np.full(freqs.size, np.nan)
        x = np.full(freqs.size, np.nan)
        for i, f in enumerate(freqs):
            sel = np.nonzero((self.frequency_Hz == f) & np.isfinite(self.x_nm)
                             & np.isfinite(self.n_dl_cm3))[0]
            if sel.size:
                j = sel[np.argmin(self.x_nm[sel])]
                n[i], x[i] = self.n_dl_cm3[j], self.x_nm[j]
        return freqs, n, x


def dlcp_profiles(frequency_Hz, v_max_V, delta_v_pp_V, capacitance_F, *, area_cm2, eps_r,
                  order: int = 2, valid=None) -> DLCPProfiles:
    """Fit every (frequency, V_max) curve of a long-format DLCP record in one batched solve.

    Parameters
    ----------
    frequency_Hz, v_max_V, delta_v_pp_V, capacitance_F : array_like, shape (rows,)
        One row per reading: test frequency [Hz], maximum forward excursion
        V_max = V_DC + δV_pp/2 [V], peak-to-peak swing [V], capacitance [F]. Rows need not
        be sorted; curves may have different lengths.
    area_cm2 : float
        Junction area [cm²].
    eps_r : float
        Static relative permittivity (required; 1 … 100).
    order : int, default 2
        Polynomial order of C(δV).
    valid : array_like of bool, shape (rows,), optional
        False leaves a row out of its curve's fit (e.g. ``lcr_status != 0``: a reading the
        meter flagged); the row stays in the tables (``capacitance_F``, ``valid``) and is
        counted in ``n_excluded``. None: every finite row is used.

    Returns
    -------
    DLCPProfiles
        N_DL (:func:`drive_level_density`) and ⟨x⟩ (:func:`profile_distance_nm`) per curve,
        with the standard error of N_DL from that of C1 (σ_N = N·σ_C1/|C1|), from the valid
        rows only.
    """
    _check_eps_r(eps_r)
    _check_area(area_cm2)
    f, vm, dv, c = (np.asarray(a, dtype=float).ravel()
                    for a in (frequency_Hz, v_max_V, delta_v_pp_V, capacitance_F))
    if not (f.size == vm.size == dv.size == c.size):
        raise ValueError("frequency_Hz, v_max_V, delta_v_pp_V and capacitance_F must have "
                         "the same length")
    ok = np.ones(c.size, bool) if valid is None else \
        _mask(np.ravel(valid), c.shape, "capacitance_F").copy()
    keep = np.isfinite(f) & np.isfinite(vm)
    if not np.any(keep):
        raise ValueError("no DLCP rows: allowed ≥ order + 1 readings per (frequency, V_max)")
    if np.any(f[keep] <= 0):
        raise ValueError("frequency_Hz is out of range: allowed > 0 Hz")
    f, vm, dv, c, ok = f[keep], vm[keep], dv[keep], c[keep], ok[keep]
    keys, inverse = np.unique(np.column_stack([f, vm]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order_rows = np.lexsort((dv, inverse))
    inv_sorted = inverse[order_rows]
    counts = np.bincount(inverse, minlength=len(keys))
    n_max = int(counts.max())
    pos = np.arange(inv_sorted.size) - np.repeat(np.cumsum(counts) - counts, counts)
    dv_tab = np.full((len(keys), n_max), np.nan)
    c_tab = np.full((len(keys), n_max), np.nan)
    ok_tab = np.zeros((len(keys), n_max), bool)
    dv_tab[inv_sorted, pos] = dv[order_rows]
    c_tab[inv_sorted, pos] = c[order_rows]
    ok_tab[inv_sorted, pos] = ok[order_rows]
    shared = np.all(counts == n_max) and np.allclose(dv_tab, dv_tab[:1], rtol=0, atol=1e-12,
                                                     equal_nan=False)
    fit = fit_drive_level(dv_tab[0] if shared else dv_tab, c_tab, order=order, valid=ok_tab)
    n_dl = np.asarray(drive_level_density(fit.c0_F, fit.c1_F_per_V, area_cm2, eps_r), float)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_std = np.abs(n_dl) * fit.std[:, 1] / np.abs(fit.c1_F_per_V)
    return DLCPProfiles(
        frequency_Hz=keys[:, 0], v_max_V=keys[:, 1], c0_F=fit.c0_F, c1_F_per_V=fit.c1_F_per_V,
        c2_F_per_V2=fit.c2_F_per_V2, c1_std_F_per_V=fit.std[:, 1],
        rms_residual_F=fit.rms_residual_F, n_points=fit.n_points, n_dl_cm3=n_dl,
        n_dl_std_cm3=n_std,
        x_nm=np.atleast_1d(np.asarray(profile_distance_nm(fit.c0_F, area_cm2, eps_r), float)),
        fit=fit, delta_v_pp_V=dv_tab, capacitance_F=c_tab, valid=ok_tab,
        n_excluded=np.bincount(inverse[~ok], minlength=len(keys)))


def deep_state_density(profiles: DLCPProfiles, low_frequency_Hz=None, high_frequency_Hz=None):
    """Density of states responding at low but not at high frequency [cm⁻³] vs ⟨x⟩ [nm].

    N_deep(x) = N_DL(f_low, x) − N_DL(f_high, x) (Heath et al. 2004, §IV: the difference
    of two frequencies counts the states in the energy window between their demarcation
    energies). The high-frequency profile is interpolated onto the low-frequency depths
    (``np.interp``: held constant beyond its ends — it assumes the free-carrier profile
    is flat outside the depths it was measured at; check ``x_high_nm``).

    Returns
    -------
    dict
        ``x_nm``, ``n_deep_cm3`` (at the low-frequency depths), ``x_high_nm`` (depth
        range of the high-frequency profile), ``low_frequency_Hz``, ``high_frequency_Hz``.
    """
    freqs = np.unique(profiles.frequency_Hz)
    if freqs.size < 2:
        raise ValueError("deep_state_density needs ≥ 2 frequencies: allowed a DLCP record "
                         "with frequencies on both sides of the trap cutoff")
    f_lo = freqs[0] if low_frequency_Hz is None else float(low_frequency_Hz)
    f_hi = freqs[-1] if high_frequency_Hz is None else float(high_frequency_Hz)
    for name, fv in (("low_frequency_Hz", f_lo), ("high_frequency_Hz", f_hi)):
        if fv not in freqs:
            raise ValueError(f"{name} = {fv!r} is not allowed: use one of the measured "
                             + ", ".join(f"{v:g}" for v in freqs) + " Hz")

    def profile(fv):
        sel = (profiles.frequency_Hz == fv) & np.isfinite(profiles.x_nm) & \
            np.isfinite(profiles.n_dl_cm3)
        o = np.argsort(profiles.x_nm[sel])
        return profiles.x_nm[sel][o], profiles.n_dl_cm3[sel][o]

    x_lo, n_lo = profile(f_lo)
    x_hi, n_hi = profile(f_hi)
    if x_lo.size == 0 or x_hi.size == 0:
        raise ValueError("deep_state_density: no valid N_DL at the chosen frequencies")
    return {"x_nm": x_lo, "n_deep_cm3": n_lo - np.interp(x_lo, x_hi, n_hi),
            "x_high_nm": (float(x_hi.min()), float(x_hi.max())),
            "low_frequency_Hz": float(f_lo), "high_frequency_Hz": float(f_hi)}


# ------------------------------------------------------------------------------- C-V
@dataclass(frozen=True)
class CVProfile:
    """Mott-Schottky profile: N_CV [cm⁻³] at x = εA/C [nm], per bias point."""

    bias_V: np.ndarray
    capacitance_F: np.ndarray
    inverse_c2_per_F2: np.ndarray
    x_nm: np.ndarray
    n_cv_cm3: np.ndarray
    n_excluded: int = 0
    """Points left out by the ``valid`` mask (readings the meter flagged)."""


def cv_profile(bias_V, capacitance_F, *, area_cm2, eps_r, smooth_points: int = 0,
               valid=None) -> CVProfile:
    """C-V (Mott-Schottky) profile N_CV(x).

    With V forward positive (anode positive),

    .. math:: N_{CV} = \\frac{C^3}{qεA^2\\,dC/dV} = \\frac{-2}{qεA^2\\,d(C^{-2})/dV},
              \\qquad x = εA/C

    (Sze & Ng, *Physics of Semiconductor Devices*, 3rd ed., §3.2.4; the textbook's
    −C³/(qεA²dC/dV_R) with the reverse bias V_R = −V). N_CV counts interface charge too,
    so N_CV ≥ N_DL on a real device; on a uniform junction they agree.

    Parameters
    ----------
    bias_V : array_like
        DC bias [V], forward positive; any order (sorted here), no repeats.
    capacitance_F : array_like
        Small-signal capacitance [F] at each bias.
    area_cm2, eps_r : float
        Junction area [cm²]; static relative permittivity (1 … 100).
    smooth_points : int, default 0
        0: central differences (``np.gradient``, non-uniform spacing allowed); an odd
        number ≥ 5: Savitzky–Golay (quadratic) derivative over that many points, which
        needs uniformly spaced bias.
    valid : array_like of bool, optional
        False leaves a point out before the derivative is taken (e.g. ``lcr_status != 0``);
        the profile then lies on the remaining biases (non-uniform: ``smooth_points = 0``).
    """
    eps = _check_eps_r(eps_r) * EPS0_F_M
    area_m2 = _check_area(area_cm2) * 1e-4
    v = np.asarray(bias_V, dtype=float).ravel()
    c = np.asarray(capacitance_F, dtype=float).ravel()
    if v.size != c.size:
        raise ValueError("bias_V and capacitance_F must have the same length")
    use = np.ones(c.size, bool) if valid is None else _mask(np.ravel(valid), c.shape,
                                                              "capacitance_F")
    n_excluded = int(np.sum(~use & np.isfinite(v)))
    ok = np.isfinite(v) & np.isfinite(c) & (c > 0) & use
    v, c = v[ok], c[ok]
    if v.size < 3:
        raise ValueError("bias_V: need ≥ 3 bias points with a finite C > 0 for a C-V profile")
    o = np.argsort(v)
    v, c = v[o], c[o]
    if np.any(np.diff(v) == 0):
        raise ValueError("bias_V holds repeated values: allowed distinct biases (average "
                         "repeats first)")
    inv2 = 1.0 / c ** 2
    if smooth_points:
        if int(smooth_points) != smooth_points or smooth_points < 5 or smooth_points % 2 == 0 \
                or smooth_points > v.size:
            raise ValueError(f"smooth_points = {smooth_points!r} is out of range: allowed 0 or "
                             f"an odd integer 5 … {v.size if v.size % 2 else v.size - 1}")
        step = np.diff(v)
        if not np.allclose(step, step.mean(), rtol=1e-6, atol=1e-9):
            raise ValueError("smooth_points needs uniformly spaced bias_V: allowed 0 for "
                             "non-uniform spacing")
        d_inv2 = signal.savgol_filter(inv2, int(smooth_points), 2, deriv=1,
                                      delta=float(step.mean()))
    else:
        d_inv2 = np.gradient(inv2, v)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_m3 = -2.0 / (Q_C * eps * area_m2 ** 2 * d_inv2)
    n_cm3 = np.where(np.isfinite(n_m3), n_m3 * 1e-6, np.nan)
    return CVProfile(bias_V=v, capacitance_F=c, inverse_c2_per_F2=inv2,
                     x_nm=eps * area_m2 / c * 1e9, n_cv_cm3=n_cm3, n_excluded=n_excluded)
