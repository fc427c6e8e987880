"""Simulated Keithley 2450 SourceMeter in SCPI mode (over a socket).

It drives a load as :mod:`simulators.keithley2400` does. Command set: Model 2450 Reference
Manual (2450-901-01, ch. 6).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .scpi import (Bool, Choice, Integer, Number, NumberList, QString, SCPIError, SCPIInstrument, Setting, scpi)
from .smu_common import NAN_VALUE, ReadingNoise
from .smu_common import READING_OVERHEAD_S as _READING_OVERHEAD_S

__all__ = ["Keithley2450"]


class Keithley2450(SCPIInstrument):
    """Keithley 2450 SourceMeter in SCPI mode (±210 V, ±1.05 A).

    Readings go to ``defbuffer1``; ``:READ? "defbuffer1", SOUR, READ, REL`` returns
    the requested elements, ``:SOUR:SWE:VOLT:LIN start, stop, points, delay`` then
    ``:INIT``/``*WAI`` runs a sweep that ``:TRAC:DATA? 1, n, "defbuffer1", …`` reads.
    """

    IDN = "KEITHLEY INSTRUMENTS,MODEL 2450,04131002,1.7.3b"
    ELEMENTS = ("READ", "SOUR", "REL", "SEC", "STAT", "UNIT")

    source_function = Setting(":SOURce[1]:FUNCtion[:MODE]", Choice("VOLTage", "CURRent"), "VOLT")
    source_voltage = Setting(":SOURce[1]:VOLTage[:LEVel][:IMMediate][:AMPLitude]",
                             Number(-210, 210, default=0.0), 0.0)
    source_current = Setting(":SOURce[1]:CURRent[:LEVel][:IMMediate][:AMPLitude]",
                             Number(-1.05, 1.05, default=0.0), 0.0)
    ilimit_A = Setting(":SOURce[1]:VOLTage:ILIMit[:LEVel]", Number(1e-9, 1.05, default=1.05e-4), 1.05e-4)
    vlimit_V = Setting(":SOURce[1]:CURRent:VLIMit[:LEVel]", Number(0.02, 210, default=21.0), 21.0)
    source_voltage_range = Setting(":SOURce[1]:VOLTage:RANGe", Number(-210, 210, default=20.0), 20.0)
    source_voltage_range_auto = Setting(":SOURce[1]:VOLTage:RANGe:AUTO", Bool(), True)
    source_current_range = Setting(":SOURce[1]:CURRent:RANGe", Number(-1.05, 1.05, default=1e-4), 1e-4)
    source_current_range_auto = Setting(":SOURce[1]:CURRent:RANGe:AUTO", Bool(), True)
    source_delay = Setting((":SOURce[1]:VOLTage:DELay", ":SOURce[1]:CURRent:DELay"),
                           Number(0, 1e4, default=0.0), 0.0)
    source_delay_auto = Setting((":SOURce[1]:VOLTage:DELay:AUTO", ":SOURce[1]:CURRent:DELay:AUTO"), Bool(), True)
    list_voltage = Setting(":SOURce[1]:LIST:VOLTage", NumberList(-210, 210, max_len=2500), [0.0])
    list_current = Setting(":SOURce[1]:LIST:CURRent", NumberList(-1.05, 1.05, max_len=2500), [0.0])
    sense_function = Setting(":SENSe[1]:FUNCtion[:ON]", Choice("CURRent", "VOLTage", "RESistance",
                                                               "CURRent:DC", "VOLTage:DC"), "CURR")
    nplc = Setting((":SENSe[1]:CURRent[:DC]:NPLCycles", ":SENSe[1]:VOLTage[:DC]:NPLCycles",
                    ":SENSe[1]:RESistance:NPLCycles"), Number(0.01, 10, default=1.0), 1.0)
    current_range = Setting(":SENSe[1]:CURRent[:DC]:RANGe[:UPPer]", Number(-1.05, 1.05, default=1e-4), 1e-4)
    current_range_auto = Setting(":SENSe[1]:CURRent[:DC]:RANGe:AUTO", Bool(), True)
    voltage_range = Setting(":SENSe[1]:VOLTage[:DC]:RANGe[:UPPer]", Number(-210, 210, default=20.0), 20.0)
    voltage_range_auto = Setting(":SENSe[1]:VOLTage[:DC]:RANGe:AUTO", Bool(), True)
    resistance_range = Setting(":SENSe[1]:RESistance:RANGe[:UPPer]", Number(0, 2e8, default=2e5), 2e5)
    resistance_range_auto = Setting(":SENSe[1]:RESistance:RANGe:AUTO", Bool(), True)
    rsense = Setting((":SENSe[1]:RESistance:RSENse", ":SENSe[1]:CURRent:RSENse", ":SENSe[1]:VOLTage:RSENse"),
                     Bool(), False)
    average_enabled = Setting((":SENSe[1]:CURRent:AVERage[:STATe]", ":SENSe[1]:VOLTage:AVERage[:STATe]"), Bool(), False)
    average_count = Setting((":SENSe[1]:CURRent:AVERage:COUNt", ":SENSe[1]:VOLTage:AVERage:COUNt"),
                            Integer(1, 100, default=10), 10)
    average_tcontrol = Setting((":SENSe[1]:CURRent:AVERage:TCONtrol", ":SENSe[1]:VOLTage:AVERage:TCONtrol"),
                               Choice("REPeat", "MOVing"), "REP")
    output = Setting(":OUTPut[1][:STATe]", Bool(), False)
    output_off_mode = Setting((":OUTPut[1]:CURRent:SMODe", ":OUTPut[1]:VOLTage:SMODe"),
                              Choice("NORMal", "HIMPedance", "ZERO", "GUARd"), "NORM")
    terminals = Setting(":ROUTe:TERMinals", Choice("FRONt", "REAR"), "FRON")
    trace_points = Setting(":TRACe:POINts", Integer(10, 100000, default=100000), 100000)
    count = Setting(":SENSe[1]:COUNt", Integer(1, 300000, default=1), 1)
    line_frequency = 50

    def __init__(self, load, clock=None, faults=None, noise=None):
        self.load = load
        self._noise = ReadingNoise(noise)
        self._buffer: list[list[float]] = []  # [read, sour, sec, stat, unit]
        self._sweep: list[float] | None = None
        self._sweep_delay = 0.0
        super().__init__(clock, faults)

    def reset(self) -> None:
        super().reset()
        self._buffer, self._sweep = [], None
        if getattr(self, "load", None) is not None:
            self._apply_output()

    def on_output(self, value):
        self._apply_output()

    def on_source_voltage(self, value):
        self._apply_output()

    def on_source_current(self, value):
        self._apply_output()

    def on_source_function(self, value):
        self._apply_output()

    def _compliance(self) -> float:
        return self.ilimit_A if self.source_function == "VOLT" else self.vlimit_V

    def _level(self) -> float:
        return self.source_voltage if self.source_function == "VOLT" else self.source_current

    def _apply_output(self, level=None):
        return self.load.apply(self.source_function, self._level() if level is None else level,
                               self._compliance(), self.output)

    def reading_time_s(self) -> float:
        delay = self.source_delay + (1e-3 if self.source_delay_auto else 0.0)
        return delay + self.nplc / self.line_frequency + _READING_OVERHEAD_S

    def _one_reading(self, level: float, extra_delay_s: float = 0.0) -> list[float]:
        # With the output off the 2450 still measures (normal off state: 0 V source).
        op = self._apply_output(level)
        self.wait(self.reading_time_s() + extra_delay_s)
        measured = self.sense_function.split(":")[0]
        src = level if self.output else 0.0
        if measured == "CURR":
            value = self._noise(op.current_A, "current")
        elif measured == "VOLT":
            value = self._noise(op.voltage_V, "voltage")
        else:
            value = op.voltage_V / op.current_A if op.current_A else NAN_VALUE
        stat = 8.0 if op.in_compliance else 0.0   # bit 3: source limit reached
        return [value, src, self.now(), stat]

    def _store(self, readings):
        self._buffer.extend(readings)
        del self._buffer[:-self.trace_points]

    def _format(self, readings, elements: Sequence[str]) -> str:
        out = []
        t0 = self._buffer[0][2] if self._buffer else 0.0
        unit = {"CURR": "Amp DC", "VOLT": "Volt DC", "RES": "Ohm"}[self.sense_function.split(":")[0]]
        for r in readings:
            for e in elements:
                if e == "READ":
                    out.append(self.format_number(r[0]))
                elif e == "SOUR":
                    out.append(self.format_number(r[1]))
                elif e == "REL":
                    out.append(self.format_number(r[2] - t0))
                elif e == "SEC":
                    out.append(self.format_number(r[2]))
                elif e == "STAT":
                    out.append(str(int(r[3])))
                elif e == "UNIT":
                    out.append(unit)
        return ",".join(out)

    def _elements(self, tokens: Sequence[str]) -> list[str]:
        lookup = {"READ": "READ", "READING": "READ", "SOUR": "SOUR", "SOURCE": "SOUR",
                  "REL": "REL", "RELATIVE": "REL", "SEC": "SEC", "SECONDS": "SEC",
                  "STAT": "STAT", "STATUS": "STAT", "UNIT": "UNIT"}
        out = []
        for t in tokens:
            key = lookup.get(t.upper())
            if key is None:
                raise SCPIError(-224)
            out.append(key)
        return out or ["READ"]

    @scpi(":READ?", params=None)
    def _read(self, tokens):
        if tokens and tokens[0].strip("\"'").lower() not in ("defbuffer1", "defbuffer2"):
            raise SCPIError(-224)
        n = self.count
        readings = [self._one_reading(self._level()) for _ in range(n)]
        self._store(readings)
        return self._format(readings, self._elements(tokens[1:]))

    @scpi(":MEASure[:CURRent][:DC]?", ":MEASure:VOLTage[:DC]?", ":MEASure:RESistance?")
    def _measure(self):
        reading = self._one_reading(self._level())
        self._store([reading])
        return self.format_number(reading[0])

    @scpi(":SOURce[1]:SWEep:VOLTage:LINear", ":SOURce[1]:SWEep:CURRent:LINear",
          params=(Number(-210, 210), Number(-210, 210), Integer(2, 100000), Number(0, 1e4),
                  Integer(1, 268435455), Choice("BEST", "AUTO", "FIXed"), Bool(), Bool(), QString()),
          required=3)
    def _sweep_lin(self, start, stop, points, delay=0.0, count=1, *rest):
        lim = 210 if self.source_function == "VOLT" else 1.05
        if abs(start) > lim or abs(stop) > lim:
            raise SCPIError(-222)
        self._sweep = list(np.linspace(start, stop, points)) * count
        self._sweep_delay = delay

    @scpi(":SOURce[1]:SWEep:VOLTage:LIST", ":SOURce[1]:SWEep:CURRent:LIST",
          params=(Integer(1, 2500), Number(0, 1e4), Integer(1, 268435455), Bool(), QString()), required=1)
    def _sweep_list(self, start_index, delay=0.0, count=1, *rest):
        values = self.list_voltage if self.source_function == "VOLT" else self.list_current
        if start_index > len(values):
            raise SCPIError(-222)
        self._sweep = list(values[start_index - 1:]) * count
        self._sweep_delay = delay

    @scpi(":INITiate[:IMMediate]")
    def _init(self):
        if self._sweep is None:
            readings = [self._one_reading(self._level()) for _ in range(self.count)]
        else:
            was_on = self.output
            self.output = True  # a 2450 sweep turns the output on and leaves it on
            readings = [self._one_reading(v, self._sweep_delay) for v in self._sweep]
            self._apply_output()
            del was_on
        self._store(readings)

    @scpi(":ABORt")
    def _abort(self):
        """Sweeps run synchronously; nothing is in flight."""

    @scpi(":TRACe:CLEar", params=(QString(),), required=0)
    def _trace_clear(self, name="defbuffer1"):
        self._buffer = []

    @scpi(":TRACe:ACTual?", params=(QString(),), required=0)
    def _trace_actual(self, name="defbuffer1"):
        return str(len(self._buffer))

    @scpi(":TRACe:DATA?", params=None)
    def _trace_data(self, tokens):
        if len(tokens) < 2:
            raise SCPIError(-109)
        start, end = int(Integer(1, 100000).parse(tokens[0])), int(Integer(1, 100000).parse(tokens[1]))
        if not start <= end <= len(self._buffer):
            raise SCPIError(-222)
        return self._format(self._buffer[start - 1:end], self._elements(tokens[3:]))

    @scpi(":TRACe:STATistics:AVERage?", ":TRACe:STATistics:MAXimum?", ":TRACe:STATistics:MINimum?",
          ":TRACe:STATistics:STDDev?")
    def _stats(self):
        raise SCPIError(-113)
