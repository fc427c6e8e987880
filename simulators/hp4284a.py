"""Simulated HP/Agilent 4284A precision LCR meter: the E4980A's command set with its own limits.

Differences from :mod:`simulators.e4980a`: 20 Hz – 1 MHz, at most 128 averages, and option 001
(power amplifier / DC bias) must be switched on with ``OUTP:HPOW ON`` before ±40 V bias and
20 V rms are allowed (Agilent 4284A Operation Manual, 04284-90040, ch. 8).
"""
from __future__ import annotations

from .e4980a import STANDARD_BIAS_V, KeysightE4980A
from .scpi import SCPIError, scpi

__all__ = ["Agilent4284A"]


class Agilent4284A(KeysightE4980A):
    """HP/Agilent 4284A precision LCR meter (20 Hz – 1 MHz).

    Option 001 (power amplifier / DC bias) must be switched on with ``OUTP:HPOW ON``
    to reach ±40 V bias and 20 V rms; without it the bias is 0, 1.5 or 2 V only.
    """

    IDN = "HEWLETT-PACKARD,4284A,2940J01234,REV01.20"
    F_MAX = 1e6
    MAX_AVERAGES = 128

    def level_limit_Vrms(self) -> float:
        return 20.0 if (self.option_001 and self.high_power) else 2.0

    def check_bias(self, value: float) -> None:
        if self.option_001 and self.high_power:
            if abs(value) > self.BIAS_MAX_V:
                raise SCPIError(-222)
        elif not any(abs(value - b) < 1e-9 for b in STANDARD_BIAS_V):
            raise SCPIError(-222)

    def on_high_power(self, value):
        if value and not self.option_001:
            self.high_power = False
            raise SCPIError(-221)

    @scpi(":FETCh[:IMPedance][:FORMatted]?")
    def _fetch(self):
        return super()._fetch()
