"""Device physics of the simulated bench, with known truth.

Two kinds of device live here:

* :class:`LEDDevice` — a green CsPbBr3 quantum-dot LED pixel: exact diode I-V (Lambert W),
  EQE(J) with roll-off, an EL line whose radiance follows from photon counting, photometric
  luminance and chromaticity from the CIE tables in colour-science, stretched-exponential
  ageing with the luminance acceleration law, and a depletion-approximation junction that
  answers C-V and drive-level capacitance profiling (DLCP) with a frequency-dependent
  trap response.
* :class:`SingleCarrierDevice` — an electron-only or hole-only device for space-charge-
  limited-current (SCLC) analysis: ohmic region, trap-filled limit, Mott-Gurney.

Everything is deterministic; :class:`NoiseModel` is what the instrument simulators apply to
their readings.  Every physical constant comes from :mod:`scipy.constants`, every CIE table
from :mod:`colour`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cached_property

import colour
import numpy as np
from scipy import constants, optimize, special

__all__ = [
    "LEDParameters",
    "LEDDevice",
    "SingleCarrierParameters",
    "SingleCarrierDevice",
    "NoiseModel",
    "photopic_efficiency",
    "cie1931_cmfs",
]

Q_C = constants.e
H_J_S = constants.h
C_M_S = constants.c
KB_J_K = constants.k
EPS0_F_M = constants.epsilon_0
K_M_LM_W = float(colour.constants.CONSTANT_K_M)  # 683 lm/W, maximum photopic luminous efficacy

_V_LAMBDA = colour.colorimetry.SDS_LEFS_PHOTOPIC["CIE 1924 Photopic Standard Observer"]
_CMFS = colour.colorimetry.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
#: Wavelength grid [nm] of the CIE tables (360-830 nm, 1 nm) on which photometry is integrated.
CIE_WAVELENGTH_NM = np.asarray(_V_LAMBDA.wavelengths, dtype=float)
_V_VALUES = np.asarray(_V_LAMBDA.values, dtype=float)
_CMF_VALUES = np.asarray(_CMFS.values, dtype=float)
if not np.array_equal(np.asarray(_CMFS.wavelengths, dtype=float), CIE_WAVELENGTH_NM):
    raise RuntimeError("colour-science CIE 1931 CMFs and CIE 1924 V(lambda) grids differ")
# Trapezoid weights [nm] on the CIE grid.
_CIE_WEIGHTS_NM = np.gradient(CIE_WAVELENGTH_NM) * np.r_[0.5, np.ones(CIE_WAVELENGTH_NM.size - 2), 0.5]


def photopic_efficiency(wavelength_nm):
    """CIE 1924 photopic luminous efficiency V(λ) (dimensionless), linear between 1-nm table rows.

    Outside 360-830 nm the value is 0.
    """
    return np.interp(np.asarray(wavelength_nm, dtype=float), CIE_WAVELENGTH_NM, _V_VALUES,
                     left=0.0, right=0.0)


def cie1931_cmfs(wavelength_nm):
    """CIE 1931 2° colour-matching functions x̄, ȳ, z̄ → array (..., 3), linear between rows."""
    lam = np.asarray(wavelength_nm, dtype=float)
    return np.stack([np.interp(lam, CIE_WAVELENGTH_NM, _CMF_VALUES[:, i], left=0.0, right=0.0)
                     for i in range(3)], axis=-1)


def _out_of_range(name, value, allowed):
    return ValueError(f"{name} = {value!r} is out of range: allowed {allowed}")


def _check_positive(name, value, unit=""):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise _out_of_range(name, value, f"> 0 {unit}".rstrip() + " (finite)")


def _check_range(name, value, lo, hi, unit=""):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and lo <= value <= hi):
        raise _out_of_range(name, value, f"{lo:g} … {hi:g} {unit}".rstrip())


def _jsonable(value):
    """Plain floats, ints, strings and lists from numpy scalars/arrays, tuples and dicts."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# ----------------------------------------------------------------------------------------------
