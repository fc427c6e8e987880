"""Ageing of a simulated LED pixel under drive: stretched-exponential luminance decay with the
luminance acceleration law, voltage rise and optional brightening (a mixin of
:class:`~simulators.device.led.LEDDevice`)."""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from .common import _check_positive, _check_range, _out_of_range


class AgeingMixin:
    """The ageing state and laws of an LED pixel (uses ``self.params``)."""

    def reset_ageing(self) -> None:
        """Return to the fresh (t = 0) state."""
        self._damage = 0.0           # Σ dt/τ(I): equivalent stress time in units of τ
        self._forward_time_s = 0.0   # time under forward current (drives the brightening)

    def lifetime_tau_s(self, l0_cd_m2):
        """Characteristic time τ(L0) = τ_ref·(L_ref/L0)^n [s] of the stretched exponential.

        Acceleration law L0^n·T = const (e.g. Féry et al., Appl. Phys. Lett. 87, 213502
        (2005), doi:10.1063/1.2133922); τ_ref = T50_ref / (ln 2)^(1/β).
        """
        p = self.params
        tau_ref = p.t50_ref_s / math.log(2.0) ** (1.0 / p.stretch_exponent)
        if isinstance(l0_cd_m2, float):      # the simulator's per-exchange path: no arrays
            if not l0_cd_m2 > 0:
                return math.inf
            return tau_ref * (p.lifetime_ref_luminance_cd_m2 / l0_cd_m2) \
                ** p.acceleration_exponent
        l0 = np.asarray(l0_cd_m2, dtype=float)
        with np.errstate(divide="ignore"):
            return np.where(l0 > 0, tau_ref * (p.lifetime_ref_luminance_cd_m2
                                               / np.where(l0 > 0, l0, 1.0))
                            ** p.acceleration_exponent, np.inf)[()]

    def tx_s(self, fraction, l0_cd_m2):
        """True T_x [s]: time at constant current for L/L0 to fall to ``fraction``.

        Without brightening, T_x = τ·(−ln x)^(1/β) for L/L0 = exp[−(t/τ)^β].  With
        brightening the factor (1 + B(1 − e^(−t/t_b)))·exp[−(t/τ)^β] is solved for the last
        crossing by bracketing (Brent), exact to 1e-12 relative.
        """
        _check_range("fraction", float(fraction), 1e-12, 1.0 - 1e-12)
        _check_positive("l0_cd_m2", float(l0_cd_m2), "cd/m²")
        p = self.params
        tau = float(self.lifetime_tau_s(l0_cd_m2))
        closed = tau * (-math.log(fraction)) ** (1.0 / p.stretch_exponent)
        if p.brightening_fraction == 0.0:
            return closed
        b, tb, beta = p.brightening_fraction, p.brightening_time_s, p.stretch_exponent

        def excess(log_t):
            t = math.exp(log_t)
            return (math.log1p(b * -math.expm1(-t / tb)) - (t / tau) ** beta
                    - math.log(fraction))

        # The factor ends below x: bracket from the closed form (lower bound) upward.
        hi = math.log(closed) + 1.0
        while excess(hi) > 0:
            hi += 1.0
        lo = math.log(closed)
        return math.exp(optimize.brentq(excess, lo, hi, xtol=1e-14, rtol=1e-14))

    def t50_s(self, l0_cd_m2):
        """True T50 [s] at initial luminance ``l0_cd_m2``: τ·(ln 2)^(1/β) (see :meth:`tx_s`)."""
        return self.tx_s(0.5, l0_cd_m2)

    def age(self, dt_s: float, current_A: float, tau_s: float | None = None) -> None:
        """Advance the ageing state by ``dt_s`` seconds of stress at constant ``current_A``.

        Cumulative damage (Miner's rule): each interval adds dt/τ(L0(I)) to an equivalent
        age D, where L0(I) is the fresh luminance at that current; the decay term is
        exp(−D^β).  At constant current this is exactly exp[−(t/τ)^β]; when the current
        changes, L/L0 stays continuous and continues along the new current's curve from the
        equivalent time τ_new·D (the "equivalent-age" rule).  Zero or reverse current does
        not age the device. ``tau_s``: τ(L0(I)) [s] when the caller already knows it (the
        bench memoises it per current), else computed here.
        """
        _check_range("dt_s", float(dt_s), 0.0, math.inf, "s")
        i = float(current_A)
        if not math.isfinite(i):
            raise _out_of_range("current_A", current_A, "a finite current in A")
        if i <= 0 or dt_s == 0:
            return
        if tau_s is None:
            tau_s = float(self.lifetime_tau_s(float(self.luminance_cd_m2(i, aged=False))))
        self._damage += dt_s / tau_s
        self._forward_time_s += dt_s

    @property
    def equivalent_age(self) -> float:
        """Accumulated damage D = Σ dt/τ (dimensionless; D = 1 at t = τ)."""
        return self._damage

    @property
    def decay_factor(self) -> float:
        """Decay term exp(−D^β) of L/L0 (no brightening)."""
        return math.exp(-self._damage ** self.params.stretch_exponent)

    @property
    def luminance_factor(self) -> float:
        """L/L0 of the present ageing state: (1 + B(1 − e^(−t_fwd/t_b)))·exp(−D^β).

        Multiplies the EQE, hence luminance and radiance at any current.
        """
        p = self.params
        bright = 1.0 + p.brightening_fraction * -math.expm1(-self._forward_time_s
                                                             / p.brightening_time_s)
        return bright * self.decay_factor

    @property
    def ageing_voltage_V(self) -> float:
        """Extra junction voltage of the aged device [V]: 2·ΔV50·(1 − exp(−D^β)).

        Proportional to the decayed fraction, equal to ``voltage_rise_at_t50_V`` at T50.
        """
        return 2.0 * self.params.voltage_rise_at_t50_V * (1.0 - self.decay_factor)
