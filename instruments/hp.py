"""HP / Agilent 4284A precision LCR meter: PyMeasure's stock driver with negative DC bias.

The stock ``Agilent4284A`` validates the DC bias as 0 … 2 V (0 … 40 V in high-power mode) and
so rejects negative bias, which a reverse-bias C-V or DLCP profile needs. The instrument's
internal bias is 0 / 1.5 / 2 V on a standard unit and −40 … +40 V with option 001 (power
amplifier / DC bias) in high-power mode. What it shares with the E4980A driver is
:class:`instruments.lcr.LCRDriverMixin`.

References
----------
Agilent, *4284A Precision LCR Meter Operation Manual*, 04284-90040 (2000): ch. 4 "Bias" and
"High Power mode", ch. 8 (SCPI: ``BIAS:VOLTage``, ``BIAS:STATe``, ``OUTPut:HPOWer``,
``FUNCtion:IMPedance``, ``APERture``), ch. 9 specifications.
"""

from __future__ import annotations

from pymeasure.instruments.agilent import Agilent4284A

from .lcr import (OPTION_001_BIAS_V, STANDARD_BIAS_V, LCRDriverMixin, LCRMeterAdapter,
                  aperture_control, bias_voltage_control)

__all__ = ["HP4284A", "HP4284ALCRMeter"]


class HP4284A(LCRDriverMixin, Agilent4284A):
    """HP/Agilent 4284A; ``option_001=True`` enables high-power mode (±40 V bias, 20 V rms)."""

    frequency_limits_Hz = (20.0, 1e6)
    max_averages = 128
    command_prefix = ""
    function_property = "impedance_mode"
    #: ``FETCh?`` <STATUS> (Operation Manual ch. 7 "ASCII format", p. 7-8, as the basil and
    #: MATLAB 4284A clients quote it): data 9.9E37 on −1, +1 and +2 (guess, see
    #: docs/instrument-fidelity.md).
    status_meanings = {-1: "no data", 0: "normal", 1: "analog bridge unbalanced",
                       2: "A/D converter not working", 3: "signal source overloaded",
                       4: "ALC unable to regulate"}
    no_data_statuses = frozenset({-1, 1, 2})

    def __init__(self, adapter, name="HP 4284A LCR meter", *, option_001: bool = False,
                 **kwargs):
        self.option_001 = bool(option_001)
        super().__init__(adapter, name, **kwargs)
        if option_001:
            # Bypass the stock setter's *OPT? round trip: the station declares the option.
            self._set_ranges(1)
            self.write("OUTP:HPOW 1")

    def _set_ranges(self, high_power_mode):
        super()._set_ranges(high_power_mode)
        bias = OPTION_001_BIAS_V if high_power_mode else STANDARD_BIAS_V
        self.bias_voltage_values = bias
        self._bias_voltage_values = bias
        # Dynamic property limits cannot be read back, so keep readable copies.
        self.bias_values_V = bias
        self.level_limits_Vrms = tuple(self._ac_voltage_values)

    bias_voltage = bias_voltage_control(
        "", """Control the DC bias in V: 0, 1.5 or 2 V (standard); −40 … 40 V (option 001,
        high-power mode).""")

    aperture_time = aperture_control("", max_averages)


class HP4284ALCRMeter(LCRMeterAdapter):
    """:class:`~instruments.roles.LCRMeter` on an HP/Agilent 4284A."""

    driver_class = HP4284A
