"""Device physics of the simulated bench, with known truth.

Two kinds of device live here (one module each, with ageing and junction capacitance of the
LED in their own modules, parameters and presets in :mod:`~simulators.device.parameters`):

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

from .common import (CIE_WAVELENGTH_NM, EPS0_F_M, K_M_LM_W, KB_J_K, Q_C, cie1931_cmfs,
                     photopic_efficiency)
from .led import LEDDevice
from .noise import NoiseModel
from .parameters import LEDParameters
from .single_carrier import (SingleCarrierDevice, SingleCarrierParameters,
                             trap_filled_limit_voltage_V)

__all__ = [
    "LEDParameters",
    "LEDDevice",
    "SingleCarrierParameters",
    "SingleCarrierDevice",
    "NoiseModel",
    "photopic_efficiency",
    "cie1931_cmfs",
    "trap_filled_limit_voltage_V",
    "CIE_WAVELENGTH_NM", "EPS0_F_M", "K_M_LM_W", "KB_J_K", "Q_C",
]
