"""Simulated Keithley 6485 picoammeter (over a socket), reading a photodiode load.

Command set: Model 6485 Instruction Manual (6485-900-01).
"""
from __future__ import annotations

import math


from .scpi import (Bool, ChoiceList, Integer, Number, QString, SCPIError, SCPIInstrument, Setting, scpi)
from .smu_common import NAN_VALUE, OVERFLOW_VALUE, ReadingNoise
from .smu_common import READING_OVERHEAD_S as _READING_OVERHEAD_S

__all__ = ["Keithley6485"]


class Keithley6485(SCPIInstrument):
    """Keithley 6485 picoammeter (2 nA … 20 mA ranges, 10 fA resolution).

    Zero check is on after ``*RST`` (readings are then ~0, as on the real unit);
    ``:SYST:ZCH OFF`` connects the input. ``:READ?`` returns the ``:FORM:ELEM``
    elements (``READ``, ``TIME``, ``STAT``; default all three, reading with an
    ``A`` unit suffix as the 6485 sends it).
    """

    IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 6485,1234567,B04   Jul 19 2004 10:13:56/A02  /F"
    RANGES_A = (2e-9, 2e-8, 2e-7, 2e-6, 2e-5, 2e-4, 2e-3, 2e-2)

    zero_check = Setting(":SYSTem:ZCHeck[:STATe]", Bool(), True)
    zero_correct = Setting(":SYSTem:ZCORrect[:STATe]", Bool(), False)
    current_range = Setting(":SENSe[1]:CURRent[:DC]:RANGe[:UPPer]", Number(-0.021, 0.021, default=0.021), 0.021)
    current_range_auto = Setting(":SENSe[1]:CURRent[:DC]:RANGe:AUTO", Bool(), True)
    nplc = Setting(":SENSe[1]:CURRent[:DC]:NPLCycles", Number(0.01, 6, default=6.0), 6.0)
    elements = Setting(":FORMat:ELEMents", ChoiceList("READing", "TIME", "STATus", "UNITs"),
                       ["READ", "TIME", "STAT"])
    trigger_count = Setting(":TRIGger:COUNt", Integer(1, 2500, default=1), 1)
    sense_function = Setting(":SENSe[1]:FUNCtion", QString(), "CURR")
    line_frequency = Setting(":SYSTem:LFRequency", Integer(50, 60, default=60), 50)

    def __init__(self, load, clock=None, faults=None, noise=None):
        self.load = load
        self._noise = ReadingNoise(noise)
        self._last: list[list[float]] = []
        super().__init__(clock, faults)

    def format_number(self, value: float) -> str:
        if not math.isfinite(value):
            value = NAN_VALUE
        return f"{value:+.6E}"

    @scpi(":SYSTem:ZCORrect:ACQuire")
    def _zcor_acq(self):
        """The simulated input has no offset to acquire."""

    def reading_time_s(self) -> float:
        return self.nplc / self.line_frequency + _READING_OVERHEAD_S

    def _range_for(self, current_A: float) -> float:
        for r in self.RANGES_A:
            if abs(current_A) <= 1.05 * r:
                return r
        return self.RANGES_A[-1]

    def _one_reading(self) -> list[float]:
        self.wait(self.reading_time_s())
        status = 0.0
        if self.zero_check:
            i = 0.0
        else:
            # A picoammeter's burden is ~200 µV: the photodiode sits at ~0 V.
            i = self._noise(self.load.apply("VOLT", 0.0, 0.021, True).current_A, "current")
            rng = self._range_for(i) if self.current_range_auto else abs(self.current_range)
            if abs(i) > 1.05 * rng:
                i, status = OVERFLOW_VALUE, 1.0   # overflow
        return [i, self.now(), status]

    def _format(self, readings) -> str:
        out = []
        for r in readings:
            for e in self.elements:
                if e == "READ":
                    out.append(self.format_number(r[0]) + "A")
                elif e == "TIME":
                    out.append(self.format_number(r[1]))
                elif e == "STAT":
                    out.append(self.format_number(r[2]))
        return ",".join(out)

    @scpi(":READ?")
    def _read(self):
        self._last = [self._one_reading() for _ in range(self.trigger_count)]
        return self._format(self._last)

    @scpi(":MEASure[:CURRent][:DC]?")
    def _measure(self):
        return self._read()

    @scpi(":INITiate[:IMMediate]")
    def _init(self):
        self._last = [self._one_reading() for _ in range(self.trigger_count)]

    @scpi(":FETCh?")
    def _fetch(self):
        if not self._last:
            raise SCPIError(-230)
        return self._format(self._last)
