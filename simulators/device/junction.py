"""Junction capacitance of a simulated LED pixel: a depletion-approximation junction over a
depth profile of free and trap density, with a frequency-dependent trap response — what C-V
and drive-level capacitance profiling (DLCP) measure (a mixin of
:class:`~simulators.device.led.LEDDevice`)."""
from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from .common import EPS0_F_M, KB_J_K, Q_C, _out_of_range


class JunctionMixin:
    """Capacitance and profiles of the LED's junction (uses ``self.params``)."""

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
