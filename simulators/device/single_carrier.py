"""A simulated single-carrier (electron-only or hole-only) device for space-charge-limited
current analysis: ohmic region, trap-filled limit, Mott-Gurney, and mobile-ion hysteresis."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .common import EPS0_F_M, Q_C, _check_positive, _check_range, _jsonable, _out_of_range

def trap_filled_limit_voltage_V(trap_density_cm3, thickness_nm, epsilon_r):
    """V_TFL = q·n_t·L² / (2·ε_r·ε0) [V].

    Lampert, Phys. Rev. 103, 1648 (1956), doi:10.1103/PhysRev.103.1648; as used for
    perovskites by Bube, J. Appl. Phys. 33, 1733 (1962) and later SCLC trap-density work.
    """
    n_t = np.asarray(trap_density_cm3, dtype=float) * 1e6
    length = np.asarray(thickness_nm, dtype=float) * 1e-9
    return Q_C * n_t * length ** 2 / (2.0 * np.asarray(epsilon_r, float) * EPS0_F_M)


@dataclass(frozen=True)
class SingleCarrierParameters:
    """True parameters of an electron-only or hole-only device (defaults: passivated e-only).

    Trap densities of the presets are the SCLC values of Xu et al. (review file): electron
    2.12e18 → 1.05e18 cm⁻³ and hole 6.7e18 → 3.08e18 cm⁻³, pristine → passivated.
    """

    carrier: str = "electron"
    """Injected carrier, 'electron' or 'hole'."""
    trap_density_cm3: float = 1.05e18
    """Trap density n_t [cm⁻³]."""
    mobility_cm2_Vs: float = 1.0e-5
    """Trap-free drift mobility μ [cm²/(V·s)]."""
    thickness_nm: float = 50.0
    """Layer thickness L between the injecting contacts [nm]."""
    epsilon_r: float = 25.0
    """Static relative permittivity (CsPbBr3 ≈ 16-30)."""
    background_density_cm3: float = 2.0e15
    """Thermal free-carrier density n0 of the ohmic region [cm⁻³]."""
    area_cm2: float = 0.04
    """Device area [cm²]."""
    shallow_trap_factor: float = 1.0e-4
    """θ0: free/(free + trapped) carrier ratio below the trap-filled limit."""
    tfl_steepness: float = 8.0
    """Exponent m of the power-law rise of θ while traps fill (J ∝ V^(m+2) there)."""
    ion_hysteresis_fraction: float = 0.0
    """Mobile-ion hysteresis h: the apparent V_TFL is V_TFL·(1 ± h/2) on up (+1) / down (−1)
    sweeps (0 = off)."""

    def __post_init__(self):
        if self.carrier not in ("electron", "hole"):
            raise ValueError(f"carrier = {self.carrier!r} is out of range: allowed 'electron' "
                             "or 'hole'")
        for name in ("trap_density_cm3", "mobility_cm2_Vs", "thickness_nm", "epsilon_r",
                     "background_density_cm3", "area_cm2", "tfl_steepness"):
            _check_positive(name, getattr(self, name))
        _check_range("shallow_trap_factor", self.shallow_trap_factor, 1e-9, 0.1)
        _check_range("tfl_steepness", self.tfl_steepness, 4.0, 50.0)
        _check_range("ion_hysteresis_fraction", self.ion_hysteresis_fraction, 0.0, 1.0)
        _check_range("epsilon_r", self.epsilon_r, 1.0, 1000.0)

    @classmethod
    def electron_only(cls, passivated: bool = True, **changes) -> "SingleCarrierParameters":
        """ITO/TPBi/QDs/TPBi/LiF/Al electron-only device; n_t 1.05e18 (passivated) or
        2.12e18 cm⁻³ (pristine)."""
        base = dict(carrier="electron", trap_density_cm3=1.05e18 if passivated else 2.12e18,
                    mobility_cm2_Vs=1.0e-5, thickness_nm=50.0, background_density_cm3=2.0e15)
        base.update(changes)
        return cls(**base)

    @classmethod
    def hole_only(cls, passivated: bool = True, **changes) -> "SingleCarrierParameters":
        """ITO/PEDOT:PSS/PTAA/QDs/TPD/Al hole-only device; n_t 3.08e18 (passivated) or
        6.7e18 cm⁻³ (pristine).  A thinner QD layer (35 nm) keeps V_TFL at 1.4 / 3 V."""
        base = dict(carrier="hole", trap_density_cm3=3.08e18 if passivated else 6.7e18,
                    mobility_cm2_Vs=3.0e-6, thickness_nm=35.0, background_density_cm3=5.0e15)
        base.update(changes)
        return cls(**base)


class SingleCarrierDevice:
    """A single-carrier device whose J-V shows ohmic, trap-filled-limit and Mott-Gurney regions.

    .. math:: J = \\frac{q n_0 μ V}{L} + \\frac{9}{8}\\,\\frac{ε_r ε_0 μ\\,θ(V)\\,V^2}{L^3},
              \\qquad θ(V) = θ_0\\,\\frac{1 + (V/V_1)^m}{1 + θ_0 (V/V_1)^m}

    Ohmic (log-log slope 1) at low bias; where the traps fill, θ rises from θ0 to 1 as a power
    law, so J ∝ V^(m+2) (slope ≫ 3, the form an exponential trap tail gives: Mark & Helfrich,
    J. Appl. Phys. 33, 205 (1962), doi:10.1063/1.1728487); then trap-free Mott-Gurney
    J = (9/8)ε_r ε0 μ V²/L³ (slope 2; Mott & Gurney, Electronic Processes in Ionic Crystals,
    1940).  Mapping of V_TFL onto the curve: V1 is placed (bracketed Brent) so that the
    tangent to log J vs log V at its steepest point meets the ohmic line q n0 μ V/L exactly
    at V_TFL = q n_t L²/(2 ε_r ε0) (Lampert, Phys. Rev. 103, 1648 (1956)) — the kink between
    the slope-1 and steep segments that a standard analysis reads.  A line fitted to the
    straight part of the steep segment (slope ≥ 0.8 × maximum) reads V_TFL within ≈ 3 %; one
    fitted to every point with slope > 3 takes in the rounded lower corner and reads ≈ 10 %
    low.  Odd in V (symmetric contacts).
    """

    def __init__(self, params: SingleCarrierParameters | None = None):
        self.params = SingleCarrierParameters() if params is None else params
        if not isinstance(self.params, SingleCarrierParameters):
            raise ValueError(f"params = {params!r} is out of range: allowed a "
                             "SingleCarrierParameters")

    @property
    def v_tfl_V(self) -> float:
        """True trap-filled-limit voltage q·n_t·L²/(2ε_r ε0) [V]."""
        p = self.params
        return float(trap_filled_limit_voltage_V(p.trap_density_cm3, p.thickness_nm,
                                                 p.epsilon_r))

    @property
    def _ohmic_A_per_V(self) -> float:
        p = self.params
        return (Q_C * p.background_density_cm3 * 1e6 * p.mobility_cm2_Vs * 1e-4
                / (p.thickness_nm * 1e-9) * p.area_cm2 * 1e-4)

    @property
    def _mott_gurney_A_per_V2(self) -> float:
        p = self.params
        return (9.0 / 8.0 * p.epsilon_r * EPS0_F_M * p.mobility_cm2_Vs * 1e-4
                / (p.thickness_nm * 1e-9) ** 3 * p.area_cm2 * 1e-4)

    def _theta(self, v_abs, log_v1):
        """θ(V) = θ0·(1 + x) / (1 + θ0·x) with x = (V/V1)^m."""
        th0 = self.params.shallow_trap_factor
        x = np.exp(np.minimum(self.params.tfl_steepness * (np.log(v_abs) - log_v1), 700.0))
        return th0 * (1.0 + x) / (1.0 + th0 * x)

    def _current(self, v_abs, log_v1):
        return (self._ohmic_A_per_V * v_abs
                + self._mott_gurney_A_per_V2 * self._theta(v_abs, log_v1) * v_abs ** 2)

    def _log_slope(self, v_abs, log_v1):
        """d ln J / d ln V, analytic."""
        th0, m = self.params.shallow_trap_factor, self.params.tfl_steepness
        x = np.exp(np.minimum(m * (np.log(v_abs) - log_v1), 700.0))
        theta = th0 * (1.0 + x) / (1.0 + th0 * x)
        dtheta = th0 * (1.0 - th0) * m * x / (1.0 + th0 * x) ** 2     # dθ/d ln V
        a, b = self._ohmic_A_per_V, self._mott_gurney_A_per_V2
        return (a * v_abs + b * v_abs ** 2 * (2.0 * theta + dtheta)) / self._current(v_abs,
                                                                                   log_v1)

    def _tangent_kink_V(self, log_v1):
        """Where the tangent at the steepest log-log point meets the ohmic line A·V [V]."""
        m = self.params.tfl_steepness
        lo, hi = log_v1 - 2.0, log_v1 + 12.0 / m + 2.0
        grid = np.linspace(lo, hi, 801)
        k = int(np.argmax(self._log_slope(np.exp(grid), log_v1)))
        res = optimize.minimize_scalar(
            lambda t: -float(self._log_slope(math.exp(t), log_v1)),
            bounds=(grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]), method="bounded",
            options={"xatol": 1e-12})
        t_star, s_star = res.x, -res.fun
        ln_j = math.log(float(self._current(math.exp(t_star), log_v1)))
        return math.exp((ln_j - s_star * t_star - math.log(self._ohmic_A_per_V))
                        / (1.0 - s_star))

    def _log_v1(self, v_tfl):
        """ln V1 placing the tangent kink exactly at ``v_tfl`` (Brent, bracketed, cached)."""
        cache = self.__dict__.setdefault("_v1_cache", {})
        if v_tfl not in cache:
            m = self.params.tfl_steepness
            # Start: the steep asymptote B·θ0·(V/V1)^m·V² meets A·V at v_tfl.
            guess = math.log(v_tfl) + math.log(
                self._mott_gurney_A_per_V2 * self.params.shallow_trap_factor * v_tfl
                / self._ohmic_A_per_V) / m
            f = lambda lv1: math.log(self._tangent_kink_V(lv1) / v_tfl)  # noqa: E731
            cache[v_tfl] = optimize.brentq(f, guess - 1.0, guess + 1.0, xtol=1e-13)
        return cache[v_tfl]

    def log_log_slope(self, voltage_V, direction: int = +1):
        """Local slope d ln|J| / d ln|V| of the J-V curve (exact, for checks and plots)."""
        v_abs = np.abs(np.asarray(voltage_V, dtype=float))
        return self._log_slope(v_abs, self._log_v1(self.apparent_v_tfl_V(direction)))[()]

    def apparent_v_tfl_V(self, direction: int = +1) -> float:
        """V_TFL seen on an up (+1) or down (−1) sweep: V_TFL·(1 ± h/2) with ion hysteresis."""
        if direction not in (1, -1):
            raise _out_of_range("direction", direction, "+1 (up sweep) or -1 (down sweep)")
        return self.v_tfl_V * (1.0 + 0.5 * direction * self.params.ion_hysteresis_fraction)

    def current_A(self, voltage_V, direction: int = +1):
        """Current [A] at ``voltage_V`` [V] on an up (+1) or down (−1) sweep; odd in V.

        The hysteresis option shifts the trap-filled limit by ±h/2 (mobile ions screening the
        field, Duijnstee et al., ACS Energy Lett. 5, 376 (2020),
        doi:10.1021/acsenergylett.9b02720); with h = 0 both directions coincide.
        """
        v = np.asarray(voltage_V, dtype=float)
        log_v1 = self._log_v1(self.apparent_v_tfl_V(direction))
        v_abs = np.abs(v)
        i = self._current(np.where(v_abs > 0, v_abs, 1.0), log_v1)
        return (np.sign(v) * np.where(v_abs > 0, i, 0.0))[()]

    def current_density_mA_cm2(self, voltage_V, direction: int = +1):
        """J [mA/cm²] = current_A / area."""
        return self.current_A(voltage_V, direction) * 1e3 / self.params.area_cm2

    def truth(self) -> dict:
        """True parameters and derived SCLC figures, JSON-able."""
        p = self.params
        return _jsonable(dict(
            kind="single_carrier",
            parameters=dataclasses.asdict(p),
            carrier=p.carrier,
            trap_density_cm3=p.trap_density_cm3,
            mobility_cm2_Vs=p.mobility_cm2_Vs,
            thickness_nm=p.thickness_nm,
            epsilon_r=p.epsilon_r,
            area_cm2=p.area_cm2,
            v_tfl_V=self.v_tfl_V,
            v_tfl_up_V=self.apparent_v_tfl_V(+1),
            v_tfl_down_V=self.apparent_v_tfl_V(-1),
            trap_filling_asymptotic_slope=p.tfl_steepness + 2.0,
            max_log_log_slope=float(np.max(self.log_log_slope(
                np.geomspace(0.5, 4.0, 2001) * self.v_tfl_V))),
            ohmic_conductance_S=self._ohmic_A_per_V,
            mott_gurney_coefficient_A_V2=self._mott_gurney_A_per_V2,
        ))
