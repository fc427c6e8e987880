"""Trap cutoff frequency from N_DL(f): the Debye response of a single trap level and the
least-squares step that locates its cutoff (re-exported by :mod:`analysis.dlcp`).

Pure functions of arrays.

References
----------
J. T. Heath, J. D. Cohen, W. N. Shafarman, J. Appl. Phys. 95, 1000 (2004),
doi:10.1063/1.1633982 — states follow the test signal when their emission rate exceeds
about ω = 2πf. T. Walter, R. Herberholz, C. Müller, H. W. Schock, J. Appl. Phys. 80, 4411
(1996), doi:10.1063/1.363401.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

__all__ = ["trap_response_fraction", "CutoffFit", "trap_cutoff_frequency"]


def trap_response_fraction(frequency_Hz, cutoff_frequency_Hz):
    """g(f) = 1 / (1 + (f/f_c)²): fraction of traps following a signal at ``frequency_Hz``.

    Debye response of a single trap level with emission rate e_t = 2π·f_c (states follow
    when e_t ≳ ω = 2πf; Heath et al. 2004; Walter et al., J. Appl. Phys. 80, 4411 (1996),
    doi:10.1063/1.363401).
    """
    f = np.asarray(frequency_Hz, dtype=float)
    return 1.0 / (1.0 + (f / cutoff_frequency_Hz) ** 2)


@dataclass(frozen=True)
class CutoffFit:
    """Fit of N(f) = N_high + (N_low − N_high)·g(f); f_c with its standard error."""

    cutoff_frequency_Hz: float
    cutoff_frequency_std_Hz: float
    n_low_cm3: float
    n_high_cm3: float
    bracketed: bool
    """True when f_c lies between the lowest and highest measured frequency."""
    step_std_cm3: float = math.nan
    """Standard error of the step height N_low − N_high [cm⁻³]."""

    @property
    def located(self) -> bool:
        """Bracketed, a step above 3 standard errors, and f_c known to better than ±50 %."""
        step = self.n_low_cm3 - self.n_high_cm3
        return bool(self.bracketed and math.isfinite(self.cutoff_frequency_std_Hz)
                    and self.cutoff_frequency_std_Hz < 0.5 * self.cutoff_frequency_Hz
                    and math.isfinite(self.step_std_cm3) and step > 3.0 * self.step_std_cm3)

    def to_dict(self):
        return {"trap_cutoff_frequency_Hz": self.cutoff_frequency_Hz,
                "trap_cutoff_frequency_std_Hz": self.cutoff_frequency_std_Hz,
                "n_low_frequency_cm3": self.n_low_cm3, "n_high_frequency_cm3": self.n_high_cm3,
                "step_std_cm3": self.step_std_cm3, "cutoff_bracketed": self.bracketed,
                "cutoff_located": self.located}


def trap_cutoff_frequency(frequency_Hz, n_dl_cm3, n_dl_std_cm3=None) -> CutoffFit:
    """Locate the trap cutoff f_c from N_DL(f): least-squares step N_high + ΔN·g(f).

    Fits ln f_c, N_low and N_high (scipy.optimize.curve_fit; weights 1/σ² when
    ``n_dl_std_cm3`` is given, else relative residuals). The standard error of f_c is
    f_c·σ(ln f_c) from the covariance. Needs ≥ 4 distinct frequencies; f_c outside the
    measured span is returned with ``bracketed = False`` (an extrapolation: do not trust);
    ``located`` also asks for a step N_low − N_high above 3 standard errors and σ(f_c) <
    f_c/2 (a flat N(f), e.g. a trap-free junction, has no cutoff).

    Parameters
    ----------
    frequency_Hz : array_like
        Test frequencies [Hz] (> 0, any order; repeats allowed).
    n_dl_cm3 : array_like
        N_DL [cm⁻³] at each frequency (same depth, e.g. the shallowest profile point).
    n_dl_std_cm3 : array_like, optional
        Standard errors [cm⁻³].
    """
    f = np.asarray(frequency_Hz, dtype=float).ravel()
    n = np.asarray(n_dl_cm3, dtype=float).ravel()
    if f.size != n.size:
        raise ValueError("frequency_Hz and n_dl_cm3 must have the same length")
    s = None if n_dl_std_cm3 is None else np.asarray(n_dl_std_cm3, float).ravel()
    ok = np.isfinite(f) & np.isfinite(n) & (f > 0)
    if s is not None:
        ok &= np.isfinite(s) & (s > 0)
    if np.unique(f[ok]).size < 4:
        raise ValueError("frequency_Hz: need ≥ 4 distinct frequencies with a finite N_DL to "
                         "locate the trap cutoff (allowed 20 Hz … 2 MHz, spanning the step)")
    f, n = f[ok], n[ok]
    s = s[ok] if s is not None else None
    scale = float(np.nanmax(np.abs(n)))
    lf = np.log(f)
    o = np.argsort(f)
    n_lo0, n_hi0 = n[o][0] / scale, n[o][-1] / scale
    mid = 0.5 * (n_lo0 + n_hi0)
    crossing = np.interp(-mid, -n[o] / scale, lf[o]) if n_lo0 > n_hi0 else lf.mean()

    def model(lfv, lfc, a_lo, a_hi):
        return a_hi + (a_lo - a_hi) / (1.0 + np.exp(2.0 * (lfv - lfc)))

    sigma = (s / scale) if s is not None else None
    try:
        p, cov = optimize.curve_fit(model, lf, n / scale, p0=(crossing, n_lo0, n_hi0),
                                    sigma=sigma, absolute_sigma=sigma is not None,
                                    maxfev=5000)
    except (RuntimeError, optimize.OptimizeWarning) as exc:
        raise ValueError(f"n_dl_cm3: no frequency step could be fitted ({exc})") from None
    fc = float(math.exp(p[0]))
    finite = np.all(np.isfinite(cov))
    var = cov[0, 0] if finite else math.nan
    step_var = cov[1, 1] + cov[2, 2] - 2.0 * cov[1, 2] if finite else math.nan
    return CutoffFit(cutoff_frequency_Hz=fc,
                     cutoff_frequency_std_Hz=fc * math.sqrt(var) if var >= 0 else math.nan,
                     n_low_cm3=float(p[1] * scale), n_high_cm3=float(p[2] * scale),
                     bracketed=bool(f.min() < fc < f.max()),
                     step_std_cm3=scale * math.sqrt(step_var) if step_var >= 0 else math.nan)
