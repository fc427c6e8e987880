"""Keysight (Agilent) E4980A precision LCR meter: PyMeasure's stock driver plus DC bias.

The stock ``AgilentE4980`` has no DC-bias property and validates the oscillator level at
0–20 V regardless of options. :class:`KeysightE4980A` adds ``bias_voltage`` / ``bias_enabled``
with the instrument's real allowed values and makes the level range depend on option 001.

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

from .lcr import LCRMeterAdapter, parse_fetch

#: Internal DC bias values of a standard E4980A [V].
STANDARD_BIAS_V = (0.0, 1.5, 2.0)
OPTION_001_BIAS_V = (-40.0, 40.0)


def bias_validator(value, values):
    """A tuple of 2 is a (min, max) range; a tuple of 3+ is the set of allowed values."""
    if len(values) == 2:
        return strict_range(value, values)
    return strict_discrete_set(value, values)


def describe_bias(values) -> str:
    if len(values) == 2:
        return f"{values[0]:g} … {values[1]:g} V"
    return "one of " + ", ".join(f"{v:g}" for v in values) + " V (standard unit; " \
        "option 001 or an external bias tee for other values)"


class KeysightE4980A(AgilentE4980):
    """Keysight E4980A; ``option_001=True`` for the power amplifier / DC bias option."""

    frequency_limits_Hz = (20.0, 2e6)
    max_averages = 256

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

    bias_voltage = Instrument.control(
        ":BIAS:VOLT?", ":BIAS:VOLT %g",
        """Control the internal DC bias in V (0, 1.5 or 2 V; −40 … 40 V with option 001).""",
        validator=bias_validator, values=STANDARD_BIAS_V, dynamic=True,
    )

    bias_enabled = Instrument.control(
        ":BIAS:STAT?", ":BIAS:STAT %d",
        """Control whether the internal DC bias is applied (bool).""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
    )

    aperture_time = Instrument.control(
        ":APER?", ":APER %s",
        """Control the integration time and averaging as ``(time, averages)``
        with time in SHOR/MED/LONG and averages 1 … 256.""",
        validator=lambda v, vs: (strict_discrete_set(v[0], vs[0]),
                                 int(strict_range(v[1], vs[1]))),
        values=(("SHOR", "MED", "LONG"), (1, 256)),
        set_process=lambda v: f"{v[0]},{v[1]}",
        get_process_list=lambda v: (str(v[0]).strip(), int(float(v[1]))),
    )

    def check_bias(self, bias_V: float) -> float:
        """Raise a one-line ValueError unless ``bias_V`` is an allowed internal bias."""
        try:
            return bias_validator(bias_V, self.bias_values_V)
        except ValueError:
            raise ValueError(f"bias_V = {bias_V!r} is not allowed on {self.name}: "
                             f"{describe_bias(self.bias_values_V)}") from None

    def configure_measurement(self, function, frequency_Hz, level_Vrms, aperture, averages):
        self.mode = function
        self.frequency = frequency_Hz
        self.ac_voltage = level_Vrms
        self.aperture_time = (aperture, averages)
        self.trigger_source = "BUS"
        self.write(":INIT:CONT ON")

    def apply_bias(self, bias_V: float) -> None:
        self.bias_voltage = self.check_bias(bias_V)
        self.bias_enabled = True

    def bias_off(self) -> None:
        self.bias_enabled = False

    def trigger_and_fetch(self) -> tuple[float, float, int]:
        """Trigger once and fetch ``A, B, status`` in one message."""
        return parse_fetch(self.ask(":TRIG:IMM;:FETC?"), self.name)


class KeysightE4980ALCRMeter(LCRMeterAdapter):
    """:class:`~instruments.roles.LCRMeter` on a Keysight E4980A."""

    @classmethod
    def open(cls, resource: str, *, option_001: bool = False, name: str = "lcr",
             bias_source="internal", bias_smu=None, on_event=None, retries: int = 3,
             backoff_s: float = 0.05, **adapter_options):
        from .transport import open_adapter

        def reopen():
            return KeysightE4980A(open_adapter(resource, **adapter_options),
                                  option_001=option_001)

        return cls(reopen(), reopen=reopen, name=name, bias_source=bias_source,
                   bias_smu=bias_smu, on_event=on_event, retries=retries, backoff_s=backoff_s)