# LED
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LEDParameters:
    """True parameters of one LED pixel.  Defaults: bilateral-passivated green CsPbBr3 QD LED.

    The defaults reproduce the figures of Xu et al. (bilateral interfacial passivation of
    CsPbBr3 QD LEDs, Nat. Commun. 2022, and its review file): EQE max 18.7 %, EL peak 517 nm,
    luminance ≈ 2×10⁴ cd/m², T50 = 30 min at 1000 cd/m², trap densities ~1e18 cm⁻³.
    """

    # -- geometry and temperature
    area_cm2: float = 0.04
    """Pixel area, overlap of the electrodes [cm²]."""
    temperature_K: float = 300.0
    """Device temperature [K] (thermal voltage of the diode, trap emission rate)."""

    # -- diode I-V (single-diode model)
    saturation_current_A: float = 3.7e-13
    """Diode saturation current I0 [A]."""
    ideality_factor: float = 7.5
    """Diode ideality factor n (effective; QD LEDs with organic transport layers show 3-10)."""
    series_resistance_ohm: float = 250.0
    """Series resistance Rs [Ω] (contacts, transport layers)."""
    shunt_resistance_ohm: float = 5.0e7
    """Shunt (leakage) resistance Rsh [Ω]."""

    # -- external quantum efficiency
    eqe_max_fraction: float = 0.187
    """Peak external quantum efficiency (photons out per electron in), as a fraction."""
    eqe_peak_current_density_mA_cm2: float = 2.0
    """Current density at which EQE equals ``eqe_max_fraction`` exactly [mA/cm²]."""
    eqe_rise_exponent: float = 1.5
    """Low-J log-log slope a of EQE (trap-assisted losses, charge imbalance)."""
    eqe_rolloff_current_density_mA_cm2: float = 60.0
    """Roll-off current density J_r of the droop factor 1/(1+(J/J_r)^b) [mA/cm²]."""
    eqe_rolloff_exponent: float = 1.3
    """High-J roll-off exponent b (Auger, field-induced quenching, heating); b > 1 makes
    luminance peak and then fall."""

    # -- electroluminescence spectrum
    el_peak_nm: float = 517.0
    """EL peak wavelength at and below the red-shift reference current density [nm]."""
    el_fwhm_nm: float = 18.0
    """EL full width at half maximum in wavelength [nm]."""
    el_redshift_nm_per_decade: float = 0.0
    """Red shift of the EL peak per decade of J above the reference [nm] (0 = off)."""
    el_redshift_reference_mA_cm2: float = 1.0
    """Current density above which the red shift starts [mA/cm²]."""

    # -- operational lifetime (constant-current stress)
    t50_ref_s: float = 1800.0
    """T50 at the reference initial luminance [s] (30 min)."""
    lifetime_ref_luminance_cd_m2: float = 1000.0
    """Reference initial luminance L_ref of ``t50_ref_s`` [cd/m²]."""
    acceleration_exponent: float = 1.5
    """Exponent n of the acceleration law L0^n·T = const (dimensionless)."""
    stretch_exponent: float = 0.6
    """Stretch exponent β of L/L0 = exp[-(t/τ)^β] (dimensionless)."""
    voltage_rise_at_t50_V: float = 0.3
    """Rise of the drive voltage when L/L0 (decay term) has fallen to 0.5 [V]."""
    brightening_fraction: float = 0.0
    """Initial brightening: asymptotic relative gain B of 1 + B·(1 − exp(−t/t_b)) (0 = off)."""
    brightening_time_s: float = 60.0
    """Time constant t_b of the initial brightening [s] of forward-current time."""

    # -- junction (capacitance)
    epsilon_r: float = 25.0
    """Static relative permittivity of CsPbBr3 (reported 16-30; not the optical 4-5)."""
    layer_thickness_nm: float = 150.0
    """Thickness d of the layer in which the depletion region grows [nm]."""
    built_in_voltage_V: float = 1.8
    """Built-in voltage V_bi of the junction [V]."""
    profile_depth_nm: tuple = (0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 150.0)
    """Depths of the profile nodes from the junction [nm]; profiles are linear between nodes
    and constant beyond the last node."""
    free_carrier_density_cm3: tuple = (5e17, 5e17, 5e17, 5e17, 5e17, 5e17, 5e17)
    """Free-carrier (shallow dopant) density at the profile nodes [cm⁻³]."""
    trap_density_cm3: tuple = (2.0e18, 1.35e18, 1.05e18, 0.9e18, 0.85e18, 0.8e18, 0.8e18)
    """Deep-trap density at the profile nodes [cm⁻³] (interface-rich, bulk 8e17)."""
    trap_energy_eV: float = 0.40
    """Trap depth E_t below the band edge [eV]; sets the emission rate."""
    trap_attempt_frequency_Hz: float = 1.0e11
    """Attempt-to-escape frequency ν0 of the traps [s⁻¹]."""

    def __post_init__(self):
        for name in ("area_cm2", "temperature_K", "saturation_current_A", "ideality_factor",
                     "series_resistance_ohm", "shunt_resistance_ohm",
                     "eqe_peak_current_density_mA_cm2", "eqe_rise_exponent",
                     "eqe_rolloff_current_density_mA_cm2", "eqe_rolloff_exponent",
                     "el_peak_nm", "el_fwhm_nm", "el_redshift_reference_mA_cm2", "t50_ref_s",
                     "lifetime_ref_luminance_cd_m2", "acceleration_exponent",
                     "stretch_exponent", "brightening_time_s", "epsilon_r",
                     "layer_thickness_nm", "built_in_voltage_V", "trap_energy_eV",
                     "trap_attempt_frequency_Hz"):
            _check_positive(name, getattr(self, name))
        _check_range("eqe_max_fraction", self.eqe_max_fraction, 1e-6, 1.0)
        _check_range("el_peak_nm", self.el_peak_nm, 380.0, 780.0, "nm")
        _check_range("el_fwhm_nm", self.el_fwhm_nm, 1.0, 150.0, "nm")
        _check_range("el_redshift_nm_per_decade", self.el_redshift_nm_per_decade, 0.0, 50.0,
                     "nm")
        _check_range("voltage_rise_at_t50_V", self.voltage_rise_at_t50_V, 0.0, 20.0, "V")
        _check_range("brightening_fraction", self.brightening_fraction, 0.0, 10.0)
        _check_range("epsilon_r", self.epsilon_r, 1.0, 1000.0)
        depth = np.asarray(self.profile_depth_nm, dtype=float)
        n_free = np.asarray(self.free_carrier_density_cm3, dtype=float)
        n_trap = np.asarray(self.trap_density_cm3, dtype=float)
        if depth.ndim != 1 or depth.size < 1 or depth[0] != 0.0 or np.any(np.diff(depth) <= 0):
            raise ValueError(f"profile_depth_nm = {self.profile_depth_nm!r} is out of range: "
                             "allowed strictly increasing depths starting at 0 nm")
        if n_free.shape != depth.shape or not np.all(np.isfinite(n_free)) or np.any(n_free <= 0):
            raise ValueError(f"free_carrier_density_cm3 = {self.free_carrier_density_cm3!r} is "
                             f"out of range: allowed {depth.size} values > 0 cm⁻³")
        if n_trap.shape != depth.shape or not np.all(np.isfinite(n_trap)) or np.any(n_trap < 0):
            raise ValueError(f"trap_density_cm3 = {self.trap_density_cm3!r} is out of range: "
                             f"allowed {depth.size} values ≥ 0 cm⁻³")
        # The peak of R·D sits at J_peak only if the rise out-pulls the droop there.
        y = (self.eqe_peak_current_density_mA_cm2 / self.eqe_rolloff_current_density_mA_cm2
             ) ** self.eqe_rolloff_exponent
        if self.eqe_rolloff_exponent * y / (1.0 + y) >= 0.999 * self.eqe_rise_exponent:
            raise ValueError(
                f"eqe_peak_current_density_mA_cm2 = {self.eqe_peak_current_density_mA_cm2!r} is "
                "out of range: allowed b·y/(1+y) < a with y = (J_peak/J_r)^b (move J_peak "
                "below the roll-off)")

    # -- presets
    @classmethod
    def passivated(cls, **changes) -> "LEDParameters":
        """Bilateral-passivated device (the defaults): EQE 18.7 %, T50 = 30 min at 1000 cd/m²."""
        return cls(**changes)

    @classmethod
    def pristine(cls, **changes) -> "LEDParameters":
        """Unpassivated (pristine) device of the same paper: EQE max 7.7 %, T50 = 1.4 min at
        1000 cd/m², lower maximum luminance, more traps (electron/hole SCLC n_t 2.12e18 /
        6.7e18 cm⁻³; DLCP trap density ≈1.5× the passivated one)."""
        base = dict(
            saturation_current_A=1.0e-13, ideality_factor=7.0, series_resistance_ohm=120.0,
            shunt_resistance_ohm=2.0e7,
            eqe_max_fraction=0.077, eqe_peak_current_density_mA_cm2=1.0,
            eqe_rolloff_current_density_mA_cm2=25.0, eqe_rolloff_exponent=1.1,
            t50_ref_s=84.0, voltage_rise_at_t50_V=0.5,
            trap_density_cm3=(3.0e18, 2.0e18, 1.6e18, 1.35e18, 1.25e18, 1.2e18, 1.2e18),
        )
        base.update(changes)
        return cls(**base)

    @classmethod
    def uniform_junction(cls, free_carrier_density_cm3: float = 5e17, **changes
                         ) -> "LEDParameters":
        """DLCP / C-V calibration device: no traps, uniform doping, so N_DL = N_CV = N."""
        base = dict(profile_depth_nm=(0.0,),
                    free_carrier_density_cm3=(float(free_carrier_density_cm3),),
                    trap_density_cm3=(0.0,))
        base.update(changes)
        return cls(**base)

    def sampled(self, rng: np.random.Generator, spread_fraction: float = 0.03
                ) -> "LEDParameters":
        """One pixel of a batch: the same design with seeded pixel-to-pixel variation.

        EQE max, saturation current, series resistance and pixel area scatter by
        ``spread_fraction`` (relative sigma, log-normal); the EL peak by 0.5 nm · spread/0.03.
        """
        _check_range("spread_fraction", spread_fraction, 0.0, 0.3)
        z = rng.standard_normal(5)
        s = spread_fraction
        return dataclasses.replace(
            self,
            eqe_max_fraction=min(self.eqe_max_fraction * math.exp(s * z[0]), 1.0),
            saturation_current_A=self.saturation_current_A * math.exp(3 * s * z[1]),
            series_resistance_ohm=self.series_resistance_ohm * math.exp(s * z[2]),
            area_cm2=self.area_cm2 * math.exp(s / 3 * z[3]),
            el_peak_nm=self.el_peak_nm + 0.5 * (s / 0.03) * z[4],
        )


