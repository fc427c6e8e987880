"""True parameters of a simulated LED pixel and its presets (passivated, pristine, uniform
junction), with seeded pixel-to-pixel variation."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .common import _check_positive, _check_range

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
