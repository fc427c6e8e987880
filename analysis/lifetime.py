"""Operational lifetime of LEDs under constant-current stress: T_x, stretched-exponential fits,
bounded extrapolation and the luminance acceleration law.

Pure functions of arrays (no I/O). Conventions:

* ``time_s`` is stress time from the start of the constant-current stress [s];
* ``relative`` is L/L0 (dimensionless); L0 is either the t = 0 reading (``l0="initial"``) or the
  maximum of the record (``l0="max"``, for devices that brighten first). Both are reported,
  because perovskite LEDs often brighten during the first minutes and the choice moves T_x;
* T_x is the time at which L/L0 first falls to ``x`` (T95, T90, T80, T50).

Sources
-------
* Stretched-exponential decay L/L0 = exp[−(t/τ)^β], T_x = τ·(−ln x)^(1/β):
  Féry et al., Appl. Phys. Lett. 87, 213502 (2005), doi:10.1063/1.2133922.
* Bounded extrapolation (≤ 6× the test duration, as for LED lumen maintenance):
  IES TM-21-11, "Projecting Long Term Lumen Maintenance of LED Light Sources" (2011).
* Acceleration law L0^n·T = const, T(L1) = T(L0)·(L0/L1)^n, n fitted in log-log:
  Féry et al. (2005); Scholz et al., Chem. Rev. 115, 8449 (2015), doi:10.1021/cr400704v.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize

__all__ = ["estimate_time_to_fraction_s", "LifetimeWarning", "StretchedExponentialFit", "AccelerationFit", "FRACTIONS",
           "relative_luminance", "crossing_time_s", "fit_stretched_exponential",
           "tx_from_fit", "voltage_rise_V", "lifetime_summary", "extrapolate_lifetime",
           "fit_acceleration_law", "fit_acceleration_exponent", "check_assumed_exponent",
           "MAX_EXTRAPOLATION_FACTOR"]

#: Standard lifetime fractions: T95, T90, T80, T50.
FRACTIONS = (0.95, 0.90, 0.80, 0.50)
#: Extrapolated T_x beyond this multiple of the test duration are refused (TM-21-11).
MAX_EXTRAPOLATION_FACTOR = 6.0
L0_MODES = ("initial", "max")


class LifetimeWarning(UserWarning):
    """A lifetime result rests on an assumption the data do not support."""


def _check_series(time_s, values, name="luminance_cd_m2"):
    t = np.asarray(time_s, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    if t.shape != y.shape:
        raise ValueError(f"time_s and {name} must have the same length: {t.size} vs {y.size}")
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    if t.size < 2:
        raise ValueError(f"time_s/{name}: need at least 2 finite points, got {t.size}")
    if np.any(np.diff(t) < 0):
        raise ValueError("time_s must be non-decreasing (sort the record by time first)")
    if np.any(t < 0):
        raise ValueError("time_s must be >= 0 s (stress time from the start of the stress)")
    return t, y


def relative_luminance(time_s, luminance_cd_m2, l0: str = "initial"):
    """L/L0 of a lifetime record and the L0 used.

    Parameters
    ----------
    time_s : array_like
        Stress time [s], non-decreasing, ≥ 0.
    luminance_cd_m2 : array_like
        Luminance [cd/m²] (NaN rows are dropped).
    l0 : {"initial", "max"}
        L0 = the first finite reading, or the maximum of the record.

    Returns
    -------
    time_s, relative, l0_cd_m2 : ndarray, ndarray, float
    """
    if l0 not in L0_MODES:
        raise ValueError(f"l0 = {l0!r} is not allowed: use one of {', '.join(L0_MODES)}")
    t, lum = _check_series(time_s, luminance_cd_m2)
    ref = float(lum[0] if l0 == "initial" else np.max(lum))
    if not ref > 0:
        raise ValueError(f"L0 = {ref:g} cd/m² ({l0}) is out of range: allowed > 0 cd/m²")
    return t, lum / ref, ref


def crossing_time_s(time_s, relative, fraction: float, *, after_s: float = 0.0) -> float:
    """First time [s] at which ``relative`` falls to ``fraction`` (linear interpolation).

    Only points at or after ``after_s`` count (the peak time for ``l0="max"``). Returns NaN
    when the record never reaches ``fraction``.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction = {fraction!r} is out of range: allowed 0 < fraction < 1")
    t, y = _check_series(time_s, relative, "relative")
    keep = t >= after_s
    t, y = t[keep], y[keep]
    below = np.nonzero(y <= fraction)[0]
    if below.size == 0:
        return math.nan
    k = int(below[0])
    if k == 0:
        return float(t[0])
    t0, t1, y0, y1 = t[k - 1], t[k], y[k - 1], y[k]
    return float(t0 + (fraction - y0) * (t1 - t0) / (y1 - y0)) if y1 != y0 else float(t1)


