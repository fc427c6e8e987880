"""A CsPbBr3 quantum-dot film under constant UV excitation: its PL over illumination time.

The film sits on a bench :class:`~simulators.bench.Pixel` like an LED but glows without
drive current (``photoluminescent = True``): the spectroradiometer simulators see
:meth:`PLFilm.spectral_radiance_W_sr_m2_nm`. Exposure starts at the first look at the film
(the operator opens the excitation shutter and starts logging together) and runs on the
bench's scaled clock, so hours of photo-degradation take seconds at ``time_scale`` 3600.

Model (phenomenological, with closed-form truth)::

    I(t)/I(0) = [1 + b·(1 − exp(−t/t_b))] · exp[−(t/τ)^β]
    λ_peak(t) = λ0 + Δλ·(1 − exp(−t/τ)),   FWHM(t) = w0 + Δw·(1 − exp(−t/τ))

Light soaking first brightens perovskite QD films (trap filling / photo-annealing, b, t_b)
before moisture- and oxygen-assisted photo-degradation (stretched exponential, the form
used for LED lifetimes) dims them and the QDs fuse (red shift, broadening). Shapes after
e.g. Xu et al.'s Fig. S10 (seed paper: 365 nm, ambient air, RH 40 %); the presets are
illustrative, not fits.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize

__all__ = ["PLFilmParameters", "PLFilm"]


def _check(name, value, lo, hi, unit=""):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{name} = {value!r} is out of range: allowed {lo:g} … {hi:g} {unit}"
                         .rstrip())


@dataclass(frozen=True)
class PLFilmParameters:
    """True parameters of a PL film (defaults: passivated CsPbBr3 QD film)."""

    peak_radiance_W_sr_m2_nm: float = 0.04
    """Spectral radiance at the PL peak at t = 0 [W sr⁻¹ m⁻² nm⁻¹] (≈ 300 cd/m²)."""
    peak_nm: float = 517.0
    """PL peak at t = 0 [nm]."""
    fwhm_nm: float = 18.0
    """PL FWHM at t = 0 [nm] (Gaussian line)."""
    tau_s: float = 72_000.0
    """Degradation time constant τ [s]."""
    beta: float = 1.1
    """Stretch exponent β."""
    brightening_fraction: float = 0.15
    """b: relative brightening reached if there were no degradation."""
    brightening_time_s: float = 600.0
    """t_b: time constant of the brightening [s]."""
    peak_shift_nm: float = 1.0
    """Δλ: final peak shift [nm] (+: red)."""
    fwhm_change_nm: float = 1.5
    """Δw: final FWHM change [nm]."""

    def __post_init__(self):
        _check("peak_radiance_W_sr_m2_nm", self.peak_radiance_W_sr_m2_nm, 1e-9, 1e3)
        _check("peak_nm", self.peak_nm, 380.0, 780.0, "nm")
        _check("fwhm_nm", self.fwhm_nm, 1.0, 200.0, "nm")
        _check("tau_s", self.tau_s, 1.0, 1e9, "s")
        _check("beta", self.beta, 0.1, 3.0)
        _check("brightening_fraction", self.brightening_fraction, 0.0, 10.0)
        _check("brightening_time_s", self.brightening_time_s, 1e-3, 1e9, "s")
        _check("peak_shift_nm", self.peak_shift_nm, -50.0, 50.0, "nm")
        _check("fwhm_change_nm", self.fwhm_change_nm, -0.5 * self.fwhm_nm, 100.0, "nm")

    @classmethod
    def passivated(cls, **changes) -> "PLFilmParameters":
        """Bilaterally passivated film: slow decay (T50 ≈ 17 h), small shift."""
        return cls(**changes)

    @classmethod
    def pristine(cls, **changes) -> "PLFilmParameters":
        """Pristine film: dimmer, faster decay (T50 ≈ 2 h), red shift and broadening."""
        base = dict(peak_radiance_W_sr_m2_nm=0.022, peak_nm=516.0, fwhm_nm=19.0,
                    tau_s=9_000.0, beta=1.0, brightening_fraction=0.25,
                    brightening_time_s=600.0, peak_shift_nm=4.0, fwhm_change_nm=5.0)
        base.update(changes)
        return cls(**base)


class PLFilm:
    """A photoluminescent film on the bench; see the module docstring.

    Parameters
    ----------
    params : PLFilmParameters, optional
    clock : object with ``time()``, optional
        Usually attached by the bench (:meth:`attach_clock`).
    """

    photoluminescent = True

    def __init__(self, params: PLFilmParameters | None = None, clock=None):
        self.params = PLFilmParameters() if params is None else params
        if not isinstance(self.params, PLFilmParameters):
            raise ValueError(f"params = {params!r} is out of range: allowed a PLFilmParameters")
        self.clock = clock
        self.exposure_start_s: float | None = None

    def attach_clock(self, clock) -> None:
        """Use ``clock`` (the bench's) for the exposure time."""
        self.clock = clock

    # -- time-dependent state -----------------------------------------------------------
    def exposure_time_s(self) -> float:
        """Illumination time so far [s]; the first call starts the exposure."""
        if self.clock is None:
            return 0.0
        now = self.clock.time()
        if self.exposure_start_s is None:
            self.exposure_start_s = now
        return now - self.exposure_start_s

    def relative_intensity(self, time_s):
        """I(t)/I(0) of the model (array in, array out)."""
        p = self.params
        t = np.clip(np.asarray(time_s, dtype=float), 0.0, None)
        bright = 1.0 + p.brightening_fraction * (1.0 - np.exp(-t / p.brightening_time_s))
        return (bright * np.exp(-(t / p.tau_s) ** p.beta))[()]

    def peak_nm(self, time_s):
        p = self.params
        t = np.clip(np.asarray(time_s, dtype=float), 0.0, None)
        return (p.peak_nm + p.peak_shift_nm * (1.0 - np.exp(-t / p.tau_s)))[()]

    def fwhm_nm(self, time_s):
        p = self.params
        t = np.clip(np.asarray(time_s, dtype=float), 0.0, None)
        return (p.fwhm_nm + p.fwhm_change_nm * (1.0 - np.exp(-t / p.tau_s)))[()]

    def spectral_radiance_at(self, wavelength_nm, time_s) -> np.ndarray:
        """Spectral radiance [W sr⁻¹ m⁻² nm⁻¹] after ``time_s`` of exposure.

        A Gaussian line whose *area* follows I(t)/I(0) (broadening conserves the photons
        of the line; its height falls as FWHM grows).
        """
        p = self.params
        wl = np.asarray(wavelength_nm, dtype=float)
        w = float(self.fwhm_nm(time_s))
        sigma = w / (2.0 * math.sqrt(2.0 * math.log(2.0)))
        height = p.peak_radiance_W_sr_m2_nm * float(self.relative_intensity(time_s)) \
            * p.fwhm_nm / w
        return height * np.exp(-0.5 * ((wl - float(self.peak_nm(time_s))) / sigma) ** 2)

    def spectral_radiance_W_sr_m2_nm(self, wavelength_nm, current_A=None) -> np.ndarray:
        """Spectral radiance now (``current_A`` is ignored: the excitation is optical)."""
        return self.spectral_radiance_at(wavelength_nm, self.exposure_time_s())

    def current_A(self, voltage_V, direction: int = +1):
        """No electrodes: no current at any voltage [A]."""
        return (np.zeros_like(np.asarray(voltage_V, dtype=float)))[()]

    # -- truth -----------------------------------------------------------------------------
    def max_intensity(self) -> tuple[float, float]:
        """(time [s], I/I(0)) of the brightening maximum (t = 0, 1 if none)."""
        p = self.params
        if p.brightening_fraction == 0:
            return 0.0, 1.0
        res = optimize.minimize_scalar(lambda lt: -float(self.relative_intensity(math.exp(lt))),
                                       bounds=(math.log(1e-3), math.log(10 * p.tau_s)),
                                       method="bounded", options={"xatol": 1e-10})
        t, v = math.exp(float(res.x)), -float(res.fun)
        return (t, v) if v > 1.0 else (0.0, 1.0)

    def tx_s(self, fraction: float, reference: str = "initial") -> float:
        """Exposure time at which I falls to ``fraction`` of I(0) (``initial``) or of the
        maximum (``max``), after the maximum [s] (Brent root of the closed form)."""
        _check("fraction", fraction, 1e-6, 1.0 - 1e-9)
        if reference not in ("initial", "max"):
            raise ValueError(f"reference = {reference!r} is not allowed: use 'initial' or 'max'")
        t_max, i_max = self.max_intensity()
        level = fraction * (i_max if reference == "max" else 1.0)
        lo, hi = t_max, max(t_max, 1.0)
        while float(self.relative_intensity(hi)) > level:
            hi *= 2.0
        return float(optimize.brentq(lambda t: float(self.relative_intensity(t)) - level, lo, hi,
                                     xtol=1e-9, rtol=1e-12))

    def truth(self) -> dict:
        """True parameters and T80/T50 (both references), JSON-able."""
        t_max, i_max = self.max_intensity()
        return {"kind": "pl_film", "parameters": asdict(self.params),
                "time_of_max_s": t_max, "max_relative_intensity": i_max,
                "t80_s": self.tx_s(0.8), "t50_s": self.tx_s(0.5),
                "t80_from_max_s": self.tx_s(0.8, "max"), "t50_from_max_s": self.tx_s(0.5, "max"),
                "exposure_start_clock_s": self.exposure_start_s}
