"""Space-charge-limited current (SCLC) analysis of single-carrier J-V curves.

Pure functions of arrays (pvlib style). The standard reading of an electron-only or
hole-only device's J-V curve on log-log axes:

* **ohmic** regime, log-log slope ≈ 1: J = q·n0·μ·V/L;
* **trap-filled limit** (TFL), slope > 3: the injected charge fills the traps and the free
  carrier density rises steeply (Lampert, Phys. Rev. 103, 1648 (1956),
  doi:10.1103/PhysRev.103.1648);
* **Mott-Gurney** regime, slope ≈ 2, trap-free SCLC J = (9/8)·ε_r·ε0·μ·V²/L³ (Mott & Gurney,
  *Electronic Processes in Ionic Crystals*, 1940). This is *not* Child's law, whose slope is
  3/2 (ballistic transport in vacuum).

The trap-filled-limit voltage V_TFL is the kink between the ohmic and the steep segment,
read here as the intersection of the ohmic line J = G·V with the tangent to log J vs log V
at its steepest point; n_t = 2·ε_r·ε0·V_TFL/(q·L²) (Bube, J. Appl. Phys. 33, 1733 (1962),
doi:10.1063/1.1702668).

Perovskite caveats (Duijnstee et al., ACS Energy Lett. 5, 376 (2020),
doi:10.1021/acsenergylett.9b02720; Le Corre et al., ACS Energy Lett. 6, 1087 (2021),
doi:10.1021/acsenergylett.0c02599): mobile ions make DC sweeps depend on direction and
history, so forward and reverse sweeps are compared (:func:`sweep_hysteresis`), and
V_TFL of a thin, low-permittivity layer may be set by the electrode charge rather than by
traps — n_t from V_TFL is then an upper bound. The analysis reports what it measured; that
interpretation is the reader's.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import constants
from scipy.interpolate import make_smoothing_spline

__all__ = ["trap_density_cm3", "trap_filled_limit_voltage_from_density_V",
           "mott_gurney_current_density_mA_cm2", "mobility_from_mott_gurney_cm2_Vs",
           "log_log_slope", "segment_regimes", "SCLCResult", "analyze_sclc",
           "sweep_hysteresis", "REGIMES", "HYSTERESIS_THRESHOLD_FRACTION"]

Q_C = constants.e
EPS0_F_M = constants.epsilon_0

#: Regime labels of :func:`segment_regimes`.
REGIMES = ("ohmic", "trap-filling", "mott-gurney", "transition")
#: Forward/reverse V_TFL disagreement above which :func:`sweep_hysteresis` warns (5 %).
HYSTERESIS_THRESHOLD_FRACTION = 0.05


# ----------------------------------------------------------------------------- checks
def _positive_scalar(name, value, unit, hi=math.inf):
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {value!r} is not a number: allowed > 0 {unit}".rstrip()) \
            from None
    if not (x > 0 and x <= hi and math.isfinite(x)):
        allowed = f"> 0 … {hi:g}" if math.isfinite(hi) else "> 0"
        raise ValueError(f"{name} = {value!r} is out of range: allowed {allowed} {unit}".rstrip())
    return x


def _scalar_or_array(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _curve(voltage_V, current_density_mA_cm2, min_points=8):
    """|V|, |J| of a single sweep branch, sorted by |V|, finite and non-zero only."""
    v = np.asarray(voltage_V, dtype=float).ravel()
    j = np.asarray(current_density_mA_cm2, dtype=float).ravel()
    if v.shape != j.shape:
        raise ValueError(f"voltage_V and current_density_mA_cm2 differ in length "
                         f"({v.size} vs {j.size}): allowed equal lengths")
    keep = np.isfinite(v) & np.isfinite(j) & (v != 0) & (j != 0)
    v, j = np.abs(v[keep]), np.abs(j[keep])
    order = np.argsort(v, kind="stable")
    v, j = v[order], j[order]
    if v.size and np.any(np.diff(v) == 0):
        # repeated voltages (e.g. two sweeps passed as one): average them in log space
        uv, inv = np.unique(v, return_inverse=True)
        j = np.exp(np.bincount(inv, np.log(j)) / np.bincount(inv))
        v = uv
    if v.size < min_points:
        raise ValueError(f"the sweep has {v.size} usable points (finite, V ≠ 0, J ≠ 0): "
                         f"allowed at least {min_points}")
    return v, j


# ----------------------------------------------------------------------------- formulas
def trap_density_cm3(v_tfl_V, thickness_nm, eps_r):
    """Trap density from the trap-filled-limit voltage, n_t = 2·ε_r·ε0·V_TFL / (q·L²).

    Parameters
    ----------
    v_tfl_V : float or array_like
        Trap-filled-limit voltage V_TFL [V], > 0.
    thickness_nm : float
        Layer thickness L between the injecting contacts [nm], > 0.
    eps_r : float
        Static relative permittivity ε_r (dimensionless, 1 … 1000; CsPbBr3 ≈ 16–30; *not*
        the optical ε∞ and *not* ε_r·ε0).

    Returns
    -------
    float or ndarray
        n_t [cm⁻³].

    References
    ----------
    Lampert, Phys. Rev. 103, 1648 (1956), doi:10.1103/PhysRev.103.1648;
    Bube, J. Appl. Phys. 33, 1733 (1962), doi:10.1063/1.1702668.

    Examples
    --------
    >>> round(trap_density_cm3(1.0, 300.0, 30.0) / 1e16, 2)
    3.68
    """
    v = np.asarray(v_tfl_V, dtype=float)
    if v.size == 0 or not np.all(np.isfinite(v) & (v > 0)):
        raise ValueError(f"v_tfl_V = {v_tfl_V!r} is out of range: allowed > 0 V (finite)")
    length_m = _positive_scalar("thickness_nm", thickness_nm, "nm", 1e6) * 1e-9
    eps = _positive_scalar("eps_r", eps_r, "", 1000.0)
    if eps < 1.0:
        raise ValueError(f"eps_r = {eps_r!r} is out of range: allowed 1 … 1000 (relative "
                         "permittivity, not ε_r·ε0)")
    n_m3 = 2.0 * eps * EPS0_F_M * v / (Q_C * length_m ** 2)
    return _scalar_or_array(n_m3 * 1e-6)


def trap_filled_limit_voltage_from_density_V(trap_density_cm3, thickness_nm, eps_r):
    """Inverse of :func:`trap_density_cm3`: V_TFL = q·n_t·L² / (2·ε_r·ε0) [V] (Lampert 1956)."""
    n = np.asarray(trap_density_cm3, dtype=float)
    if n.size == 0 or not np.all(np.isfinite(n) & (n > 0)):
        raise ValueError(f"trap_density_cm3 = {trap_density_cm3!r} is out of range: "
                         "allowed > 0 cm⁻³")
    length_m = _positive_scalar("thickness_nm", thickness_nm, "nm", 1e6) * 1e-9
    eps = _positive_scalar("eps_r", eps_r, "", 1000.0)
    return _scalar_or_array(Q_C * n * 1e6 * length_m ** 2 / (2.0 * eps * EPS0_F_M))


def mott_gurney_current_density_mA_cm2(voltage_V, mobility_cm2_Vs, thickness_nm, eps_r):
    """Trap-free SCLC, J = (9/8)·ε_r·ε0·μ·V²/L³, in mA/cm² (Mott & Gurney 1940).

    Parameters
    ----------
    voltage_V : array_like
        Voltage across the layer [V] (built-in voltage already subtracted if any).
    mobility_cm2_Vs : float
        Carrier mobility μ [cm²/(V·s)].
    thickness_nm : float
        Layer thickness L [nm].
    eps_r : float
        Static relative permittivity.
    """
    mu = _positive_scalar("mobility_cm2_Vs", mobility_cm2_Vs, "cm²/(V·s)") * 1e-4
    length_m = _positive_scalar("thickness_nm", thickness_nm, "nm", 1e6) * 1e-9
    eps = _positive_scalar("eps_r", eps_r, "", 1000.0)
    v = np.asarray(voltage_V, dtype=float)
    j_A_m2 = 9.0 / 8.0 * eps * EPS0_F_M * mu * v * np.abs(v) / length_m ** 3
    return _scalar_or_array(j_A_m2 * 0.1)          # 1 A/m² = 0.1 mA/cm²


def mobility_from_mott_gurney_cm2_Vs(coefficient_mA_cm2_V2, thickness_nm, eps_r):
    """μ from the Mott-Gurney coefficient k of J = k·V²: μ = 8·k·L³ / (9·ε_r·ε0).

    Parameters
    ----------
    coefficient_mA_cm2_V2 : float
        k in J [mA/cm²] = k·V² [V²].
    thickness_nm, eps_r : float
        Layer thickness [nm] and static relative permittivity.

    Returns
    -------
    float
        μ [cm²/(V·s)].
    """
    k = _positive_scalar("coefficient_mA_cm2_V2", coefficient_mA_cm2_V2, "mA/(cm² V²)")
    length_m = _positive_scalar("thickness_nm", thickness_nm, "nm", 1e6) * 1e-9
    eps = _positive_scalar("eps_r", eps_r, "", 1000.0)
    mu_m2_Vs = 8.0 * (k * 10.0) * length_m ** 3 / (9.0 * eps * EPS0_F_M)
    return mu_m2_Vs * 1e4


# ----------------------------------------------------------------------------- slope
def _spline(v, j, lam=None):
    """GCV smoothing spline of ln J vs ln V (Wahba; scipy ``make_smoothing_spline``)."""
    return make_smoothing_spline(np.log(v), np.log(j), lam=lam)


def log_log_slope(voltage_V, current_density_mA_cm2, *, lam=None):
    """Smoothed local slope d ln|J| / d ln|V| of one sweep branch.

    The derivative of a cubic smoothing spline of ln|J| against ln|V| whose smoothing is
    chosen by generalised cross-validation (Craven & Wahba, Numer. Math. 31, 377 (1979),
    doi:10.1007/BF01404567), so measurement noise is not amplified as by finite
    differences.

    Parameters
    ----------
    voltage_V, current_density_mA_cm2 : array_like
        One sweep branch (any order; signs ignored; zero and non-finite points dropped).
    lam : float, optional
        Smoothing parameter of the spline (None: GCV).

    Returns
    -------
    voltage_V, slope : ndarray
        |V| sorted ascending and the slope there (dimensionless).
    """
    v, j = _curve(voltage_V, current_density_mA_cm2)
    spl = _spline(v, j, lam)
    return v, spl.derivative()(np.log(v))


def segment_regimes(slope, *, tolerance=0.25, steep_slope=3.0):
    """Label each point of a sorted branch ``ohmic`` / ``trap-filling`` / ``mott-gurney``.

    Parameters
    ----------
    slope : array_like
        Log-log slopes of a branch sorted by |V| (see :func:`log_log_slope`).
    tolerance : float, default 0.25
        |slope − 1| (ohmic) or |slope − 2| (Mott-Gurney) allowed.
    steep_slope : float, default 3
        Slopes above this are the trap-filling rise.

    Returns
    -------
    ndarray of str
        One of :data:`REGIMES` per point. Ohmic points lie below the steepest point and
        Mott-Gurney points above it; everything else is ``transition``.
    """
    s = np.asarray(slope, dtype=float)
    if s.size == 0:
        raise ValueError("slope is empty: allowed at least one point")
    if not 0 < tolerance < 0.5:
        raise ValueError(f"tolerance = {tolerance!r} is out of range: allowed 0 … 0.5")
    labels = np.full(s.size, "transition", dtype=object)
    finite = np.isfinite(s)
    if not finite.any():
        return labels.astype(str)
    k = int(np.nanargmax(s))
    below, above = np.arange(s.size) < k, np.arange(s.size) > k
    labels[below & finite & (np.abs(s - 1.0) <= tolerance)] = "ohmic"
    labels[finite & (s > steep_slope)] = "trap-filling"
    labels[above & finite & (np.abs(s - 2.0) <= tolerance)] = "mott-gurney"
    return labels.astype(str)


# ----------------------------------------------------------------------------- analysis
@dataclass
class SCLCResult:
    """Figures of one SCLC branch (see :func:`analyze_sclc`); NaN where not measurable."""

    v_tfl_V: float = math.nan
    trap_density_cm3: float = math.nan
    mobility_cm2_Vs: float = math.nan
    ohmic_conductance_mS_cm2: float = math.nan
    ohmic_slope: float = math.nan
    max_slope: float = math.nan
    voltage_at_max_slope_V: float = math.nan
    mott_gurney_slope: float = math.nan
    mott_gurney_range_V: list = field(default_factory=lambda: [math.nan, math.nan])
    n_ohmic_points: int = 0
    n_mott_gurney_points: int = 0
    thickness_nm: float = math.nan
    eps_r: float = math.nan
    method: str = ("V_TFL: intersection of the ohmic line J = G·V (fitted with slope 1) with "
                   "the tangent to ln J vs ln V at its steepest point (GCV smoothing spline); "
                   "n_t = 2·ε_r·ε0·V_TFL/(q·L²); μ: J = (9/8)·ε_r·ε0·μ·V²/L³ fitted with "
                   "exponent 2 on the Mott-Gurney points (|slope − 2| ≤ tolerance) above the "
                   "steepest point")
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def analyze_sclc(voltage_V, current_density_mA_cm2, thickness_nm, eps_r, *,
                 tolerance=0.25, steep_slope=3.0, lam=None) -> SCLCResult:
    """V_TFL, n_t and Mott-Gurney mobility of one single-carrier sweep branch.

    Parameters
    ----------
    voltage_V, current_density_mA_cm2 : array_like
        One branch (e.g. the up sweep 0 → V_max); |V| and |J| are used.
    thickness_nm : float
        Layer thickness L [nm].
    eps_r : float
        Static relative permittivity (required; 1 … 1000).
    tolerance : float, default 0.25
        Slope tolerance of the ohmic (≈ 1) and Mott-Gurney (≈ 2) regimes.
    steep_slope : float, default 3
        The steep (trap-filling) segment must reach a slope above this for V_TFL.
    lam : float, optional
        Spline smoothing (None: generalised cross-validation).

    Returns
    -------
    SCLCResult

    Notes
    -----
    Method (stated in ``result.method``): the ohmic conductance G = exp(mean(ln J − ln V))
    over the ohmic points below the steepest point (slope fixed to 1, J = q·n0·μ·V/L); the
    tangent ln J = ln J* + s*·(ln V − ln V*) at the maximum s* of the smoothed slope; their
    intersection ln V_TFL = (ln J* − s*·ln V* − ln G)/(1 − s*). Fitting a line to *every*
    point with slope > 3 instead takes in the rounded lower corner and reads V_TFL ≈ 10 %
    low. n_t from :func:`trap_density_cm3`; μ from :func:`mobility_from_mott_gurney_cm2_Vs`.
    """
    thickness = _positive_scalar("thickness_nm", thickness_nm, "nm", 1e6)
    eps = _positive_scalar("eps_r", eps_r, "", 1000.0)
    if eps < 1.0:
        raise ValueError(f"eps_r = {eps_r!r} is out of range: allowed 1 … 1000")
    v, j = _curve(voltage_V, current_density_mA_cm2)
    spl = _spline(v, j, lam)
    lv = np.log(v)
    slope = spl.derivative()(lv)
    labels = segment_regimes(slope, tolerance=tolerance, steep_slope=steep_slope)
    res = SCLCResult(thickness_nm=thickness, eps_r=eps)

    # steepest point on a fine grid of the spline (not just at the samples)
    grid = np.linspace(lv[0], lv[-1], 4001)
    sg = spl.derivative()(grid)
    kg = int(np.argmax(sg))
    s_star, lv_star = float(sg[kg]), float(grid[kg])
    res.max_slope, res.voltage_at_max_slope_V = s_star, math.exp(lv_star)

    ohmic = labels == "ohmic"
    res.n_ohmic_points = int(ohmic.sum())
    if res.n_ohmic_points >= 2:
        ln_g = float(np.mean(np.log(j[ohmic]) - lv[ohmic]))
        res.ohmic_conductance_mS_cm2 = math.exp(ln_g)
        res.ohmic_slope = float(np.polyfit(lv[ohmic], np.log(j[ohmic]), 1)[0])
    else:
        res.notes.append("no ohmic region (slope ≈ 1 below the steep rise): V_TFL not read")
    if s_star <= steep_slope:
        res.notes.append(f"maximum log-log slope {s_star:.2f} ≤ {steep_slope:g}: no trap-filled "
                         "limit in the measured range")
    elif kg in (0, grid.size - 1):
        res.notes.append("the steepest point is at the end of the sweep: extend the voltage "
                         "range past the trap-filled limit")
    elif res.n_ohmic_points >= 2:
        ln_j_star = float(spl(lv_star))
        ln_v_tfl = (ln_j_star - s_star * lv_star - math.log(res.ohmic_conductance_mS_cm2)) \
            / (1.0 - s_star)
        res.v_tfl_V = math.exp(ln_v_tfl)
        res.trap_density_cm3 = float(trap_density_cm3(res.v_tfl_V, thickness, eps))

    mg = labels == "mott-gurney"
    res.n_mott_gurney_points = int(mg.sum())
    if res.n_mott_gurney_points >= 3:
        ln_k = float(np.mean(np.log(j[mg]) - 2.0 * lv[mg]))
        res.mobility_cm2_Vs = mobility_from_mott_gurney_cm2_Vs(math.exp(ln_k), thickness, eps)
        res.mott_gurney_slope = float(np.polyfit(lv[mg], np.log(j[mg]), 1)[0])
        res.mott_gurney_range_V = [float(v[mg].min()), float(v[mg].max())]
    else:
        res.notes.append("fewer than 3 Mott-Gurney points (slope ≈ 2 above the trap-filled "
                         "limit): mobility not read; extend the sweep (mind the compliance)")
    return res


def sweep_hysteresis(up, down, thickness_nm, eps_r, *,
                     threshold_fraction=HYSTERESIS_THRESHOLD_FRACTION, **kwargs) -> dict:
    """Compare the up (0 → V_max) and down (V_max → 0) branches of one DC sweep.

    Mobile ions make the two branches differ (Duijnstee et al. 2020); then V_TFL and n_t
    depend on the sweep direction and a pulsed measurement is needed.

    Parameters
    ----------
    up, down : tuple of (voltage_V, current_density_mA_cm2)
        The two branches.
    thickness_nm, eps_r : float
        As for :func:`analyze_sclc`.
    threshold_fraction : float, default 0.05
        Warn when |V_TFL,up − V_TFL,down| / mean exceeds this.

    Returns
    -------
    dict
        ``v_tfl_up_V``, ``v_tfl_down_V``, ``v_tfl_relative_difference``,
        ``max_abs_log10_current_ratio`` (max |log10(J_up/J_down)| at equal |V|, over the
        common range), ``threshold_fraction``, ``warning`` (str or None).
    """
    if not 0 < threshold_fraction < 1:
        raise ValueError(f"threshold_fraction = {threshold_fraction!r} is out of range: "
                         "allowed 0 … 1")
    a = analyze_sclc(*up, thickness_nm, eps_r, **kwargs)
    b = analyze_sclc(*down, thickness_nm, eps_r, **kwargs)
    vu, ju = _curve(*up)
    vd, jd = _curve(*down)
    lo, hi = max(vu[0], vd[0]), min(vu[-1], vd[-1])
    ratio = math.nan
    inside = (vu >= lo) & (vu <= hi)
    if hi > lo and inside.sum() >= 2:
        ljd = np.interp(np.log(vu[inside]), np.log(vd), np.log(jd))
        ratio = float(np.max(np.abs(np.log(ju[inside]) - ljd)) / math.log(10.0))
    rel = math.nan
    if math.isfinite(a.v_tfl_V) and math.isfinite(b.v_tfl_V):
        rel = abs(a.v_tfl_V - b.v_tfl_V) / (0.5 * (a.v_tfl_V + b.v_tfl_V))
    warning = None
    if math.isfinite(rel) and rel > threshold_fraction:
        warning = (f"forward and reverse sweeps disagree: V_TFL {a.v_tfl_V:.3g} V (up) vs "
                   f"{b.v_tfl_V:.3g} V (down), {100 * rel:.1f} % > {100 * threshold_fraction:g} %"
                   " — mobile ions likely; use the pulsed mode (Duijnstee et al. 2020)")
    return {"v_tfl_up_V": a.v_tfl_V, "v_tfl_down_V": b.v_tfl_V,
            "v_tfl_relative_difference": rel, "max_abs_log10_current_ratio": ratio,
            "threshold_fraction": threshold_fraction, "warning": warning}
