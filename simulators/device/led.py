"""A simulated green CsPbBr3 quantum-dot LED pixel: exact diode I-V (Lambert W), EQE(J) with
roll-off, an EL line whose radiance follows from photon counting, photometric luminance and
chromaticity from the CIE tables, and the truth (figures of merit) of the pixel.

Ageing and the junction capacitance live in :mod:`~simulators.device.ageing` and
:mod:`~simulators.device.junction` (mixins of :class:`LEDDevice`).
"""
from __future__ import annotations

import dataclasses
import math
from functools import cached_property

import numpy as np
from scipy import optimize, special

from .ageing import AgeingMixin
from .common import (_CIE_WEIGHTS_NM, _CMF_VALUES, _V_VALUES, C_M_S, CIE_WAVELENGTH_NM, H_J_S,
                     K_M_LM_W, KB_J_K, Q_C, _jsonable)
from .junction import JunctionMixin
from .parameters import LEDParameters

__all__ = ["LEDDevice"]


class LEDDevice(AgeingMixin, JunctionMixin):
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
