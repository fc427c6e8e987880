"""HP / Agilent 4284A precision LCR meter: PyMeasure's stock driver with negative DC bias.

The stock ``Agilent4284A`` validates the DC bias as 0 … 2 V (0 … 40 V in high-power mode) and
so rejects negative bias, which a reverse-bias C-V or DLCP profile needs. The instrument's
internal bias is 0 / 1.5 / 2 V on a standard unit and −40 … +40 V with option 001 (power
amplifier / DC bias) in high-power mode.

References
----------
Agilent, *4284A Precision LCR Meter Operation Manual*, 04284-90040 (2000): ch. 4 "Bias" and
"High Power mode", ch. 8 (SCPI: ``BIAS:VOLTage``, ``BIAS:STATe``, ``OUTPut:HPOWer``,
``FUNCtion:IMPedance``, ``APERture``), ch. 9 specifications.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument
from pymeasure.instruments.agilent import Agilent4284A
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .keysight import OPTION_001_BIAS_V, STANDARD_BIAS_V, bias_validator, describe_bias
from .lcr import LCRMeterAdapter, parse_fetch


class HP4284A(Agilent4284A):
    """HP/Agilent 4284A; ``option_001=True`` enables high-power mode (±40 V bias, 20 V rms)."""

    frequency_limits_Hz = (20.0, 1e6)
    max_averages = 128

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

    bias_voltage = Instrument.control(
        "BIAS:VOLT?", "BIAS:VOLT %g",
        """Control the DC bias in V: 0, 1.5 or 2 V (standard); −40 … 40 V (option 001,
        high-power mode).""",
        validator=bias_validator, values=STANDARD_BIAS_V, dynamic=True,
    )

    aperture_time = Instrument.control(
        "APER?", "APER %s",
        """Control integration time and averaging as ``(time, averages)``
        (SHOR/MED/LONG, 1 … 128).""",
        validator=lambda v, vs: (strict_discrete_set(v[0], vs[0]),
                                 int(strict_range(v[1], vs[1]))),
        values=(("SHOR", "MED", "LONG"), (1, 128)),
        set_process=lambda v: f"{v[0]},{v[1]}",
        get_process_list=lambda v: (str(v[0]).strip(), int(float(v[1]))),
    )

    def check_bias(self, bias_V: float) -> float:
        try:
            return bias_validator(bias_V, self.bias_values_V)
        except ValueError:
            raise ValueError(f"bias_V = {bias_V!r} is not allowed on {self.name}: "
                             f"{describe_bias(self.bias_values_V)}") from None

    def configure_measurement(self, function, frequency_Hz, level_Vrms, aperture, averages):
        self.impedance_mode = function
        self.frequency = frequency_Hz
        self.ac_voltage = level_Vrms
        self.aperture_time = (aperture, averages)
        self.trigger_source = "BUS"
        self.write("INIT:CONT ON")

    def apply_bias(self, bias_V: float) -> None:
        self.bias_voltage = self.check_bias(bias_V)
        self.bias_enabled = True

    def bias_off(self) -> None:
        self.bias_enabled = False

    def trigger_and_fetch(self) -> tuple[float, float, int]:
        return parse_fetch(self.ask("TRIG:IMM;:FETC?"), self.name)


class HP4284ALCRMeter(LCRMeterAdapter):
    """:class:`~instruments.roles.LCRMeter` on an HP/Agilent 4284A."""

    @classmethod
    def open(cls, resource: str, *, option_001: bool = False, name: str = "lcr",
             bias_source="internal", bias_smu=None, on_event=None, retries: int = 3,
             backoff_s: float = 0.05, **adapter_options):
        from .transport import open_adapter

        def reopen():
            return HP4284A(open_adapter(resource, **adapter_options), option_001=option_001)

        return cls(reopen(), reopen=reopen, name=name, bias_source=bias_source,
                   bias_smu=bias_smu, on_event=on_event, retries=retries, backoff_s=backoff_s)
