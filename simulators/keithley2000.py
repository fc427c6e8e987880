"""Simulated Keithley 2000-class DMM (over a socket) reading a pixel's temperature.

Command set: Keithley, *Model 2000 Multimeter User's Manual*, 2000-900-01 Rev. J (Aug 2010),
section 5 "SCPI Command Reference" ([SENSe[1]] subsystem p. 5-37, :FORMat p. 5-28, :UNIT
after p. 5-70) and section 3 "Measurement configuration" p. 3-3 ("the temperature and
continuity functions have just one range"). The 4-wire RTD transducer (``FRTD``) is how the
2000's siblings (2010, 2700 family) name it; whether a given Model 2000 firmware has it was
not checked: treat ``:SENS:TEMP:TRAN FRTD`` and its ``:FRTD:TYPE`` as a **guess** for the
2000 itself. Every row of docs/instrument-fidelity.md ("Keithley 2000") says which is which.

What it measures: the device temperature of the pixel its channel is wired to
(:class:`simulators.thermal.PixelThermal`), through a Pt100 in 4-wire or a thermocouple with
ideal cold-junction compensation, plus Gaussian reading noise (σ ``noise_K``).
"""
from __future__ import annotations

import numpy as np

from .scpi import Choice, ChoiceList, Integer, Number, QString, SCPIError, SCPIInstrument, Setting, scpi
from .smu_common import OVERFLOW_VALUE
from .smu_common import READING_OVERHEAD_S as _READING_OVERHEAD_S

__all__ = ["Keithley2000"]

#: Usable span of each transducer [°C] (Pt100: IEC 60751 −200 … 850 °C; type K: −200 …
#: 1372 °C, J: −200 … 760 °C, T: −200 … 400 °C); beyond it the DMM reports overflow (guess).
_SPAN_C = {"FRTD": (-200.0, 850.0), "J": (-200.0, 760.0), "K": (-200.0, 1372.0),
           "T": (-200.0, 400.0)}


class Keithley2000(SCPIInstrument):
    """Keithley 2000 6½-digit multimeter, temperature function.

    After ``*RST`` the function is DC volts (manual, [SENSe[1]] defaults); ``:SENS:FUNC
    'TEMP'`` selects temperature. ``:READ?`` / ``:FETC?`` / ``:MEAS:TEMP?`` return the
    ``:FORM:ELEM`` elements (default ``READ`` alone) as ``+2.51234567E+01`` (guess of the
    digits). A non-temperature function reads 0 (nothing else is wired to the input: ours).
    """

    IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2000,1234567,A20 /A02"

    function = Setting(":SENSe[1]:FUNCtion", QString(), "VOLT:DC")
    transducer = Setting(":SENSe[1]:TEMPerature:TRANsducer", Choice("TCouple", "FRTD"), "TC")
    frtd_type = Setting(":SENSe[1]:TEMPerature:FRTD:TYPE",
                        Choice("PT100", "D100", "F100", "PT3916", "PT385", "USER"), "PT100")
    tc_type = Setting(":SENSe[1]:TEMPerature:TCouple:TYPE", Choice("J", "K", "T"), "J")
    nplc = Setting(":SENSe[1]:TEMPerature:NPLCycles", Number(0.01, 10, default=1.0), 1.0)
    unit = Setting(":UNIT:TEMPerature", Choice("C", "CELsius", "F", "FAHRenheit", "K"), "C")
    elements = Setting(":FORMat:ELEMents", ChoiceList("READing", "UNITs"), ["READ"])
    line_frequency = Setting(":SYSTem:LFRequency", Integer(50, 60, default=60), 50)

    def __init__(self, thermal_getter, clock=None, faults=None, *, noise_K: float = 0.0,
                 seed: int = 0):
        self._thermal = thermal_getter
        self.noise_K = float(noise_K)
        self._rng = np.random.default_rng(seed)
        self._last: float | None = None
        super().__init__(clock, faults)

    def reset(self) -> None:
        super().reset()
        self._last = None

    def format_number(self, value: float) -> str:
        return f"{value:+.8E}"

    def _is_temperature(self) -> bool:
        return self.function.strip("\"'").upper().startswith("TEMP")

    def _span(self) -> tuple[float, float]:
        return _SPAN_C["FRTD"] if self.transducer == "FRTD" else _SPAN_C[self.tc_type]

    def _to_unit(self, celsius: float) -> float:
        if self.unit in ("F", "FAHR"):
            return celsius * 9.0 / 5.0 + 32.0
        if self.unit == "K":
            return celsius + 273.15
        return celsius

    def _one_reading(self) -> float:
        self.wait(self.nplc / self.line_frequency + _READING_OVERHEAD_S)
        if not self._is_temperature():
            return 0.0
        thermal = self._thermal()
        if thermal is None:          # nothing wired: an open RTD / thermocouple
            return OVERFLOW_VALUE
        t = thermal.temperature_C()
        if self.noise_K > 0:
            t += self.noise_K * float(self._rng.standard_normal())
        lo, hi = self._span()
        if not lo <= t <= hi:
            return OVERFLOW_VALUE
        return self._to_unit(t)

    def _format(self, value: float) -> str:
        out = []
        for e in self.elements:
            if e == "READ":
                out.append(self.format_number(value))
            elif e == "UNIT":
                out.append({"C": "C", "CEL": "C", "F": "F", "FAHR": "F", "K": "K"}[self.unit])
        return ",".join(out)

    @scpi(":READ?")
    def _read(self):
        self._last = self._one_reading()
        return self._format(self._last)

    @scpi(":MEASure:TEMPerature?")
    def _measure(self):
        self.function = "TEMP"
        return self._read()

    @scpi(":INITiate[:IMMediate]")
    def _init(self):
        self._last = self._one_reading()

    @scpi(":FETCh?")
    def _fetch(self):
        if self._last is None:
            raise SCPIError(-230)
        return self._format(self._last)

    @scpi(":SYSTem:PRESet")
    def _preset(self):
        self.reset()

    def truth(self) -> dict:
        thermal = self._thermal()
        return {"noise_K": self.noise_K,
                "temperature_C": None if thermal is None else thermal.temperature_C()}

