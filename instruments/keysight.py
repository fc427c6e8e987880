"""Keysight (Agilent) E4980A precision LCR meter: PyMeasure's stock driver plus DC bias.

The stock ``AgilentE4980`` has no DC-bias property and validates the oscillator level at
0–20 V regardless of options. :class:`KeysightE4980A` adds ``bias_voltage`` / ``bias_enabled``
with the instrument's real allowed values and makes the level range depend on option 001;
what it shares with the 4284A driver is :class:`instruments.lcr.LCRDriverMixin`.

References
----------
Keysight, *E4980A/AL Precision LCR Meter User's Guide*, E4980-90230 (2014), ch. 11
(SCPI: ``:BIAS:VOLTage``, ``:BIAS:STATe``, ``:VOLTage[:LEVel]``, ``:APERture``,
``:TRIGger:SOURce``, ``:FETCh?``) and *Data Sheet* 5989-4435EN: test-signal level
0–2 V rms (standard), 0–20 V rms (option 001); internal DC bias 0 V / 1.5 V / 2 V
(standard), −40 … +40 V (option 001).
"""

from __future__ import annotations

import warnings

from pymeasure.instruments import Instrument
from pymeasure.instruments.agilent import AgilentE4980
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .lcr import (OPTION_001_BIAS_V, STANDARD_BIAS_V, LCRDriverMixin, LCRMeterAdapter,
                  aperture_control, bias_validator, bias_voltage_control, describe_bias)

__all__ = ["KeysightE4980A", "KeysightE4980ALCRMeter", "STANDARD_BIAS_V", "OPTION_001_BIAS_V",
           "bias_validator", "describe_bias"]


class KeysightE4980A(LCRDriverMixin, AgilentE4980):
    """Keysight E4980A; ``option_001=True`` for the power amplifier / DC bias option."""

    frequency_limits_Hz = (20.0, 2e6)
    max_averages = 256
    command_prefix = ":"
    function_property = "mode"
    #: ``:FETCh?`` <STATUS> (User's Guide, "Data Transfer", p. 261): data 9.9E37 on −1 and +1.
    status_meanings = {-1: "no data", 0: "normal", 1: "overload",
                       3: "signal source overloaded", 4: "ALC unable to regulate"}
    no_data_statuses = frozenset({-1, 1})

    def __init__(self, adapter, name="Keysight E4980A LCR meter", *, option_001: bool = False,
                 **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("timeout", 10000)
        with warnings.catch_warnings():
            # The E4980A is an SCPI instrument (User's Guide ch. 11); the stock mixin only warns.
            warnings.simplefilter("ignore", FutureWarning)
            super().__init__(adapter, name, **kwargs)
        self.option_001 = bool(option_001)
        # Dynamic property limits cannot be read back, so keep a readable copy.
        self.level_limits_Vrms = (0.0, 20.0) if option_001 else (0.0, 2.0)
        self.bias_values_V = OPTION_001_BIAS_V if option_001 else STANDARD_BIAS_V
        self.ac_voltage_values = self.level_limits_Vrms
        self.bias_voltage_values = self.bias_values_V

    ac_voltage = Instrument.control(
        ":VOLT:LEV?", ":VOLT:LEV %g",
        """Control the oscillator level in V rms (0–2, or 0–20 with option 001).""",
        validator=strict_range, values=(0.0, 2.0), dynamic=True,
    )

    bias_voltage = bias_voltage_control(
        ":", """Control the internal DC bias in V (0, 1.5 or 2 V; −40 … 40 V with option 001).""")

    bias_enabled = Instrument.control(
        ":BIAS:STAT?", ":BIAS:STAT %d",
        """Control whether the internal DC bias is applied (bool).""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
    )

    aperture_time = aperture_control(":", max_averages)


class KeysightE4980ALCRMeter(LCRMeterAdapter):
    """:class:`~instruments.roles.LCRMeter` on a Keysight E4980A."""

    driver_class = KeysightE4980A
