"""Simulated Keithley 2400 SourceMeter (SCPI over a socket).

It drives a *load* — a :class:`~simulators.pixel.Pixel` (an LED or a single-carrier device)
or a :class:`~simulators.pixel.PhotodiodeLoad` — through
``load.apply(function, level, compliance, output_on) -> OperatingPoint``; the load solves the
operating point (compliance clamps) and the SMU adds seeded noise, range overflow, the status
word and the reading time.

Command set: 2400 Series SourceMeter User's Manual (2400S-900-01, ch. 18 "SCPI command
reference"; status word in "FORMat subsystem"). Every command PyMeasure 0.16's
``Keithley2400`` sends on connect and in use is accepted.

Reading time: ``NPLC / line_frequency`` per reading plus a fixed 1 ms overhead and the source
delay, spent on the bench's scaled clock (a 2400 at NPLC 1, 50 Hz takes 21 ms per reading,
within the 20–25 ms the real unit needs).

``*RST`` defaults: the "Default parameter" column of the SCPI tables, *2400 Series SourceMeter
User's Manual* 2400S-900-01 §18 — Table 18-3 FORMat and 18-4 OUTPut (p.18-9), 18-6 SENSe
(p.18-10 … 18-13), 18-7 SOURce (p.18-14 … 18-18), the TRIGger/ARM command pages (p.18-117/
18-118: counts 1, delays 0, ARM:TIMer 0.1 s). The TRACe subsystem is not affected by
``*RST`` (Table 18-10 p.18-21), nor are the status enable registers (IEEE 488.2; the
STATus table's note was not retrieved). Each setting's row is in
``docs/instrument-fidelity.md``; the manual revision letter is not visible in the
extracts read (a linked copy is Rev. K, Sep 2011).
"""
from __future__ import annotations

import math

import numpy as np

from .scpi import (Bool, Choice, ChoiceList, Integer, Number, NumberList, Raw,
                   SCPIError, SCPIInstrument, Setting, scpi)
from .smu_common import NAN_VALUE, OVERFLOW_VALUE, ReadingNoise
from .smu_common import READING_OVERHEAD_S as _READING_OVERHEAD_S

__all__ = ["Keithley2400"]

#: Column of each :FORMat:ELEMents name in a 2400 reading [v, i, r, t, status].
_ELEMENT_INDEX = {"VOLT": 0, "CURR": 1, "RES": 2, "TIME": 3, "STAT": 4}

# 2400 status word bits (2400 manual, Table "Status word bit values").
ST_OFLO, ST_FRONT, ST_COMPLIANCE = 1 << 0, 1 << 2, 1 << 3
ST_V_MEAS, ST_I_MEAS, ST_R_MEAS, ST_V_SOUR, ST_I_SOUR = 1 << 11, 1 << 12, 1 << 13, 1 << 14, 1 << 15
ST_RANGE_COMPLIANCE, ST_REMOTE_SENSE = 1 << 16, 1 << 22