class LEDDevice:
    """A simulated LED pixel: exact physics of :class:`LEDParameters`, plus its ageing state.

    Parameters
    ----------
    params : LEDParameters, optional
        True parameters (default: the passivated green CsPbBr3 QD LED).
    rng : numpy.random.Generator, optional
        If given, the pixel's parameters are drawn around ``params`` with
        :meth:`LEDParameters.sampled` (device-to-device spread); :attr:`params` and
        :meth:`truth` hold the drawn values.  The device itself is deterministic.

    Notes
    -----
    Sign convention: forward bias and forward current are positive (anode positive).
    """

    def __init__(self, params: LEDParameters | None = None, *,
                 rng: np.random.Generator | None = None):
        params = LEDParameters() if params is None else params
        if not isinstance(params, LEDParameters):
            raise ValueError(f"params = {params!r} is out of range: allowed an LEDParameters")
        self.params = params.sampled(rng) if rng is not None else params
        self.reset_ageing()

    # ------------------------------------------------------------------ I-V (single diode)
    @property
    def thermal_voltage_V(self) -> float:
        """k_B·T/q [V]."""
        return KB_J_K * self.params.temperature_K / Q_C

    @property
    def _a_V(self) -> float:
        return self.params.ideality_factor * self.thermal_voltage_V

    def _ln_branch_scale(self, ageing_voltage_V):
        # The ageing voltage sits in the diode branch: I_d = I0·(exp((Vj − ΔV)/nVt) − 1).
        return math.log(self.params.saturation_current_A) - ageing_voltage_V / self._a_V

    @staticmethod
    def _solve_y(c, ln_k):
        """Root y of y = c − k·e^y (k > 0) in closed form, y = c − W(k·e^c).

        With z = ln k + c and w = W(e^z) = ω(z) (Wright omega, never overflows), two exact
        forms are used where each is free of cancellation: y = c − w for z < 0 and
        y = ln w − ln k (from w·e^w = k·e^c) for z ≥ 0.
        """
        z = ln_k + c
        w = special.wrightomega(z)
        with np.errstate(divide="ignore"):
            return np.where(z < 0.0, c - w, np.log(np.where(z < 0.0, 1.0, w)) - ln_k)

    def _branch_current_A(self, y, ageing_voltage_V):
        p = self.params
        return (p.saturation_current_A * np.expm1(y - ageing_voltage_V / self._a_V)
                + self._a_V * y / p.shunt_resistance_ohm)

    def _current_A(self, voltage_V, ageing_voltage_V):
        p = self.params
        a, rs, rsh, i0 = self._a_V, p.series_resistance_ohm, p.shunt_resistance_ohm, \
            p.saturation_current_A
        g = 1.0 / rs + 1.0 / rsh
        v = np.asarray(voltage_V, dtype=float)
        c = (v / rs + i0) / (a * g)
        ln_k = self._ln_branch_scale(ageing_voltage_V) - math.log(a * g)
        y = self._solve_y(c, ln_k)
        return self._branch_current_A(y, ageing_voltage_V)

    def _voltage_V(self, current_A, ageing_voltage_V):
        p = self.params
        a, rsh, i0 = self._a_V, p.shunt_resistance_ohm, p.saturation_current_A
        i = np.asarray(current_A, dtype=float)
        c = (i + i0) * rsh / a
        ln_k = self._ln_branch_scale(ageing_voltage_V) + math.log(rsh / a)
        y = self._solve_y(c, ln_k)
        return i * p.series_resistance_ohm + a * y

    def current_A(self, voltage_V):
        """Terminal current I(V) [A] of the (present, possibly aged) pixel, exact.

        Single-diode model with series and shunt resistance,

        .. math:: I = I_0\\left[\\exp\\frac{V - IR_s - ΔV_{age}}{nV_t} - 1\\right]
                  + \\frac{V - IR_s}{R_{sh}},

        solved in closed form with the Lambert W function (Jain & Kapoor, Sol. Energy Mater.
        Sol. Cells 81, 269 (2004), doi:10.1016/j.solmat.2003.11.018), evaluated through the
        Wright omega function so that no forward bias overflows.  Reverse bias gives
        −I0 + V/Rsh.  Vectorised; exact inverse of :meth:`voltage_V`.

        Parameters
        ----------
        voltage_V : float or array_like
            Terminal voltage [V].
        """
        return self._current_A(voltage_V, self.ageing_voltage_V)

    def voltage_V(self, current_A):
        """Terminal voltage V(I) [V] of the present pixel, exact inverse of :meth:`current_A`.

        V = I·Rs + V_j where V_j solves I = I0[exp((V_j − ΔV_age)/nV_t) − 1] + V_j/Rsh,
        again by the Lambert W function (Jain & Kapoor 2004).  Defined for every real current.
        """
        return self._voltage_V(current_A, self.ageing_voltage_V)

    def differential_conductance_S(self, voltage_V):
        """dI/dV of the terminal I-V at ``voltage_V`` [S], exact (implicit differentiation).

        dI/dV = g_j / (1 + Rs·g_j) with g_j = (I_d + I0)/(nV_t) + 1/Rsh the junction
        conductance.
        """
        p = self.params
        i = self.current_A(voltage_V)
        vj = np.asarray(voltage_V, dtype=float) - i * p.series_resistance_ohm
        i_d = i - vj / p.shunt_resistance_ohm
        g_j = (i_d + p.saturation_current_A) / self._a_V + 1.0 / p.shunt_resistance_ohm
        return g_j / (1.0 + p.series_resistance_ohm * g_j)

    def current_density_mA_cm2(self, current_A):
        """J = I/A [mA/cm²]."""
        return np.asarray(current_A, dtype=float) * 1e3 / self.params.area_cm2

    # ------------------------------------------------------------------ EQE
    @cached_property
    def _eqe_log_turn_on(self):
        # ln J_on [ln(mA/cm²)] making J_peak a stationary point of ln R + ln D:
        # a·x/(1+x) = b·y/(1+y), x = (J_on/J_p)^a, y = (J_p/J_r)^b.
        p = self.params
        a, b = p.eqe_rise_exponent, p.eqe_rolloff_exponent
        y = (p.eqe_peak_current_density_mA_cm2 / p.eqe_rolloff_current_density_mA_cm2) ** b
        r = b * y / (1.0 + y)
        x = r / (a - r)
        return math.log(p.eqe_peak_current_density_mA_cm2) + math.log(x) / a

    def _log_eqe_shape(self, log_j):
        p = self.params
        a, b = p.eqe_rise_exponent, p.eqe_rolloff_exponent
        ln_jr = math.log(p.eqe_rolloff_current_density_mA_cm2)
        return (special.log_expit(a * (log_j - self._eqe_log_turn_on))
                + special.log_expit(-b * (log_j - ln_jr)))

    def eqe_fraction(self, current_density_mA_cm2, *, aged: bool = True):
        """External quantum efficiency at current density J, as a fraction.

        .. math:: η(J) = η_{max}\\,\\frac{R(J)\\,D(J)}{R(J_p)\\,D(J_p)},\\quad
                  R = \\frac{1}{1 + (J_{on}/J)^a},\\quad D = \\frac{1}{1 + (J/J_r)^b}

        A phenomenological rise × droop form: R is the low-current loss to trap-assisted
        (Shockley-Read-Hall) recombination and charge imbalance (log-log slope a), D the
        high-current roll-off from Auger recombination and field-induced quenching (slope
        −b); see Murawski, Leo & Gather, Adv. Mater. 25, 6801 (2013),
        doi:10.1002/adma.201301603.  J_on is derived so that the maximum — unique, since
        ln R + ln D is concave in ln J — sits exactly at J_p = ``eqe_peak_current_density_mA_cm2``
        with value ``eqe_max_fraction``.  Zero for J ≤ 0.  With ``aged`` the present
        :attr:`luminance_factor` multiplies the result.

        Parameters
        ----------
        current_density_mA_cm2 : float or array_like
            Current density [mA/cm²].
        aged : bool
            Apply the ageing state (default) or return the fresh-device value.
        """
        j = np.asarray(current_density_mA_cm2, dtype=float)
        pos = j > 0
        log_j = np.log(np.where(pos, j, 1.0))
        log_peak = self._log_eqe_shape(math.log(self.params.eqe_peak_current_density_mA_cm2))
        eqe = self.params.eqe_max_fraction * np.exp(self._log_eqe_shape(log_j) - log_peak)
        eqe = np.where(pos, eqe, 0.0)
        return eqe * self.luminance_factor if aged else eqe

    # ------------------------------------------------------------------ spectrum and photometry
    @property
    def el_sigma_nm(self) -> float:
        """Standard deviation of the Gaussian EL line [nm] = FWHM / (2√(2 ln 2))."""
        return self.params.el_fwhm_nm / (2.0 * math.sqrt(2.0 * math.log(2.0)))

    def el_peak_wavelength_nm(self, current_A):
        """EL peak wavelength [nm]: λ_p + s·log10(max(J/J_ref, 1)) (s = red shift per decade)."""
        p = self.params
        j = np.abs(self.current_density_mA_cm2(current_A))
        if p.el_redshift_nm_per_decade == 0.0:
            return np.full(j.shape, p.el_peak_nm)[()]
        decades = np.log10(np.maximum(j / p.el_redshift_reference_mA_cm2, 1.0))
        return p.el_peak_nm + p.el_redshift_nm_per_decade * decades

    def spectral_shape_per_nm(self, wavelength_nm, current_A):
        """Normalised EL power spectrum S(λ) [nm⁻¹], ∫S dλ = 1; shape (..., n_wavelength).

        A Gaussian in wavelength with peak :meth:`el_peak_wavelength_nm` and FWHM
        ``el_fwhm_nm``, so peak and FWHM are exactly the parameters and the power-weighted
        mean wavelength is exactly the peak.  (For CsPbBr3 QDs FWHM/λ ≈ 3.5 %, where a
        Gaussian in photon energy differs from one in wavelength by well under 1 %.)
        """
        lam = np.asarray(wavelength_nm, dtype=float)
        peak = np.asarray(self.el_peak_wavelength_nm(current_A), dtype=float)
        s = self.el_sigma_nm
        u = (lam.reshape(-1) - peak[..., None]) / s
        shape = np.exp(-0.5 * u * u) / (s * math.sqrt(2.0 * math.pi))
        return shape.reshape(peak.shape + lam.shape)

    def photon_rate_per_s(self, current_A, *, aged: bool = True):
        """Photons emitted into the forward hemisphere per second: EQE(J)·I/q [s⁻¹]."""
        i = np.asarray(current_A, dtype=float)
        eqe = self.eqe_fraction(self.current_density_mA_cm2(i), aged=aged)
        return eqe * np.maximum(i, 0.0) / Q_C

    def radiant_flux_W(self, current_A, *, aged: bool = True):
        """Radiant flux Φ [W] = photon rate × h·c/λ_mean; λ_mean of S(λ) is the peak."""
        lam_m = np.asarray(self.el_peak_wavelength_nm(current_A)) * 1e-9
        return self.photon_rate_per_s(current_A, aged=aged) * H_J_S * C_M_S / lam_m

    def radiance_W_sr_m2(self, current_A, *, aged: bool = True):
        """Radiance of the Lambertian pixel L_e = Φ / (π·A) [W sr⁻¹ m⁻²]."""
        return self.radiant_flux_W(current_A, aged=aged) / (math.pi * self.params.area_cm2 * 1e-4)

    def spectral_radiance_W_sr_m2_nm(self, wavelength_nm, current_A, *, aged: bool = True):
        """Spectral radiance L_e,λ = L_e·S(λ) [W sr⁻¹ m⁻² nm⁻¹], shape (..., n_wavelength).

        Photon flux EQE·I/q distributed over the EL line, Lambertian into the forward
        hemisphere (radiance = radiant flux / (π·A); Anaya et al., Nat. Photonics 13, 818
        (2019), doi:10.1038/s41566-019-0543-y).  ``current_A`` scalar or array,
        ``wavelength_nm`` scalar or 1-D.
        """
        le = np.asarray(self.radiance_W_sr_m2(current_A, aged=aged), dtype=float)
        shape = self.spectral_shape_per_nm(wavelength_nm, current_A)
        return le.reshape(le.shape + (1,) * np.ndim(wavelength_nm)) * shape

    spectral_radiance = spectral_radiance_W_sr_m2_nm

    def _cie_integrals(self, current_A):
        """∫S·V dλ and ∫S·(x̄, ȳ, z̄) dλ on the CIE 1-nm grid (trapezoid)."""
        if self.params.el_redshift_nm_per_decade == 0.0:   # one line shape: integrate once
            sv, xyz = self._fixed_cie_integrals
            n = np.shape(current_A)
            return np.full(n, sv)[()], np.broadcast_to(xyz, n + (3,))
        shape = self.spectral_shape_per_nm(CIE_WAVELENGTH_NM, current_A) * _CIE_WEIGHTS_NM
        return shape @ _V_VALUES, shape @ _CMF_VALUES

    @cached_property
    def _fixed_cie_integrals(self):
        shape = self.spectral_shape_per_nm(CIE_WAVELENGTH_NM, 0.0) * _CIE_WEIGHTS_NM
        return float(shape @ _V_VALUES), shape @ _CMF_VALUES

    def luminance_cd_m2(self, current_A, *, aged: bool = True):
        """Luminance L = K_m·∫L_e,λ(λ)·V(λ) dλ [cd/m²].

        V(λ) is the CIE 1924 photopic luminous efficiency from colour-science, K_m = 683 lm/W
        (CIE 018:2019); the integral runs over the CIE table's 1-nm grid (trapezoid), where
        the Gaussian line is resolved to better than 1e-9.
        """
        sv, _ = self._cie_integrals(current_A)
        return K_M_LM_W * self.radiance_W_sr_m2(current_A, aged=aged) * sv

    def chromaticity_xy(self, current_A):
        """CIE 1931 2° chromaticity (x, y) of the EL spectrum → array (..., 2).

        X, Y, Z = ∫S·x̄, ȳ, z̄ dλ with colour-science's CIE 1931 2° CMFs; x = X/(X+Y+Z),
        y = Y/(X+Y+Z) (CIE 015:2018).
        """
        _, xyz = self._cie_integrals(current_A)
        return xyz[..., :2] / xyz.sum(axis=-1, keepdims=True)

    def current_efficiency_cd_A(self, current_A, *, aged: bool = True):
        """Current efficiency CE = L / J [cd/A] (J in A/m²); 0 for I ≤ 0."""
        i = np.asarray(current_A, dtype=float)
        j_a_m2 = np.abs(i) / (self.params.area_cm2 * 1e-4)
        lum = self.luminance_cd_m2(i, aged=aged)
        return np.where(i > 0, lum / np.where(i > 0, j_a_m2, 1.0), 0.0)

    def power_efficiency_lm_W(self, current_A, *, aged: bool = True):
        """Luminous efficacy of the Lambertian pixel PE = π·L·A / (I·V) [lm/W]."""
        i = np.asarray(current_A, dtype=float)
        v = self._voltage_V(i, self.ageing_voltage_V if aged else 0.0)
        lm = math.pi * self.luminance_cd_m2(i, aged=aged) * self.params.area_cm2 * 1e-4
        ok = (i > 0) & (v > 0)
        return np.where(ok, lm / np.where(ok, i * v, 1.0), 0.0)

    # ------------------------------------------------------------------ ageing
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

    # ------------------------------------------------------------------ junction capacitance
    @property
    def permittivity_F_m(self) -> float:
        """ε = ε_r·ε0 [F/m]."""
        return self.params.epsilon_r * EPS0_F_M

    @property
    def geometric_capacitance_F(self) -> float:
        """ε·A/d [F], the fully depleted limit."""
        p = self.params
        return self.permittivity_F_m * p.area_cm2 * 1e-4 / (p.layer_thickness_nm * 1e-9)

    @property
    def trap_emission_rate_per_s(self) -> float:
        """e_t = ν0·exp(−E_t / k_B T) [s⁻¹] (Walter et al., J. Appl. Phys. 80, 4411 (1996))."""
        p = self.params
        return p.trap_attempt_frequency_Hz * math.exp(
            -p.trap_energy_eV * Q_C / (KB_J_K * p.temperature_K))

    @property
    def trap_cutoff_frequency_Hz(self) -> float:
        """f_c = e_t / 2π [Hz]: traps answer half-way (g = 1/2) at this frequency."""
        return self.trap_emission_rate_per_s / (2.0 * math.pi)

    def trap_response_fraction(self, frequency_Hz):
        """Fraction g(f) = 1 / (1 + (2πf/e_t)²) of the trap density following the signal.

        Deep states follow an oscillation only when their emission rate exceeds about
        ω = 2πf (demarcation energy E_e = k_B T ln(ν0/ω); Heath, Cohen & Shafarman, J. Appl.
        Phys. 95, 1000 (2004), doi:10.1063/1.1633982).  The Debye form is our choice.
        """
        f = np.asarray(frequency_Hz, dtype=float)
        r = 2.0 * math.pi * f / self.trap_emission_rate_per_s
        return 1.0 / (1.0 + r * r)

    @cached_property
    def _cells(self):
        """Cell edges [m] and per-cell free/trap densities [m⁻³] of the step profile solved."""
        p = self.params
        d_nm = p.layer_thickness_nm
        n_cells = max(2000, int(math.ceil(d_nm / 0.1)))
        edges_nm = np.linspace(0.0, d_nm, n_cells + 1)
        mid_nm = 0.5 * (edges_nm[1:] + edges_nm[:-1])
        depth = np.asarray(p.profile_depth_nm, dtype=float)
        n_free = np.interp(mid_nm, depth, np.asarray(p.free_carrier_density_cm3, float)) * 1e6
        n_trap = np.interp(mid_nm, depth, np.asarray(p.trap_density_cm3, float)) * 1e6
        edges = edges_nm * 1e-9
        half_sq = 0.5 * np.diff(edges ** 2)   # ∫ x dx over each cell
        width = np.diff(edges)
        cum = lambda v: np.concatenate(([0.0], np.cumsum(v)))  # noqa: E731
        return dict(edges=edges, n_free=n_free, n_trap=n_trap,
                    p_free=cum(n_free * half_sq), p_trap=cum(n_trap * half_sq),
                    s_free=cum(n_free * width), s_trap=cum(n_trap * width))

    def effective_density_cm3(self, depth_nm, frequency_Hz):
        """N_eff(x, f) = N_free(x) + g(f)·N_trap(x) [cm⁻³] of the profile nodes' interpolant."""
        p = self.params
        x = np.asarray(depth_nm, dtype=float)
        depth = np.asarray(p.profile_depth_nm, dtype=float)
        nf = np.interp(x, depth, np.asarray(p.free_carrier_density_cm3, float))
        nt = np.interp(x, depth, np.asarray(p.trap_density_cm3, float))
        return nf + self.trap_response_fraction(frequency_Hz) * nt

    def _depletion(self, u_V, g):
        """Depletion width W [m] and charge per area S = ∫₀^W N dx [m⁻²] for V_bi − V = u.

        Poisson in the depletion approximation for the step profile N = N_free + g·N_trap:
        u = (q/ε)∫₀^W x·N dx, exact cell by cell (W = √(x_k² + 2(P − P_k)/N_k)).  Beyond
        full depletion (W = d) the charge grows as the geometric capacitor, ε(u − u_d)/d.
        """
        cells = self._cells
        eps = self.permittivity_F_m
        p_cum = cells["p_free"] + g * cells["p_trap"]
        s_cum = cells["s_free"] + g * cells["s_trap"]
        n = cells["n_free"] + g * cells["n_trap"]
        edges = cells["edges"]
        target = eps * u_V / Q_C                                   # [m⁻¹]
        k = np.clip(np.searchsorted(p_cum, target, side="right") - 1, 0, n.size - 1)
        w = np.sqrt(edges[k] ** 2 + 2.0 * np.maximum(target - p_cum[k], 0.0) / n[k])
        full = target >= p_cum[-1]
        d = edges[-1]
        w = np.where(full, d, np.minimum(w, d))
        s = s_cum[k] + n[k] * (w - edges[k])
        u_full = Q_C * p_cum[-1] / eps
        s = np.where(full, s_cum[-1] + eps * (u_V - u_full) / (Q_C * d), s)
        return w, s

    def _charge_per_area(self, u_V, g):
        """Depletion charge per area / q [m⁻²] as a function of u = V_bi − V.

        Below u_min = k_B T/q the depletion approximation fails (Debye tail, injection): the
        charge continues linearly with the slope it has at u_min, so C saturates in forward
        bias instead of diverging.
        """
        u_min = self.thermal_voltage_V
        u = np.asarray(u_V, dtype=float)
        w_min, s_min = self._depletion(np.full_like(u, u_min), g)
        _, s = self._depletion(np.maximum(u, u_min), g)
        slope = self.permittivity_F_m / (Q_C * w_min)             # dS/du at u_min
        return np.where(u >= u_min, s, s_min + slope * (u - u_min))

    def depletion_width_nm(self, bias_V, frequency_Hz):
        """Depletion width W [nm] at DC bias for the density answering at ``frequency_Hz``."""
        bias, g = np.broadcast_arrays(np.asarray(bias_V, float),
                                      self.trap_response_fraction(frequency_Hz))
        out = np.empty(bias.shape)
        for gv in np.unique(g):
            sel = g == gv
            u = np.maximum(self.params.built_in_voltage_V - bias[sel], self.thermal_voltage_V)
            out[sel] = self._depletion(u, gv)[0] * 1e9
        return out[()]

    def capacitance(self, frequency_Hz, bias_V, level_Vrms):
        """Parallel capacitance and conductance (Cp [F], G [S]) of the pixel's junction.

        The oscillator level arrives in V rms; the swing is δV_pp = 2√2·V_rms and the
        capacitance reported is the charge change over the full swing divided by the swing,

        .. math:: C_p = \\frac{Q(V_{DC} + δV_{pp}/2) − Q(V_{DC} − δV_{pp}/2)}{δV_{pp}},

        with Q from Poisson's equation in the depletion approximation for the effective
        density N_eff(x, f) = N_free(x) + g(f)·N_trap(x) (quasi-static: trap charge that
        cannot follow the oscillator is left out of both the DC and the AC balance),
        V_bi − V = (q/ε)∫₀^W x N dx, Q = qA∫₀^W N dx; fully depleted (W = d) the junction is
        the geometric capacitor εA/d.  Level 0 gives the small-signal dQ/dV = εA/W exactly.

        Holding the maximum forward excursion V_DC + δV_pp/2 fixed while δV grows (the DLCP
        protocol) gives C = C0 + C1·δV + …, with N_DL = −C0³/(2qεA²C1) = N_eff at
        ⟨x⟩ = εA/C0 (Heath, Cohen & Shafarman, J. Appl. Phys. 95, 1000 (2004),
        doi:10.1063/1.1633982).  At fixed V_DC the symmetric swing makes C even in δV.

        G is the differential conductance dI/dV of the DC I-V at ``bias_V`` (shunt leakage in
        reverse and low forward bias, diode conduction beyond); the series resistance is not
        in the AC response.  Arguments broadcast against each other.

        Parameters
        ----------
        frequency_Hz : float or array_like
            Test-signal frequency [Hz].
        bias_V : float or array_like
            DC bias [V] (forward positive).
        level_Vrms : float or array_like
            Oscillator level [V rms], ≥ 0.
        """
        f, bias, level = np.broadcast_arrays(np.asarray(frequency_Hz, float),
                                             np.asarray(bias_V, float),
                                             np.asarray(level_Vrms, float))
        if np.any(~np.isfinite(f)) or np.any(f <= 0):
            raise _out_of_range("frequency_Hz", frequency_Hz, "> 0 Hz")
        if np.any(~np.isfinite(level)) or np.any(level < 0):
            raise _out_of_range("level_Vrms", level_Vrms, "≥ 0 V rms")
        if np.any(~np.isfinite(bias)):
            raise _out_of_range("bias_V", bias_V, "a finite voltage in V")
        area_m2 = self.params.area_cm2 * 1e-4
        g = self.trap_response_fraction(f)
        u0 = self.params.built_in_voltage_V - bias
        half = np.sqrt(2.0) * level                                    # δV_pp / 2
        cp = np.empty(f.shape)
        for gv in np.unique(g):
            sel = g == gv
            uu, hh = u0[sel], half[sel]
            small = hh == 0.0
            hs = np.where(small, 1.0, hh)
            ds = (self._charge_per_area(uu + hs, gv) - self._charge_per_area(uu - hs, gv))
            c_swing = Q_C * area_m2 * ds / (2.0 * hs)
            w, _ = self._depletion(np.maximum(uu, self.thermal_voltage_V), gv)
            c_small = self.permittivity_F_m * area_m2 / w
            cp[sel] = np.where(small, c_small, c_swing)
        g_s = np.asarray(self.differential_conductance_S(bias), dtype=float)
        return cp[()], np.broadcast_to(g_s, f.shape).copy()[()]

    # ------------------------------------------------------------------ truth
    def _log_current_at_luminance(self, target_cd_m2, log_i_hi):
        """ln I where the fresh luminance first reaches target (bracketed Brent, exact)."""
        f = lambda li: math.log(float(self.luminance_cd_m2(math.exp(li), aged=False))  # noqa
                                / target_cd_m2)
        lo = log_i_hi - 1.0
        while f(lo) > 0:
            lo -= 2.0
        return optimize.brentq(f, lo, log_i_hi, xtol=1e-14, rtol=1e-15)

    def _maximise_over_log_current(self, fun, log_lo, log_hi):
        grid = np.linspace(log_lo, log_hi, 401)
        vals = np.array([fun(x) for x in grid])
        k = int(np.argmax(vals))
        a, b = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
        res = optimize.minimize_scalar(lambda x: -fun(x), bounds=(a, b), method="bounded",
                                       options={"xatol": 1e-12})
        return (res.x, -res.fun) if -res.fun >= vals[k] else (grid[k], vals[k])

    @cached_property
    def _truth_figures(self):
        p = self.params
        area_cm2 = p.area_cm2
        # Figures of the fresh device.
        i_peak = p.eqe_peak_current_density_mA_cm2 * area_cm2 * 1e-3
        i_8v = float(self._current_A(8.0, 0.0))
        log_i8 = math.log(i_8v)
        log_i_on = self._log_current_at_luminance(1.0, log_i8)
        i_on = math.exp(log_i_on)
        lum = lambda li: float(self.luminance_cd_m2(math.exp(li), aged=False))  # noqa: E731
        li_lmax, l_max = self._maximise_over_log_current(lum, log_i_on, log_i8)
        ce = lambda li: float(self.current_efficiency_cd_A(math.exp(li), aged=False))  # noqa
        li_ce, ce_max = self._maximise_over_log_current(ce, log_i_on - 5.0, log_i8)
        pe = lambda li: float(self.power_efficiency_lm_W(math.exp(li), aged=False))  # noqa
        li_pe, pe_max = self._maximise_over_log_current(pe, log_i_on - 5.0, log_i8)
        # EL line measured numerically on a fine grid at max EQE.
        peak0 = float(self.el_peak_wavelength_nm(i_peak))
        lam = np.arange(peak0 - 60.0, peak0 + 60.0, 1e-3)
        spec = self.spectral_radiance_W_sr_m2_nm(lam, i_peak, aged=False)
        k = int(np.argmax(spec))
        y0, y1, y2 = spec[k - 1:k + 2]
        el_peak = lam[k] + 1e-3 * 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
        half = 0.5 * spec.max()
        above = np.nonzero(spec >= half)[0]
        i1, i2 = above[0], above[-1]
        left = np.interp(half, [spec[i1 - 1], spec[i1]], [lam[i1 - 1], lam[i1]])
        right = np.interp(half, [spec[i2 + 1], spec[i2]], [lam[i2 + 1], lam[i2]])
        xy = self.chromaticity_xy(i_peak)
        return dict(
            turn_on_current_A=i_on,
            turn_on_voltage_V=float(self._voltage_V(i_on, 0.0)),
            max_luminance_below_8V_cd_m2=l_max,
            max_luminance_voltage_V=float(self._voltage_V(math.exp(li_lmax), 0.0)),
            max_luminance_current_density_mA_cm2=math.exp(li_lmax) * 1e3 / area_cm2,
            current_efficiency_max_cd_A=ce_max,
            current_efficiency_max_current_density_mA_cm2=math.exp(li_ce) * 1e3 / area_cm2,
            power_efficiency_max_lm_W=pe_max,
            power_efficiency_max_current_density_mA_cm2=math.exp(li_pe) * 1e3 / area_cm2,
            el_peak_nm=float(el_peak),
            el_fwhm_nm=float(right - left),
            el_fwhm_meV=float(1e3 * H_J_S * C_M_S / Q_C * (1 / left - 1 / right) * 1e9),
            cie_x=float(xy[0]),
            cie_y=float(xy[1]),
        )

    def truth(self) -> dict:
        """Every true parameter and derived figure of this pixel, JSON-able.

        Derived figures are of the fresh device: EQE max (exact), maximum current and power
        efficiency, turn-on voltage at 1 cd/m² (solved exactly), maximum luminance for
        V ≤ 8 V, EL peak/FWHM and CIE 1931 (x, y) at maximum EQE measured numerically on the
        model's own spectrum (1 pm grid).  The present ageing state is included.
        """
        p = self.params
        figures = dict(self._truth_figures)
        t50 = float(self.t50_s(p.lifetime_ref_luminance_cd_m2))
        return _jsonable(dict(
            kind="led",
            parameters=dataclasses.asdict(p),
            eqe_max_percent=100.0 * p.eqe_max_fraction,
            eqe_peak_current_density_mA_cm2=p.eqe_peak_current_density_mA_cm2,
            **figures,
            area_cm2=p.area_cm2,
            epsilon_r=p.epsilon_r,
            lifetime=dict(
                t50_s_at_ref=t50,
                ref_luminance_cd_m2=p.lifetime_ref_luminance_cd_m2,
                tau_s_at_ref=float(self.lifetime_tau_s(p.lifetime_ref_luminance_cd_m2)),
                acceleration_exponent=p.acceleration_exponent,
                stretch_exponent=p.stretch_exponent,
                voltage_rise_at_t50_V=p.voltage_rise_at_t50_V,
                brightening_fraction=p.brightening_fraction,
                brightening_time_s=p.brightening_time_s,
            ),
            ageing_state=dict(equivalent_age=self.equivalent_age,
                              luminance_factor=self.luminance_factor,
                              ageing_voltage_V=self.ageing_voltage_V),
            junction=dict(
                epsilon_r=p.epsilon_r,
                layer_thickness_nm=p.layer_thickness_nm,
                built_in_voltage_V=p.built_in_voltage_V,
                geometric_capacitance_F=self.geometric_capacitance_F,
                profile_depth_nm=list(p.profile_depth_nm),
                free_carrier_density_cm3=list(p.free_carrier_density_cm3),
                trap_density_cm3=list(p.trap_density_cm3),
                trap_energy_eV=p.trap_energy_eV,
                trap_attempt_frequency_Hz=p.trap_attempt_frequency_Hz,
                trap_emission_rate_per_s=self.trap_emission_rate_per_s,
                trap_cutoff_frequency_Hz=self.trap_cutoff_frequency_Hz,
                amplitude_convention="level in V rms; swing dV_pp = 2*sqrt(2)*V_rms",
            ),
        ))


