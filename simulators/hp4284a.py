"""Simulated HP/Agilent 4284A precision LCR meter: the E4980A's command set with its own limits
and status codes.

Differences from :mod:`simulators.e4980a`:

* 20 Hz – 1 MHz, at most 128 averages (PyMeasure 0.16 ``Agilent4284A`` validators);
* option 001 (power amplifier / DC bias) must be switched on with ``OUTP:HPOW ON`` before
  ±40 V bias and 20 V rms are allowed (Agilent *4284A Operation Manual* 04284-90040, ch. 4
  "High Power mode" and ch. 8 ``OUTPut:HPOWer``; PyMeasure ``Agilent4284A._set_ranges``);
  ``OUTP:HPOW ON`` without the option is −221 "Settings conflict" (guess);
* the ``:FETCh?`` status field: −1 no data, 0 normal, +1 analog bridge unbalanced, +2 A/D
  converter not working, +3 signal source overloaded, +4 ALC unable to regulate (4284A
  Operation Manual ch. 7 "ASCII format", p. 7-8, as quoted by the basil ``hp4284A`` driver
  and a MATLAB client; the manual's text itself was not read), data 9.9E37 on −1, +1, +2
  (:mod:`simulators.lcr_model`). +2 is produced only by a ``measure_status`` fault;
* impedance ranges 10 Ω … 100 kΩ (guess, :data:`simulators.lcr_model.HP4284A_RANGES`);
* lists of at most 10 points; ``*OPT?`` five fields (client code, see below);
* ``*TRG`` answers the triggered measurement as on the E4980A (PyMeasure 0.16
  ``Agilent4284A.trigger`` reads it: "Returns result of triggered measurement"; client code);
  ``TRIG:CONT`` and ``TRIG:INIT[:IMM]`` are accepted as PyMeasure's ``trigger_continuous_
  enabled`` / ``trigger_initiate`` send them (the manual's ``INITiate`` forms work too;
  client code, unverified).
"""
from __future__ import annotations

from . import lcr_model as model
from .e4980a import STANDARD_BIAS_V, KeysightE4980A
from .scpi import Bool, SCPIError, scpi

__all__ = ["Agilent4284A"]


class Agilent4284A(KeysightE4980A):
    """HP/Agilent 4284A precision LCR meter (20 Hz – 1 MHz).

    Option 001 (power amplifier / DC bias) must be switched on with ``OUTP:HPOW ON``
    to reach ±40 V bias and 20 V rms; without it the bias is 0, 1.5 or 2 V only.
    """

    IDN = "HEWLETT-PACKARD,4284A,2940J01234,REV01.20"
    F_MAX = 1e6
    MAX_AVERAGES = 128
    STATUS = model.HP4284A_STATUS
    TIME_TABLE = model.HP4284A_MEASUREMENT_TIME
    LIST_MAX_POINTS = 10

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # five option fields, the first 1 with option 001 (PyMeasure's 4284A test mock and
        # its high_power_enabled check ``options[0] == '0'``; client code)
        self.OPT = "1,0,0,0,0" if self.option_001 else "0,0,0,0,0"

    def ranges(self) -> model.RangeTable:
        return model.HP4284A_RANGES

    def _high_power(self) -> bool:
        return bool(self.option_001 and self.high_power)

    def source(self) -> model.SourceModel:
        if self._high_power():
            return model.SourceModel(20.0, max_current_Arms=0.2, max_bias_current_A=0.1)
        return model.SourceModel(2.0)

    def level_limit_Vrms(self) -> float:
        return 20.0 if self._high_power() else 2.0

    def current_limit_Arms(self) -> float:
        """50 µA … 20 mA, 200 mA in high-power mode (PyMeasure ``Agilent4284A.ac_current``)."""
        return 0.2 if self._high_power() else 0.02

    def bias_current_limit_A(self) -> float:
        """0 … 100 mA with option 001 in high-power mode (PyMeasure ``bias_current``)."""
        return 0.1 if self._high_power() else 0.0

    def check_bias(self, value: float) -> None:
        if self._high_power():
            if abs(value) > self.BIAS_MAX_V:
                raise SCPIError(-222)
        elif not any(abs(value - b) < 1e-9 for b in STANDARD_BIAS_V):
            raise SCPIError(-222)

    def on_high_power(self, value):
        if value and not self.option_001:
            self.high_power = False
            raise SCPIError(-221)

    # -- trigger forms of PyMeasure's Agilent4284A (client code) ----------------------------
    @scpi(":TRIGger:CONTinuous", params=(Bool(),))
    def _trig_cont(self, value):
        self.init_continuous = value
        self.on_init_continuous(value)

    @scpi(":TRIGger:CONTinuous?")
    def _trig_cont_q(self):
        return "1" if self.init_continuous else "0"

    @scpi(":TRIGger:INITiate[:IMMediate]")
    def _trig_init(self):
        self.initiate()

    def on_list_frequency(self, values):
        self._list_length(values, "list_frequency")
        super().on_list_frequency(values)

    def on_list_voltage(self, values):
        self._list_length(values, "list_voltage")
        super().on_list_voltage(values)

    def on_list_bias(self, values):
        self._list_length(values, "list_bias")
        super().on_list_bias(values)

    def _list_length(self, values, name):
        """At most 10 list points (PyMeasure ``sweep_measurement`` sends ≤ 10 per list;
        client code; the error code is a guess)."""
        if len(values) > self.LIST_MAX_POINTS:
            setattr(self, name, [])
            raise SCPIError(-222)