@dataclass(frozen=True)
class StretchedExponentialFit:
    """Least-squares fit of L/L0 = exp[−(t/τ)^β].

    Attributes
    ----------
    tau_s, beta : float
        Characteristic time τ [s] and stretch exponent β.
    tau_stderr_s, beta_stderr : float
        Standard errors from the covariance of ``scipy.optimize.curve_fit`` (scaled by the
        residual variance).
    covariance : ndarray
        2×2 covariance of (τ, β).
    rms_residual : float
        RMS of (L/L0 − model).
    n_points : int
    t_start_s, t_end_s : float
        Time span of the fitted data [s].
    """
    tau_s: float
    beta: float
    tau_stderr_s: float
    beta_stderr: float
    covariance: np.ndarray
    rms_residual: float
    n_points: int
    t_start_s: float
    t_end_s: float

    def relative(self, time_s):
        """Model L/L0 at ``time_s`` [s]."""
        t = np.clip(np.asarray(time_s, dtype=float), 0.0, None)
        return np.exp(-(t / self.tau_s) ** self.beta)


def _model(t, tau, beta):
    return np.exp(-(t / tau) ** beta)


def fit_stretched_exponential(time_s, relative, *, min_points: int = 5,
                              min_decay: float = 0.02, after_s: float = 0.0
                              ) -> StretchedExponentialFit:
    """Fit L/L0 = exp[−(t/τ)^β] (Féry et al. 2005) by nonlinear least squares.

    The start values come from the linearisation ln(−ln y) = β·ln t − β·ln τ; the fit then
    runs on y itself with ``scipy.optimize.curve_fit`` (τ > 0, 0.05 ≤ β ≤ 3).

    Parameters
    ----------
    time_s, relative : array_like
        Stress time [s] and L/L0.
    min_points : int
        Fewest points with t > ``after_s`` accepted.
    min_decay : float
        The record must fall by at least this fraction (min L/L0 ≤ 1 − min_decay); a flat
        record fixes neither τ nor β.
    after_s : float
        Fit only points after this time [s] (after the brightening peak for ``l0="max"``).

    Raises
    ------
    ValueError
        Too few points, too little decay, or no convergence.
    """
    t, y = _check_series(time_s, relative, "relative")
    keep = (t > after_s) & (t > 0)
    t, y = t[keep], y[keep]
    if t.size < min_points:
        raise ValueError(f"stretched-exponential fit: {t.size} points after {after_s:g} s, "
                         f"need at least {min_points}")
    if not np.min(y) <= 1.0 - min_decay:
        raise ValueError(f"stretched-exponential fit: L/L0 fell only to {np.min(y):.4f}; need "
                         f"≤ {1 - min_decay:.4f} to fix τ and β")
    lin = (y > 1e-6) & (y < 1.0 - 1e-4)
    beta0, tau0 = 0.7, float(t[-1])
    if lin.sum() >= 2:
        slope, icpt = np.polyfit(np.log(t[lin]), np.log(-np.log(y[lin])), 1)
        if slope > 0.05:
            beta0 = float(np.clip(slope, 0.06, 2.9))
            tau0 = float(math.exp(-icpt / slope))
    # Fit in log τ so that τ stays positive and the problem is well scaled.
    f = lambda tt, log_tau, beta: _model(tt, np.exp(log_tau), beta)
    try:
        popt, pcov = optimize.curve_fit(
            f, t, y, p0=(math.log(max(tau0, 1e-12)), beta0),
            bounds=([-np.inf, 0.05], [np.inf, 3.0]), maxfev=20_000)
    except (RuntimeError, optimize.OptimizeWarning) as exc:
        raise ValueError(f"stretched-exponential fit did not converge: {exc}") from None
    log_tau, beta = float(popt[0]), float(popt[1])
    tau = math.exp(log_tau)
    # Covariance of (τ, β) from that of (ln τ, β): J = diag(τ, 1).
    jac = np.diag([tau, 1.0])
    cov = jac @ np.asarray(pcov, float) @ jac.T
    err = np.sqrt(np.clip(np.diag(cov), 0.0, None)) if np.all(np.isfinite(cov)) else \
        np.full(2, math.nan)
    rms = float(np.sqrt(np.mean((y - _model(t, tau, beta)) ** 2)))
    return StretchedExponentialFit(tau, beta, float(err[0]), float(err[1]), cov, rms,
                                   int(t.size), float(t[0]), float(t[-1]))


