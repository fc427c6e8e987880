"""Time-resolved photoluminescence (TCSPC) decays: multi-exponential fits, with or without IRF.

Model (Lakowicz, *Principles of Fluorescence Spectroscopy*, 3rd ed., Springer 2006, ch. 4,
doi:10.1007/978-0-387-46312-4):

    I(t) = Σ_i A_i·exp(−t/τ_i) + B

* **tail fit** (no IRF): fitted from the channel after the peak, t measured from the peak;
  valid when every τ is ≫ the instrument response width.
* **reconvolution** (IRF given): the impulse response Σ A_i·exp(−t/τ_i)·H(t) is convolved
  on the data grid with the IRF normalised to unit sum and shifted by a fitted ``shift_ns``
  (linear interpolation; the IRF is usually recorded with a small delay offset), plus B.

Fitting is Poisson maximum likelihood: the signed deviance residuals
sign(y − m)·√(2(m − y + y·ln(y/m))) are minimised by ``scipy.optimize.least_squares``
(Laurence & Chromy, Nat. Methods 7, 338 (2010), doi:10.1038/nmeth.1447 — least squares
with Neyman weights 1/y biases τ at low counts). Uncertainties: (JᵀJ)⁻¹ at the optimum
(the inverse Fisher information), propagated to τ_amp and τ_int. Goodness of fit: Pearson
reduced χ² = Σ(y − m)²/m / (n − p).

Reported: τ_i, A_i, fractional intensities f_i = A_iτ_i / Σ A_jτ_j, amplitude fractions
α_i = A_i/ΣA_j, the amplitude-weighted τ_amp = ΣA_iτ_i/ΣA_i and the intensity-weighted
τ_int = ΣA_iτ_i²/ΣA_iτ_i (Lakowicz ch. 4.10) — which "average lifetime" a paper quotes must
be stated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

__all__ = ["parse_decay_table", "multiexp_decay", "reconvolved_decay", "DecayFit", "fit_decay",
           "average_lifetimes_ns"]


# ----------------------------------------------------------------------------- input
def parse_decay_table(text: str, name: str = "decay") -> tuple[np.ndarray, np.ndarray]:
    """A two-column decay ``time_ns, counts`` from its text (comma, tab or space; ``#``
    comments and one header line allowed) → (time_ns, counts) as float arrays.

    Raises ValueError (one line, naming ``name``, e.g. the file) for fewer than 10 rows,
    non-increasing or non-uniform time steps (TCSPC channels are uniform), or negative /
    non-finite counts.
    """
    rows = []
    for line in str(text).splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").replace(";", " ").replace("\t", " ").split()
        try:
            rows.append([float(p) for p in parts[:2]])
        except ValueError:
            if rows:  # a header is only allowed before the data
                raise ValueError(f"{name}: cannot read row {line[:40]!r}: allowed "
                                 "two numbers 'time_ns, counts'") from None
            continue
    data = np.asarray([r for r in rows if len(r) == 2], dtype=float)
    if data.shape[0] < 10:
        raise ValueError(f"{name}: {data.shape[0]} rows of 'time_ns, counts': allowed "
                         "at least 10")
    t, y = data[:, 0], data[:, 1]
    _check_decay(t, y, name)
    return t, y


def _check_decay(t, y, what="decay"):
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError(f"{what}: time_ns and counts differ in shape: allowed equal 1-D arrays")
    if t.size < 10:
        raise ValueError(f"{what}: {t.size} points: allowed at least 10")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
        raise ValueError(f"{what}: NaN or infinite values: allowed finite numbers only")
    if np.any(y < 0):
        raise ValueError(f"{what}: negative counts: allowed counts ≥ 0 (raw TCSPC histogram)")
    dt = np.diff(t)
    if np.any(dt <= 0):
        raise ValueError(f"{what}: time_ns is not increasing: allowed strictly increasing "
                         "channels")
    if np.ptp(dt) > 1e-3 * np.mean(dt):
        raise ValueError(f"{what}: time steps vary from {dt.min():g} to {dt.max():g} ns: "
                         "allowed uniform channels (within 0.1 %)")


# ----------------------------------------------------------------------------- models
def multiexp_decay(time_ns, amplitudes, taus_ns, background=0.0):
    """Σ A_i·exp(−t/τ_i) + B for t ≥ 0 (0 + B before t = 0)."""
    t = np.asarray(time_ns, dtype=float)
    out = np.zeros_like(t)
    for a, tau in zip(np.atleast_1d(amplitudes), np.atleast_1d(taus_ns)):
        out += a * np.exp(-np.clip(t, 0, None) / tau)
    return np.where(t >= 0, out, 0.0) + background


def _impulse_kernels(n, dt, taus):
    """exp(−k·dt/τ) for k = 0 … n−1, the k = 0 channel halved (trapezoid rule at the step)."""
    k = np.arange(n) * dt
    kern = np.exp(-k[None, :] / np.asarray(taus, float)[:, None])
    kern[:, 0] *= 0.5
    return kern


def _shifted_irf(irf, shift_channels):
    n = irf.size
    x = np.arange(n, dtype=float)
    shifted = np.interp(x - shift_channels, x, irf, left=0.0, right=0.0)
    s = shifted.sum()
    return shifted / s if s > 0 else shifted


def _convolve(irf, kernel):
    n = irf.size
    m = 1 << int(math.ceil(math.log2(2 * n)))
    return np.fft.irfft(np.fft.rfft(irf, m) * np.fft.rfft(kernel, m), m)[:n]


def reconvolved_decay(time_ns, irf_counts, amplitudes, taus_ns, background=0.0, shift_ns=0.0):
    """IRF ⊛ Σ A_i·exp(−t/τ_i)·H(t) + B on the uniform grid ``time_ns``.

    The IRF is normalised to unit sum, so A_i is in counts per channel of the impulse
    response at t = 0 (the IRF's time origin is the grid's first channel).
    """
    t = np.asarray(time_ns, dtype=float)
    dt = float(t[1] - t[0])
    irf = _shifted_irf(np.asarray(irf_counts, float), shift_ns / dt)
    kern = _impulse_kernels(t.size, dt, taus_ns)
    decay = np.asarray(amplitudes, float) @ kern
    return _convolve(irf, decay) + background


# ----------------------------------------------------------------------------- results
def average_lifetimes_ns(amplitudes, taus_ns) -> tuple[float, float]:
    """(τ_amp, τ_int) = (ΣA_iτ_i/ΣA_i, ΣA_iτ_i²/ΣA_iτ_i) [ns] (Lakowicz ch. 4)."""
    a = np.asarray(amplitudes, float)
    tau = np.asarray(taus_ns, float)
    if a.shape != tau.shape or a.size == 0 or np.any(tau <= 0) or a.sum() <= 0:
        raise ValueError("amplitudes and taus_ns: allowed equal, non-empty arrays with τ > 0 "
                         "and ΣA > 0")
    return float((a * tau).sum() / a.sum()), float((a * tau ** 2).sum() / (a * tau).sum())


@dataclass
class DecayFit:
    """Result of :func:`fit_decay` (times in ns; amplitudes in counts per channel)."""

    method: str
    n_components: int
    taus_ns: list
    taus_err_ns: list
    amplitudes: list
    amplitudes_err: list
    intensity_fractions: list
    amplitude_fractions: list
    tau_amp_ns: float
    tau_amp_err_ns: float
    tau_int_ns: float
    tau_int_err_ns: float
    background: float
    background_err: float
    shift_ns: float
    shift_err_ns: float
    reduced_chi2: float
    fit_range_ns: list
    n_points: int
    time_ns: np.ndarray = field(repr=False, default=None)
    counts: np.ndarray = field(repr=False, default=None)
    model: np.ndarray = field(repr=False, default=None)
    fitted: np.ndarray = field(repr=False, default=None)

    @property
    def weighted_residuals(self) -> np.ndarray:
        """(y − m)/√m on the fitted channels (Pearson residuals)."""
        m = np.clip(self.model, 1e-12, None)
        return np.where(self.fitted, (self.counts - self.model) / np.sqrt(m), np.nan)

    def to_dict(self) -> dict:
        skip = {"time_ns", "counts", "model", "fitted"}
        return {k: v for k, v in self.__dict__.items() if k not in skip}


def _deviance_residuals(y, m):
    m = np.clip(m, 1e-12, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / m), 0.0)
    d = np.clip(2.0 * (m - y + term), 0.0, None)
    return np.sign(y - m) * np.sqrt(d)


def fit_decay(time_ns, counts, n_components: int = 1, *, irf=None, fit_range_ns=None,
              initial_taus_ns=None) -> DecayFit:
    """Fit 1–3 exponentials plus background by Poisson maximum likelihood.

    Parameters
    ----------
    time_ns, counts : array_like
        Uniform TCSPC channels [ns] and counts (≥ 0).
    n_components : {1, 2, 3}
    irf : array_like, optional
        Instrument response counts on the same channels; given → reconvolution fit with a
        fitted shift, otherwise a tail fit from the channel after the peak.
    fit_range_ns : (float, float), optional
        Channels used [ns] (default: all for reconvolution, peak+1 … end for the tail fit).
    initial_taus_ns : sequence of float, optional
        Starting lifetimes (default: log-spaced over the window, several starts tried).

    Returns
    -------
    DecayFit
    """
    if n_components not in (1, 2, 3):
        raise ValueError(f"n_components = {n_components!r} is out of range: allowed 1, 2 or 3")
    t = np.asarray(time_ns, dtype=float).ravel()
    y = np.asarray(counts, dtype=float).ravel()
    _check_decay(t, y)
    dt = float(t[1] - t[0])
    if irf is not None:
        irf = np.asarray(irf, dtype=float).ravel()
        if irf.shape != t.shape:
            raise ValueError(f"irf has {irf.size} channels, the decay {t.size}: allowed the "
                             "same channels")
        if not np.all(np.isfinite(irf)) or np.any(irf < 0) or irf.sum() <= 0:
            raise ValueError("irf: allowed finite counts ≥ 0 with a positive sum")
    if y.sum() <= 0:
        raise ValueError("counts are all zero: allowed a decay with counts")
    k_peak = int(np.argmax(y))
    if fit_range_ns is None:
        lo, hi = (t[0], t[-1]) if irf is not None else (t[min(k_peak + 1, t.size - 1)], t[-1])
    else:
        lo, hi = map(float, fit_range_ns)
        if not (t[0] <= lo < hi <= t[-1]):
            raise ValueError(f"fit_range_ns = {fit_range_ns!r} is out of range: allowed "
                             f"{t[0]:g} ≤ start < stop ≤ {t[-1]:g} ns")
    sel = (t >= lo - 1e-9) & (t <= hi + 1e-9)
    n_par = 2 * n_components + 1 + (irf is not None)
    if sel.sum() <= n_par + 2:
        raise ValueError(f"{sel.sum()} channels in the fit range: allowed more than "
                         f"{n_par + 2} for {n_components} components")
    window = hi - lo
    t0 = t[k_peak] if irf is None else 0.0
    bg0 = max(float(np.median(y[: max(3, k_peak // 2)])) if k_peak > 6 else
              float(np.min(y[sel])), 0.0)

    def model(p):
        taus = np.exp(p[:n_components])
        amps = p[n_components:2 * n_components]
        bg = p[2 * n_components]
        if irf is None:
            return multiexp_decay(t - t0, amps, taus, bg)
        return reconvolved_decay(t, irf, amps, taus, bg, p[2 * n_components + 1])

    def residuals(p):
        return _deviance_residuals(y[sel], model(p)[sel])

    tau_lo, tau_hi = dt / 5.0, 20.0 * (t[-1] - t[0])
    starts = []
    if initial_taus_ns is not None:
        if len(initial_taus_ns) != n_components or min(initial_taus_ns) <= 0:
            raise ValueError(f"initial_taus_ns = {initial_taus_ns!r}: allowed {n_components} "
                             "values > 0 ns")
        starts.append(np.asarray(initial_taus_ns, float))
    else:
        for lo_f, hi_f in ((0.02, 0.4), (0.05, 0.8), (0.01, 0.2)):
            starts.append(np.geomspace(lo_f * window, hi_f * window, n_components)
                          if n_components > 1 else np.array([np.sqrt(lo_f * hi_f) * window]))
    best = None
    for taus0 in starts:
        taus0 = np.clip(taus0, tau_lo * 1.01, tau_hi * 0.99)
        p0 = _initial_amplitudes(t, y, sel, taus0, irf, t0, bg0, dt)
        lower = [math.log(tau_lo)] * n_components + [0.0] * n_components + [0.0]
        upper = [math.log(tau_hi)] * n_components + [np.inf] * n_components + [np.inf]
        if irf is not None:
            lower.append(-0.25 * (t[-1] - t[0]))
            upper.append(0.25 * (t[-1] - t[0]))
        p0 = np.clip(p0, np.asarray(lower) + 1e-12, np.asarray(upper) - 1e-12)
        try:
            res = optimize.least_squares(residuals, p0, bounds=(lower, upper), x_scale="jac",
                                         method="trf", max_nfev=4000)
        except ValueError:
            continue
        if best is None or res.cost < best.cost:
            best = res
    if best is None:
        raise ValueError("the fit did not converge from any starting point")
    return _result(best, model, t, y, sel, n_components, irf is not None, lo, hi)


def _initial_amplitudes(t, y, sel, taus, irf, t0, bg0, dt):
    """Weighted non-negative least squares for A_i, B at fixed τ_i (and zero shift)."""
    cols = []
    for tau in taus:
        if irf is None:
            cols.append(multiexp_decay(t - t0, [1.0], [tau])[sel])
        else:
            cols.append(reconvolved_decay(t, irf, [1.0], [tau])[sel])
    cols.append(np.ones(sel.sum()))
    a = np.column_stack(cols)
    w = 1.0 / np.sqrt(np.clip(y[sel], 1.0, None))
    coef, _ = optimize.nnls(a * w[:, None], y[sel] * w)
    coef = np.maximum(coef, 1e-6)
    p = list(np.log(taus)) + list(coef[:-1]) + [max(coef[-1], bg0, 1e-9)]
    if irf is not None:
        p.append(0.0)
    return np.asarray(p, float)


def _result(res, model, t, y, sel, n, reconv, lo, hi):
    p = res.x
    m = model(p)
    # (JᵀJ)⁻¹ of the deviance residuals ≈ inverse Fisher information (Poisson MLE)
    jac = res.jac
    try:
        cov = np.linalg.pinv(jac.T @ jac)
    except np.linalg.LinAlgError:
        cov = np.full((p.size, p.size), np.nan)
    taus = np.exp(p[:n])
    amps = p[n:2 * n]
    # τ = exp(u): σ_τ = τ·σ_u
    tau_err = taus * np.sqrt(np.clip(np.diag(cov)[:n], 0, None))
    amp_err = np.sqrt(np.clip(np.diag(cov)[n:2 * n], 0, None))
    order = np.argsort(taus)

    def averages(q):
        return np.array(average_lifetimes_ns(q[n:2 * n], np.exp(q[:n])))

    avg = averages(p)
    grad = np.zeros((2, p.size))
    for k in range(2 * n):
        h = 1e-6 * max(abs(p[k]), 1e-3)
        q1, q2 = p.copy(), p.copy()
        q1[k] += h
        q2[k] -= h
        grad[:, k] = (averages(q1) - averages(q2)) / (2 * h)
    avg_err = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", grad, cov, grad), 0, None))
    ys, ms = y[sel], np.clip(m[sel], 1e-12, None)
    chi2 = float(np.sum((ys - ms) ** 2 / ms) / max(sel.sum() - p.size, 1))
    at = amps * taus
    return DecayFit(
        method="reconvolution" if reconv else "tail",
        n_components=n,
        taus_ns=taus[order].tolist(), taus_err_ns=tau_err[order].tolist(),
        amplitudes=amps[order].tolist(), amplitudes_err=amp_err[order].tolist(),
        intensity_fractions=(at / at.sum())[order].tolist(),
        amplitude_fractions=(amps / amps.sum())[order].tolist(),
        tau_amp_ns=float(avg[0]), tau_amp_err_ns=float(avg_err[0]),
        tau_int_ns=float(avg[1]), tau_int_err_ns=float(avg_err[1]),
        background=float(p[2 * n]), background_err=float(math.sqrt(max(cov[2 * n, 2 * n], 0))),
        shift_ns=float(p[2 * n + 1]) if reconv else 0.0,
        shift_err_ns=float(math.sqrt(max(cov[-1, -1], 0))) if reconv else 0.0,
        reduced_chi2=chi2, fit_range_ns=[float(lo), float(hi)], n_points=int(sel.sum()),
        time_ns=t, counts=y, model=m, fitted=sel)