class Keithley2400(SCPIInstrument):
    """Keithley 2400 SourceMeter (±210 V, ±1.05 A), SCPI over a socket.

    Parameters
    ----------
    load : object with ``apply(function, level, compliance, output_on)``
        What is wired to the terminals (a Pixel or a photodiode).
    clock : ScaledClock
    faults : FaultPlan or None
    noise : NoiseModel or None
        Seeded noise applied to each reading (kinds ``voltage``/``current``).
    line_frequency_Hz : 50 or 60
    """

    IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,4131001,C32   Oct  4 2010 14:20:11/A02  /S/K"
    V_MAX, I_MAX = 210.0, 1.05
    V_RANGES = (0.2, 2.0, 21.0, 210.0)
    I_RANGES = (1.05e-6, 10.5e-6, 105e-6, 1.05e-3, 10.5e-3, 105e-3, 1.05)

    source_function = Setting(":SOURce[1]:FUNCtion[:MODE]", Choice("VOLTage", "CURRent", "MEMory"), "VOLT")
    source_voltage = Setting(":SOURce[1]:VOLTage[:LEVel][:IMMediate][:AMPLitude]",
                             Number(-210, 210, default=0.0), 0.0)
    source_current = Setting(":SOURce[1]:CURRent[:LEVel][:IMMediate][:AMPLitude]",
                             Number(-1.05, 1.05, default=0.0), 0.0)
    source_voltage_range = Setting(":SOURce[1]:VOLTage:RANGe", Number(-210, 210, default=21.0), 21.0)
    source_voltage_range_auto = Setting(":SOURce[1]:VOLTage:RANGe:AUTO", Bool(), True)
    source_current_range = Setting(":SOURce[1]:CURRent:RANGe", Number(-1.05, 1.05, default=1.05e-4), 1.05e-4)
    source_current_range_auto = Setting(":SOURce[1]:CURRent:RANGe:AUTO", Bool(), True)
    voltage_mode = Setting(":SOURce[1]:VOLTage:MODE", Choice("FIXed", "SWEep", "LIST"), "FIX")
    current_mode = Setting(":SOURce[1]:CURRent:MODE", Choice("FIXed", "SWEep", "LIST"), "FIX")
    voltage_start = Setting(":SOURce[1]:VOLTage:STARt", Number(-210, 210, default=0.0), 0.0)
    voltage_stop = Setting(":SOURce[1]:VOLTage:STOP", Number(-210, 210, default=0.0), 0.0)
    current_start = Setting(":SOURce[1]:CURRent:STARt", Number(-1.05, 1.05, default=0.0), 0.0)
    current_stop = Setting(":SOURce[1]:CURRent:STOP", Number(-1.05, 1.05, default=0.0), 0.0)
    sweep_points = Setting(":SOURce[1]:SWEep:POINts", Integer(2, 2500, default=2500), 2500)
    sweep_spacing = Setting(":SOURce[1]:SWEep:SPACing", Choice("LINear", "LOGarithmic"), "LIN")
    sweep_direction = Setting(":SOURce[1]:SWEep:DIRection", Choice("UP", "DOWn"), "UP")
    sweep_ranging = Setting(":SOURce[1]:SWEep:RANGing", Choice("BEST", "AUTO", "FIXed"), "BEST")
    #: Abort on compliance: NEVer (default, Table 18-7 p.18-18), EARLy, LATE.
    sweep_cab = Setting(":SOURce[1]:SWEep:CABort", Choice("NEVer", "EARLy", "LATE"), "NEV")
    list_voltage = Setting(":SOURce[1]:LIST:VOLTage", NumberList(-210, 210, max_len=100), [0.0])
    list_current = Setting(":SOURce[1]:LIST:CURRent", NumberList(-1.05, 1.05, max_len=100), [0.0])
    source_delay = Setting(":SOURce[1]:DELay", Number(0, 999.9999, default=0.0), 0.0)
    source_delay_auto = Setting(":SOURce[1]:DELay:AUTO", Bool(), True)
    auto_clear = Setting(":SOURce[1]:CLEar:AUTO", Bool(), False)
    ovp_V = Setting(":SOURce[1]:VOLTage:PROTection[:LEVel]", Number(20, 210, default=210.0), 210.0)
    compliance_A = Setting(":SENSe[1]:CURRent[:DC]:PROTection[:LEVel]", Number(-1.05, 1.05, default=1.05e-4), 1.05e-4)
    compliance_V = Setting(":SENSe[1]:VOLTage[:DC]:PROTection[:LEVel]", Number(-210, 210, default=21.0), 21.0)
    current_range = Setting(":SENSe[1]:CURRent[:DC]:RANGe[:UPPer]", Number(-1.05, 1.05, default=1.05e-4), 1.05e-4)
    current_range_auto = Setting(":SENSe[1]:CURRent[:DC]:RANGe:AUTO", Bool(), True)
    voltage_range = Setting(":SENSe[1]:VOLTage[:DC]:RANGe[:UPPer]", Number(-210, 210, default=21.0), 21.0)
    voltage_range_auto = Setting(":SENSe[1]:VOLTage[:DC]:RANGe:AUTO", Bool(), True)
    resistance_range = Setting(":SENSe[1]:RESistance:RANGe[:UPPer]", Number(0, 2.1e8, default=2.1e5), 2.1e5)
    resistance_range_auto = Setting(":SENSe[1]:RESistance:RANGe:AUTO", Bool(), True)
    resistance_mode = Setting(":SENSe[1]:RESistance:MODE", Choice("MANual", "AUTO"), "AUTO")
    resistance_ocomp = Setting(":SENSe[1]:RESistance:OCOMpensated", Bool(), False)
    current_llim = Setting(":SENSe[1]:CURRent[:DC]:RANGe:LLIMit", Number(-1.05e-4, 1.05e-4, default=1e-6), 1e-6)
    voltage_llim = Setting(":SENSe[1]:VOLTage[:DC]:RANGe:LLIMit", Number(-210, 210, default=0.21), 0.21)
    compliance_rsync = Setting(":SENSe[1]:CURRent[:DC]:PROTection:RSYNchronize", Bool(), False)
    nplc = Setting((":SENSe[1]:CURRent[:DC]:NPLCycles", ":SENSe[1]:VOLTage[:DC]:NPLCycles",
                    ":SENSe[1]:RESistance:NPLCycles"), Number(0.01, 10, default=1.0), 1.0)
    concurrent = Setting(":SENSe[1]:FUNCtion:CONCurrent", Bool(), True)
    average_enabled = Setting(":SENSe[1]:AVERage[:STATe]", Bool(), False)
    average_tcontrol = Setting(":SENSe[1]:AVERage:TCONtrol", Choice("REPeat", "MOVing"), "REP")
    average_count = Setting(":SENSe[1]:AVERage:COUNt", Integer(1, 100, default=10), 10)
    elements = Setting(":FORMat:ELEMents[:SENSe[1]]",
                       ChoiceList("VOLTage", "CURRent", "RESistance", "TIME", "STATus"),
                       ["VOLT", "CURR", "RES", "TIME", "STAT"])
    data_format = Setting(":FORMat[:DATA]", Choice("ASCii", "REAL", "SREal"), "ASC")
    byte_order = Setting(":FORMat:BORDer", Choice("NORMal", "SWAPped"), "NORM")
    sreg_format = Setting(":FORMat:SREGister", Choice("ASCii", "HEXadecimal", "OCTal", "BINary"), "ASC")
    calc_elements = Setting(":FORMat:ELEMents:CALCulate", ChoiceList("CALCulate", "TIME", "STATus"), ["CALC"])
    output = Setting(":OUTPut[1][:STATe]", Bool(), False)
    output_off_mode = Setting(":OUTPut[1]:SMODe", Choice("HIMPedance", "NORMal", "ZERO", "GUARd"), "NORM")
    output_enable = Setting(":OUTPut[1]:ENABle[:STATe]", Bool(), False)
    autozero = Setting(":SYSTem:AZERo[:STATe]", Raw(), "1")
    remote_sense = Setting(":SYSTem:RSENse", Bool(), False)
    line_frequency = Setting(":SYSTem:LFRequency", Integer(50, 60, default=60), 50)
    line_frequency_auto = Setting(":SYSTem:LFRequency:AUTO", Bool(), True)
    terminals = Setting(":ROUTe:TERMinals", Choice("FRONt", "REAR"), "FRON")
    display_enabled = Setting(":DISPlay:ENABle", Bool(), True)
    trigger_count = Setting(":TRIGger:COUNt", Integer(1, 2500, default=1), 1)
    trigger_delay = Setting(":TRIGger:DELay", Number(0, 999.9999, default=0.0), 0.0)
    trigger_source = Setting(":TRIGger:SOURce", Choice("IMMediate", "TLINk"), "IMM")
    trigger_output = Setting(":TRIGger:OUTPut", Choice("SOURce", "DELay", "SENSe", "NONE"), "NONE")
    trigger_iline = Setting(":TRIGger:ILINe", Integer(1, 4, default=1), 1)
    trigger_oline = Setting(":TRIGger:OLINe", Integer(1, 4, default=2), 2)
    arm_count = Setting(":ARM:COUNt", Integer(1, 2500, default=1), 1)
    arm_source = Setting(":ARM:SOURce", Choice("IMMediate", "TLINk", "TIMer", "MANual", "BUS",
                                                "NSTest", "PSTest", "BSTest"), "IMM")
    arm_timer = Setting(":ARM:TIMer", Number(0.001, 99999.99, default=0.1), 0.1)
    arm_output = Setting(":ARM:OUTPut", Choice("TENTer", "TEXit", "NONE"), "NONE")
    arm_iline = Setting(":ARM:ILINe", Integer(1, 4, default=1), 1)
    arm_oline = Setting(":ARM:OLINe", Integer(1, 4, default=2), 2)
    trace_points = Setting(":TRACe:POINts", Integer(1, 2500, default=100), 100)
    trace_feed = Setting(":TRACe:FEED", Choice("SENSe", "CALCulate", "CALCulate2"), "SENS")
    trace_feed_control = Setting(":TRACe:FEED:CONTrol", Choice("NEVer", "NEXT"), "NEV")
    calc3_format = Setting(":CALCulate<n>:FORMat", Choice("MEAN", "SDEViation", "MAXimum", "MINimum", "PKPK"), "MEAN")
    meas_enable = Setting(":STATus:MEASurement:ENABle", Integer(0, 65535, default=0), 0)
    oper_enable = Setting(":STATus:OPERation:ENABle", Integer(0, 65535, default=0), 0)
    ques_enable = Setting(":STATus:QUEStionable:ENABle", Integer(0, 65535, default=0), 0)
    trace_tstamp = Setting(":TRACe:TSTamp:FORMat", Choice("ABSolute", "DELTa"), "ABS")
    beeper_enabled = Setting(":SYSTem:BEEPer:STATe", Bool(), True)

    def __init__(self, load, clock=None, faults=None, noise=None):
        self.load = load
        self._noise = ReadingNoise(noise)
        self._time_zero = clock.time() if clock is not None else 0.0
        self._last: list[list[float]] = []
        self._buffer: list[list[float]] = []    # TRACe: kept through *RST (Table 18-10)
        self._sense_functions = {"CURR"}
        self._meas_event = 0
        super().__init__(clock, faults)

    #: Not affected by ``*RST``: the TRACe subsystem (Table 18-10 p.18-21) and the status
    #: enable register (IEEE 488.2 *RST leaves the status reporting structure alone).
    RESET_EXEMPT = ("trace_points", "trace_feed", "trace_feed_control", "trace_tstamp",
                    "meas_enable", "oper_enable", "ques_enable")

    def reset(self) -> None:
        kept = {k: self._values[k] for k in self.RESET_EXEMPT if k in self._values}
        super().reset()
        self._values.update(kept)
        self._sense_functions = {"CURR"}
        self._last = []
        if getattr(self, "load", None) is not None:
            self._apply_output()

    def format_number(self, value: float) -> str:
        if not math.isfinite(value):
            value = NAN_VALUE
        return f"{value:+.6E}"

    # -- hooks: keep the load in step with the front panel ------------------------
    def on_output(self, value: bool) -> None:
        self._apply_output()

    def on_source_voltage(self, value: float) -> None:
        self._apply_output()

    def on_source_current(self, value: float) -> None:
        self._apply_output()

    def on_source_function(self, value: str) -> None:
        if value == "MEM":
            raise SCPIError(-221)
        self._apply_output()

    def on_line_frequency(self, value: int) -> None:
        if value not in (50, 60):
            self.line_frequency = 50
            raise SCPIError(-222)

    def _function(self) -> str:
        return "CURR" if self.source_function == "CURR" else "VOLT"

    def _compliance(self) -> float:
        return abs(self.compliance_A) if self._function() == "VOLT" else abs(self.compliance_V)

    def _level(self) -> float:
        return self.source_voltage if self._function() == "VOLT" else self.source_current

    def _apply_output(self, level: float | None = None, on: bool | None = None):
        on = self.output if on is None else on
        level = self._level() if level is None else level
        return self.load.apply(self._function(), level, self._compliance(), on)

    # -- sense ----------------------------------------------------------------------
    @scpi(":SENSe[1]:FUNCtion[:ON]", params=None)
    def _sense_on(self, tokens):
        funcs = set()
        for t in tokens:
            name = t.strip("\"'").upper().split(":")[0]
            key = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "CURR": "CURR", "CURRENT": "CURR",
                   "RES": "RES", "RESISTANCE": "RES"}.get(name)
            if key is None:
                raise SCPIError(-224)
            funcs.add(key)
        if not funcs:
            raise SCPIError(-109)
        self._sense_functions = funcs if self.concurrent else {sorted(funcs)[0]}

    @scpi(":SENSe[1]:FUNCtion[:ON]?")
    def _sense_on_q(self):
        names = {"VOLT": '"VOLT:DC"', "CURR": '"CURR:DC"', "RES": '"RES"'}
        return ",".join(names[f] for f in sorted(self._sense_functions))

    @scpi(":SENSe[1]:FUNCtion[:ON]:ALL")
    def _sense_all(self):
        self._sense_functions = {"VOLT", "CURR", "RES"}

    @scpi(":SENSe[1]:FUNCtion:OFF:ALL")
    def _sense_off_all(self):
        self._sense_functions = set()

    @scpi(":SENSe[1]:CURRent[:DC]:PROTection:TRIPped?")
    def _tripped_i(self):
        op = self._apply_output()
        return "1" if (op.in_compliance and self._function() == "VOLT") else "0"

    @scpi(":SENSe[1]:VOLTage[:DC]:PROTection:TRIPped?")
    def _tripped_v(self):
        op = self._apply_output()
        return "1" if (op.in_compliance and self._function() == "CURR") else "0"

    # -- source ----------------------------------------------------------------------
    @scpi(":SOURce[1]:VOLTage:STEP", params=(Number(-420, 420),))
    def _v_step(self, step):
        self._set_step(step, self.voltage_start, self.voltage_stop)

    @scpi(":SOURce[1]:CURRent:STEP", params=(Number(-2.1, 2.1),))
    def _i_step(self, step):
        self._set_step(step, self.current_start, self.current_stop)

    def _set_step(self, step, start, stop):
        # Step and points are coupled: points = |stop - start| / |step| + 1 (2400 manual, SWEep).
        if step == 0:
            raise SCPIError(-222)
        points = int(round(abs(stop - start) / abs(step))) + 1
        if not 2 <= points <= 2500:
            raise SCPIError(-222)
        self.sweep_points = points

    @scpi(":SOURce[1]:VOLTage:STEP?")
    def _v_step_q(self):
        return self.format_number((self.voltage_stop - self.voltage_start) / (self.sweep_points - 1))

    @scpi(":SOURce[1]:CURRent:STEP?")
    def _i_step_q(self):
        return self.format_number((self.current_stop - self.current_start) / (self.sweep_points - 1))

    @scpi(":SOURce[1]:LIST:VOLTage:POINts?")
    def _list_v_points(self):
        return str(len(self.list_voltage))

    @scpi(":SOURce[1]:LIST:CURRent:POINts?")
    def _list_i_points(self):
        return str(len(self.list_current))

    @scpi(":SOURce[1]:CLEar[:IMMediate]")
    def _source_clear(self):
        self.output = False
        self._apply_output()

    def source_values(self) -> list[float]:
        """Source levels of one trigger-model run (fixed, sweep or list), one per reading."""
        values = self._values
        count = values["trigger_count"] * values["arm_count"]
        if values["source_function"] == "CURR":
            if values["current_mode"] == "FIX":
                return [values["source_current"]] * count
        elif values["voltage_mode"] == "FIX":
            return [values["source_voltage"]] * count
        if self._function() == "VOLT":
            mode, start, stop, lst = self.voltage_mode, self.voltage_start, self.voltage_stop, self.list_voltage
            level = self.source_voltage
        else:
            mode, start, stop, lst = self.current_mode, self.current_start, self.current_stop, self.list_current
            level = self.source_current
        if mode == "SWE":
            n = self.sweep_points
            if self.sweep_spacing == "LOG":
                if start <= 0 or stop <= 0:
                    raise SCPIError(-221)
                values = list(np.geomspace(start, stop, n))
            else:
                values = list(np.linspace(start, stop, n))
            if self.sweep_direction == "DOWN":
                values.reverse()
        elif mode == "LIST":
            values = list(lst)
        else:
            values = [level]
        count = self.trigger_count * self.arm_count
        return [values[k % len(values)] for k in range(count)]

    # -- measuring ---------------------------------------------------------------------
    def reading_time_s(self) -> float:
        """Simulated duration of one reading [s]: delay + NPLC / line frequency + overhead."""
        delay = self.source_delay + self.trigger_delay
        if self.source_delay_auto:
            delay += 1e-3
        return delay + self.nplc / self.line_frequency + _READING_OVERHEAD_S

    def _one_reading(self, level: float) -> list[float]:
        # Hot path (one call per reading): settings are read straight from the value dict.
        values = self._values
        func = "CURR" if values["source_function"] == "CURR" else "VOLT"
        compliance = abs(values["compliance_A"] if func == "VOLT" else values["compliance_V"])
        op = self.load.apply(func, level, compliance, True)
        self.wait(self.reading_time_s())
        t = self.now() - self._time_zero
        v = self._noise(op.voltage_V, "voltage")
        i = self._noise(op.current_A, "current")
        status = ST_FRONT if values["terminals"] == "FRON" else 0
        status |= ST_V_SOUR if func == "VOLT" else ST_I_SOUR
        if values["remote_sense"]:
            status |= ST_REMOTE_SENSE
        if op.in_compliance:
            status |= ST_COMPLIANCE
        # Range overflow in manual range: the reading is 9.9e37 and OFLO is set.
        if func == "VOLT" and not values["current_range_auto"] and abs(i) > abs(values["current_range"]):
            i, status = OVERFLOW_VALUE, status | ST_OFLO | ST_RANGE_COMPLIANCE
        if func == "CURR" and not values["voltage_range_auto"] and abs(v) > abs(values["voltage_range"]):
            v, status = OVERFLOW_VALUE, status | ST_OFLO | ST_RANGE_COMPLIANCE
        funcs = self._sense_functions
        if "VOLT" in funcs:
            status |= ST_V_MEAS
        if "CURR" in funcs:
            status |= ST_I_MEAS
        if "RES" in funcs:
            status |= ST_R_MEAS
            r = v / i if (i != 0 and abs(i) < OVERFLOW_VALUE and abs(v) < OVERFLOW_VALUE) else NAN_VALUE
        else:
            r = NAN_VALUE
        # A function that is neither sourced nor measured reads as NaN (9.91e37).
        if func != "VOLT" and "VOLT" not in funcs and "RES" not in funcs:
            v = NAN_VALUE
        if func != "CURR" and "CURR" not in funcs and "RES" not in funcs:
            i = NAN_VALUE
        return [v, i, r, t, float(status)]

    def run_trigger_model(self) -> list[list[float]]:
        """One INITiate: all readings of the configured count / sweep / list."""
        output = self.output
        if not output and not self.auto_clear:
            raise SCPIError(803, "Not permitted with OUTPUT off")
        values = self.source_values()
        mode = self.voltage_mode if self._function() == "VOLT" else self.current_mode
        if self._values["sweep_cab"] == "NEV" or mode == "FIX":
            readings = [self._one_reading(level) for level in values]
        else:
            # Abort on compliance (EARLy / LATE, Table 18-7 p.18-18): the sweep ends with the
            # first reading in compliance *(where in the SDM cycle: not modelled)*.
            readings = []
            for level in values:
                readings.append(self._one_reading(level))
                if int(readings[-1][4]) & ST_COMPLIANCE:
                    break
        # After the run the source returns to its fixed level (or off with auto-clear); a
        # fixed-level run with the output on left the load exactly there already.
        if not (output and len(values) == 1 and values[0] == self._level()):
            self._apply_output()
        self._last = readings
        if self.trace_feed_control == "NEXT":
            room = self.trace_points - len(self._buffer)
            self._buffer.extend(readings[:room])
            if len(self._buffer) >= self.trace_points:
                self.trace_feed_control = "NEV"
                self._meas_event |= 1 << 9   # buffer full
        return readings

    def _format(self, readings: list[list[float]]) -> str:
        cols = [_ELEMENT_INDEX[e] for e in self.elements]
        fmt = self.format_number
        return ",".join([fmt(r[c]) for r in readings for c in cols])

    @scpi(":INITiate[:IMMediate]")
    def _init(self):
        self.run_trigger_model()

    @scpi(":ABORt")
    def _abort(self):
        """Readings are synchronous; nothing is in flight to abort."""

    @scpi(":TRIGger:CLEar")
    def _trig_clear(self):
        """No pending input triggers are kept."""

    @scpi(":FETCh?")
    def _fetch(self):
        if not self._last:
            raise SCPIError(-230)
        return self._format(self._last)

    @scpi(":READ?")
    def _read(self):
        return self._format(self.run_trigger_model())

    @scpi(":MEASure[:VOLTage][:DC]?", ":MEASure:CURRent[:DC]?", ":MEASure:RESistance?")
    def _measure(self):
        # :MEASure = :CONFigure (which turns the output on) + :READ? (2400 manual, MEASure).
        self.output = True
        self._apply_output()
        return self._format(self.run_trigger_model())

    @scpi(":CONFigure[:VOLTage][:DC]", ":CONFigure:CURRent[:DC]", ":CONFigure:RESistance")
    def _configure(self):
        self.output = True
        self._apply_output()

    @scpi(":SYSTem:TIME:RESet")
    def _time_reset(self):
        self._time_zero = self.now()

    # -- buffer, statistics, status ------------------------------------------------
    @scpi(":TRACe:CLEar")
    def _trace_clear(self):
        self._buffer = []
        self._meas_event &= ~(1 << 9)

    @scpi(":TRACe:DATA?")
    def _trace_data(self):
        return self._format(self._buffer) if self._buffer else ""

    @scpi(":TRACe:POINts:ACTual?")
    def _trace_actual(self):
        return str(len(self._buffer))

    @scpi(":CALCulate<n>:DATA?")
    def _calc_data(self, suffix=(3,)):
        if suffix != (3,):
            raise SCPIError(-113)
        if not self._buffer:
            raise SCPIError(-230)
        a = np.asarray(self._buffer)[:, :3]
        ops = {"MEAN": np.mean, "SDEV": lambda x, axis: np.std(x, axis=axis, ddof=1),
               "MAX": np.max, "MIN": np.min, "PKPK": np.ptp}
        return ",".join(self.format_number(v) for v in ops[self.calc3_format](a, axis=0))

    @scpi(":STATus:MEASurement[:EVENt]?")
    def _meas_event_q(self):
        value, self._meas_event = self._meas_event, 0
        return str(value)

    # The Operation and Questionable registers exist; the simulator sets none of their bits.
    @scpi(":STATus:OPERation[:EVENt]?", ":STATus:QUEStionable[:EVENt]?",
          ":STATus:OPERation:CONDition?", ":STATus:QUEStionable:CONDition?",
          ":STATus:MEASurement:CONDition?")
    def _other_registers(self):
        return "0"

    @scpi(":STATus:PRESet")
    def _stat_pres(self):
        """Clear the enable registers (UM §15 "status structure", :STATus:PRESet)."""
        self.meas_enable = self.oper_enable = self.ques_enable = 0

    @scpi(":STATus:QUEue[:NEXT]?")
    def _stat_queue(self):
        """"Performs the same function as :SYSTem:ERRor[:NEXT]?" (UM p.18-109 note)."""
        return self._syst_err()

    @scpi(":SYSTem:ERRor:CODE[:NEXT]?")
    def _err_code(self):
        return str(self.pop_error()[0])       # code only (UM p.18-109)

    @scpi(":SYSTem:ERRor:CODE:ALL?")
    def _err_code_all(self):
        codes = []
        while self.error_count:
            codes.append(str(self.pop_error()[0]))
        return ",".join(codes or ["0"])

    @scpi(":SYSTem:PRESet")
    def _preset(self):
        """The :SYSTem:PRESet defaults: the *RST ones except byte order SWAPped (Table 18-3
        note p.18-9; other differences: none found)."""
        self.reset()
        self._values["byte_order"] = "SWAP"

    @scpi(":SYSTem:VERSion?")
    def _version(self):
        return "1996.0"                       # the SCPI version (UM p.18-112)

    @scpi(":SYSTem:TIME?")
    def _time_q(self):
        return self.format_number(self.now() - self._time_zero)    # UM p.18-112

    def status_byte(self) -> int:
        stb = super().status_byte()
        if self._meas_event & self.meas_enable:
            stb |= 0x01   # MSB: measurement summary
            if self.sre & 0x01:
                stb |= 0x40
        return stb

    @scpi(":SYSTem:BEEPer[:IMMediate]", params=(Number(65, 2e6), Number(0, 7.9)))
    def _beep(self, frequency, duration):
        """A simulated beep is silent."""

    @scpi(":SYSTem:KEY", params=(Integer(1, 31),))
    def _key(self, key):
        """Front-panel key presses change nothing on the simulator."""