# ----------------------------------------------------------------------------------------------
# Single-carrier (SCLC) devices
# ----------------------------------------------------------------------------------------------

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


# ----------------------------------------------------------------------------------------------
# Measurement noise
# ----------------------------------------------------------------------------------------------

@dataclass
class NoiseModel:
    """Seeded Gaussian reading noise, σ = √((relative·|value|)² + floor²), per quantity kind.

    Instrument simulators call :meth:`apply` on each reading; devices stay deterministic.
    Defaults are of the order of the instruments' datasheet noise (SMU 6½ digits, E4980A
    0.05 % basic accuracy, spectroradiometer ≈ 0.3 % repeatability).
    """

    seed: int | None = 0
    """Seed of the numpy Generator (None: fresh entropy)."""
    current_relative: float = 1e-4
    current_floor_A: float = 2e-12
    voltage_relative: float = 3e-5
    voltage_floor_V: float = 3e-5
    luminance_relative: float = 3e-3
    luminance_floor_cd_m2: float = 1e-3
    spectrum_relative: float = 3e-3
    spectrum_floor_W_sr_m2_nm: float = 1e-7
    capacitance_relative: float = 3e-4
    capacitance_floor_F: float = 1e-14
    conductance_relative: float = 3e-4
    conductance_floor_S: float = 1e-10
    rng: np.random.Generator = field(init=False, repr=False, compare=False)

    KINDS = {"current": "current_floor_A", "voltage": "voltage_floor_V",
             "luminance": "luminance_floor_cd_m2", "spectrum": "spectrum_floor_W_sr_m2_nm",
             "capacitance": "capacitance_floor_F", "conductance": "conductance_floor_S"}

    def __post_init__(self):
        for kind, floor in self.KINDS.items():
            _check_range(f"{kind}_relative", getattr(self, f"{kind}_relative"), 0.0, 1.0)
            _check_range(floor, getattr(self, floor), 0.0, math.inf)
        self.rng = np.random.default_rng(self.seed)

    @classmethod
    def zero(cls) -> "NoiseModel":
        """No noise: :meth:`apply` returns the value unchanged."""
        return cls(**{f"{k}_relative": 0.0 for k in cls.KINDS},
                   **{floor: 0.0 for floor in cls.KINDS.values()})

    def sigma(self, value, kind: str):
        """Standard deviation of the reading noise for ``value`` of ``kind``."""
        if kind not in self.KINDS:
            raise ValueError(f"kind = {kind!r} is out of range: allowed "
                             + ", ".join(self.KINDS))
        rel = getattr(self, f"{kind}_relative")
        floor = getattr(self, self.KINDS[kind])
        return np.hypot(rel * np.abs(np.asarray(value, dtype=float)), floor)

    def apply(self, value, kind: str):
        """``value`` plus one Gaussian draw per element (same shape; floats stay floats)."""
        sigma = self.sigma(value, kind)
        v = np.asarray(value, dtype=float)
        if not np.any(sigma):
            return v[()] if v.ndim == 0 else v.copy()
        return (v + sigma * self.rng.standard_normal(v.shape))[()]