def tx_from_fit(fit: StretchedExponentialFit, fraction: float) -> tuple[float, float]:
    """T_x = τ·(−ln x)^(1/β) [s] and its standard error (delta method on the fit covariance).

    ∂T/∂τ = T/τ, ∂T/∂β = −T·ln(−ln x)/β².
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction = {fraction!r} is out of range: allowed 0 < fraction < 1")
    u = -math.log(fraction)
    tx = fit.tau_s * u ** (1.0 / fit.beta)
    grad = np.array([tx / fit.tau_s, -tx * math.log(u) / fit.beta ** 2])
    var = float(grad @ fit.covariance @ grad)
    return float(tx), math.sqrt(var) if var >= 0 and math.isfinite(var) else math.nan


def voltage_rise_V(time_s, voltage_V, at_time_s: float) -> float:
    """ΔV = V(at_time_s) − V(t_first) [V], V interpolated linearly in time; NaN if outside."""
    t, v = _check_series(time_s, voltage_V, "voltage_V")
    if not (math.isfinite(at_time_s) and t[0] <= at_time_s <= t[-1]):
        return math.nan
    return float(np.interp(at_time_s, t, v) - v[0])


def _tx_label(fraction: float) -> str:
    return f"t{int(round(100 * fraction))}"


def lifetime_summary(time_s, luminance_cd_m2, voltage_V=None, *, fractions=FRACTIONS,
                     max_extrapolation_factor: float = MAX_EXTRAPOLATION_FACTOR) -> dict:
    """T_x for both L0 conventions, the stretched-exponential fit and ΔV at T95 / T50.

    For each convention (``initial``, ``max``) and each fraction x the result holds
    ``t<x>_s`` (measured by interpolation when the record reaches x; otherwise extrapolated
    from the fit), ``t<x>_extrapolated`` (bool), ``t<x>_stderr_s`` (fit standard error for
    extrapolated values, NaN for measured ones) and ``t<x>_note``. An extrapolation beyond
    ``max_extrapolation_factor`` × the test duration is refused (NaN, with the bound in the
    note), as TM-21-11 does for lumen maintenance.

    Parameters
    ----------
    time_s : array_like
        Stress time [s] from the start of the constant-current stress.
    luminance_cd_m2 : array_like
        Luminance [cd/m²].
    voltage_V : array_like, optional
        Drive voltage [V] at the same times (for ΔV at T95 and T50, L0 = initial).

    Returns
    -------
    dict
        JSON-able (floats, bools, strings); keys described above plus ``duration_s``,
        ``initial``/``max`` sub-dicts and ``fit`` per convention.
    """
    if not max_extrapolation_factor >= 1.0:
        raise ValueError(f"max_extrapolation_factor = {max_extrapolation_factor!r} is out of "
                         "range: allowed >= 1")
    t_all, lum = _check_series(time_s, luminance_cd_m2)
    duration = float(t_all[-1])
    out: dict = {"duration_s": duration, "n_points": int(t_all.size)}
    for mode in L0_MODES:
        t, rel, l0 = relative_luminance(t_all, lum, mode)
        after = float(t[int(np.argmax(rel))]) if mode == "max" else 0.0
        block: dict = {"l0_cd_m2": l0, "l0_time_s": after, "final_relative": float(rel[-1])}
        try:
            fit = fit_stretched_exponential(t, rel, after_s=after)
            block["fit"] = {"tau_s": fit.tau_s, "tau_stderr_s": fit.tau_stderr_s,
                            "beta": fit.beta, "beta_stderr": fit.beta_stderr,
                            "rms_residual": fit.rms_residual, "n_points": fit.n_points}
        except ValueError as exc:
            fit = None
            block["fit"] = {"error": str(exc)}
        for x in fractions:
            key = _tx_label(x)
            measured = crossing_time_s(t, rel, x, after_s=after)
            if math.isfinite(measured):
                value, err, extra, note = measured, math.nan, False, "measured (interpolated)"
            elif fit is None:
                value, err, extra = math.nan, math.nan, False
                note = f"not reached; no extrapolation ({block['fit']['error']})"
            else:
                value, err = tx_from_fit(fit, x)
                extra = True
                bound = max_extrapolation_factor * duration
                if value > bound:
                    note = (f"not reached; the fit gives {value:.4g} s, beyond "
                            f"{max_extrapolation_factor:g}× the test duration "
                            f"({bound:.4g} s): refused")
                    value, err, extra = math.nan, math.nan, False
                else:
                    note = (f"extrapolated from the stretched-exponential fit "
                            f"(≤ {max_extrapolation_factor:g}× test duration)")
            block[f"{key}_s"] = float(value)
            block[f"{key}_stderr_s"] = float(err)
            block[f"{key}_extrapolated"] = bool(extra)
            block[f"{key}_note"] = note
        out[mode] = block
    if voltage_V is not None:
        tv, v = _check_series(time_s, voltage_V, "voltage_V")
        for x in (0.95, 0.5):
            tx = out["initial"].get(f"{_tx_label(x)}_s", math.nan)
            out[f"voltage_rise_at_{_tx_label(x)}_V"] = voltage_rise_V(tv, v, tx)
    return out


def extrapolate_lifetime(lifetime, l0_from_cd_m2, l0_to_cd_m2, n):
    """Lifetime at another initial luminance by the acceleration law L0^n·T = const.

    T(L_to) = T(L_from)·(L_from/L_to)^n (Féry et al. 2005).

    Parameters
    ----------
    lifetime : float or array_like
        Lifetime at ``l0_from_cd_m2`` (any time unit; the result has the same unit).
    l0_from_cd_m2, l0_to_cd_m2 : float or array_like
        Initial luminances [cd/m²], > 0.
    n : float
        Acceleration exponent (> 0; typically 1.5–2 for OLEDs).
    """
    lf = np.asarray(l0_from_cd_m2, dtype=float)
    lt = np.asarray(l0_to_cd_m2, dtype=float)
    if np.any(~(lf > 0)) or np.any(~(lt > 0)):
        raise ValueError("l0_from_cd_m2 and l0_to_cd_m2 are out of range: allowed > 0 cd/m²")
    n = float(n)
    if not (math.isfinite(n) and n > 0):
        raise ValueError(f"n = {n!r} is out of range: allowed > 0 (finite)")
    life = np.asarray(lifetime, dtype=float)
    if np.any(life < 0):
        raise ValueError("lifetime is out of range: allowed >= 0")
    return (life * (lf / lt) ** n)[()]


@dataclass(frozen=True)
class AccelerationFit:
    """ln T = ln C − n·ln L0 fitted by least squares.

    ``n_stderr`` is NaN with two points (no degrees of freedom left). ``lifetime_at(L)``
    evaluates the law; ``lifetime_stderr_at(L)`` propagates the fit covariance.
    """
    n: float
    n_stderr: float
    log_constant: float
    covariance: np.ndarray
    n_points: int
    l0_cd_m2: tuple
    lifetimes: tuple

    def lifetime_at(self, l0_cd_m2):
        return np.exp(self.log_constant - self.n * np.log(np.asarray(l0_cd_m2, float)))[()]

    def lifetime_stderr_at(self, l0_cd_m2):
        x = np.log(np.asarray(l0_cd_m2, float))
        var = (self.covariance[0, 0] + x * x * self.covariance[1, 1]
               - 2 * x * self.covariance[0, 1])
        return (self.lifetime_at(l0_cd_m2) * np.sqrt(var))[()]


def fit_acceleration_law(l0_cd_m2, lifetimes) -> AccelerationFit:
    """Fit the acceleration law L0^n·T = const in log-log (ordinary least squares).

    ln T_i = ln C − n·ln L0_i; the standard error of n is σ̂/√Σ(x_i − x̄)² with
    σ̂² = RSS/(N − 2). Needs ≥ 2 distinct L0 values; with exactly 2 the uncertainty is
    undefined (NaN) and a :class:`LifetimeWarning` says so.
    """
    l0 = np.asarray(l0_cd_m2, dtype=float).ravel()
    life = np.asarray(lifetimes, dtype=float).ravel()
    if l0.shape != life.shape:
        raise ValueError(f"l0_cd_m2 and lifetimes must have the same length: "
                         f"{l0.size} vs {life.size}")
    if not (np.all(np.isfinite(l0)) and np.all(l0 > 0) and np.all(np.isfinite(life))
            and np.all(life > 0)):
        raise ValueError("l0_cd_m2 and lifetimes are out of range: allowed finite values > 0")
    x, y = np.log(l0), np.log(life)
    if l0.size < 2 or np.unique(l0).size < 2:
        raise ValueError(f"l0_cd_m2: need at least 2 distinct initial luminances, got "
                         f"{np.unique(l0).size}")
    xm = x.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (y - y.mean())) / sxx)
    icpt = float(y.mean() - slope * xm)
    dof = l0.size - 2
    if dof > 0:
        s2 = float(np.sum((y - icpt - slope * x) ** 2)) / dof
        var_slope = s2 / sxx
        var_icpt = s2 * (1.0 / l0.size + xm * xm / sxx)
        cov_ab = -xm * var_slope        # cov(intercept, slope)
        # parameters (ln C, n) with n = −slope: cov(ln C, n) = −cov(intercept, slope)
        cov = np.array([[var_icpt, -cov_ab], [-cov_ab, var_slope]])
    else:
        warnings.warn("acceleration exponent from 2 initial luminances: its uncertainty is "
                      "undefined (no degrees of freedom); measure at ≥ 3 L0 values",
                      LifetimeWarning, stacklevel=2)
        cov = np.full((2, 2), math.nan)
    return AccelerationFit(-slope, math.sqrt(cov[1, 1]) if dof > 0 else math.nan, icpt, cov,
                           int(l0.size), tuple(map(float, l0)), tuple(map(float, life)))


def fit_acceleration_exponent(l0_cd_m2, lifetimes) -> tuple[float, float]:
    """(n, n_stderr) of the acceleration law L0^n·T = const (see :func:`fit_acceleration_law`)."""
    fit = fit_acceleration_law(l0_cd_m2, lifetimes)
    return fit.n, fit.n_stderr


def check_assumed_exponent(n_assumed: float, n_fit: float, n_stderr: float, *,
                           coverage: float = 2.0) -> dict:
    """Compare an assumed acceleration exponent with the fitted one.

    Extrapolating with an n the data contradict is a known abuse. Issues a
    :class:`LifetimeWarning` when |n_assumed − n_fit| > ``coverage``·n_stderr (default 2σ,
    ≈ 95 %) or when the fitted uncertainty is undefined (so the assumption cannot be tested).

    Returns
    -------
    dict
        ``consistent`` (True, False or None when untestable), ``deviation_sigma`` and ``message``.
    """
    n_assumed, n_fit, n_stderr = float(n_assumed), float(n_fit), float(n_stderr)
    if not coverage > 0:
        raise ValueError(f"coverage = {coverage!r} is out of range: allowed > 0")
    if not (math.isfinite(n_stderr) and n_stderr > 0):
        msg = (f"assumed n = {n_assumed:g} cannot be tested: the fitted n = {n_fit:.3g} has no "
               "defined uncertainty (fewer than 3 initial luminances)")
        warnings.warn(msg, LifetimeWarning, stacklevel=2)
        return {"consistent": None, "deviation_sigma": math.nan, "message": msg}
    dev = abs(n_assumed - n_fit) / n_stderr
    if dev > coverage:
        msg = (f"assumed n = {n_assumed:g} disagrees with the fitted n = {n_fit:.3f} ± "
               f"{n_stderr:.3f} ({dev:.1f} σ): extrapolations with it are not supported by "
               "the data")
        warnings.warn(msg, LifetimeWarning, stacklevel=2)
        return {"consistent": False, "deviation_sigma": dev, "message": msg}
    return {"consistent": True, "deviation_sigma": dev,
            "message": f"assumed n = {n_assumed:g} agrees with the fitted n = {n_fit:.3f} ± "
                       f"{n_stderr:.3f} ({dev:.1f} σ)"}


def estimate_time_to_fraction_s(time_s, relative, fraction: float = 0.5) -> float:
    """Running estimate of T_x [s] for the live status line (not an analysis result).

    Linearised stretched exponential ln(−ln y) = β·ln t − β·ln τ over the decayed points,
    T_x = τ·(−ln x)^(1/β) (Féry et al., APL 87, 213502 (2005)); NaN until the record has
    decayed enough to fix a slope.
    """
    t = np.asarray(time_s, float)
    y = np.asarray(relative, float)
    ok = np.isfinite(t) & np.isfinite(y) & (t > 0) & (y > 1e-6) & (y < 0.995)
    if ok.sum() < 5:
        return math.nan
    slope, icpt = np.polyfit(np.log(t[ok]), np.log(-np.log(y[ok])), 1)
    if not slope > 0.05:
        return math.nan
    tau = math.exp(-icpt / slope)
    return tau * (-math.log(fraction)) ** (1.0 / slope)
