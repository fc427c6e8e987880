"""The E4980A's SCPI command tree as the simulator declares it: settings with their presets
and the instrument's limits, and the handlers of FUNCtion, FREQuency, VOLTage/CURRent,
AMPLitude:ALC, BIAS, TRIGger, INITiate, FETCh, CORRection, LIST, APERture, FORMat, COMParator
and SYSTem:PRESet. :class:`simulators.e4980a.KeysightE4980A` adds the trigger system and the
measurement; the 4284A (:mod:`simulators.hp4284a`) overrides limits.

Keywords and parameter sets: Keysight *E4980A/AL User's Guide* E4980-90230, ch. "SCPI
Command Reference" as the clients use them (PyMeasure 0.16 ``AgilentE4980`` and
``Agilent4284A``, QCoDeS ``keysight_e4980a``); the reply formats of ``:FETCh?``: UG
"Data Transfer" p. 261. A value outside the instrument's range is refused with −222 "Data
out of range" and the setting keeps its value (SCPI-1999 Vol. 2 ch. 21: an execution error
is not executed; the E4980A's own error list was not read). Presets (``*RST``): function
Cp-D, 1 kHz, 1 V rms, MED ×1, auto range, ALC off, bias 0 V off (QCoDeS' E4980A example,
following the guide: "system default is 1kHz", "default is 1V"; the rest are guesses).
"""
from __future__ import annotations

import math

from . import lcr_model as model
from .scpi import (Bool, Choice, Integer, Number, NumberList, Raw, SCPIError, SCPIInstrument,
                   Setting, scpi)
from .scpi_syntax import parse_nrf

__all__ = ["E4980ACommands", "LIST_MAX_POINTS"]

#: Points of a list sweep (UG: 201 points).
LIST_MAX_POINTS = 201
_APERTURES = ("SHORt", "MEDium", "LONG")


def _value(token: str, lo: float, hi: float, default: float) -> float:
    """A numeric parameter with MIN/MAX/DEF against limits known only at run time."""
    key = token.strip().upper()
    if key in ("MIN", "MINIMUM"):
        return lo
    if key in ("MAX", "MAXIMUM"):
        return hi
    if key in ("DEF", "DEFAULT"):
        return default
    value = parse_nrf(token.strip())
    if not lo <= value <= hi:
        raise SCPIError(-222)
    return value


class E4980ACommands(SCPIInstrument):
    """Declarations of the E4980A's commands (see the module notes)."""

    F_MIN, F_MAX = 20.0, 2e6
    MAX_AVERAGES = 256

    function = Setting(":FUNCtion:IMPedance[:TYPE]", Choice(*model.IMPEDANCE_FUNCTIONS), "CPD")
    impedance_range_auto = Setting(":FUNCtion:IMPedance:RANGe:AUTO", Bool(), True)
    monitor_vac = Setting(":FUNCtion:SMONitor:VAC[:STATe]", Bool(), False)
    monitor_iac = Setting(":FUNCtion:SMONitor:IAC[:STATe]", Bool(), False)
    monitor_vdc = Setting(":FUNCtion:SMONitor:VDC[:STATe]", Bool(), False)
    monitor_idc = Setting(":FUNCtion:SMONitor:IDC[:STATe]", Bool(), False)
    alc_on = Setting(":AMPLitude:ALC", Bool(), False)
    bias_on = Setting(":BIAS:STATe", Bool(), False)
    bias_range_auto = Setting(":BIAS:RANGe:AUTO", Bool(), True)
    trigger_source = Setting(":TRIGger:SOURce", Choice("INTernal", "HOLD", "BUS", "EXTernal"),
                             "INT")
    trigger_delay = Setting(":TRIGger:DELay", Number(0, 999, default=0.0), 0.0)
    step_delay = Setting(":TRIGger:TDELay", Number(0, 999, default=0.0), 0.0)
    init_continuous = Setting(":INITiate:CONTinuous", Bool(), False)
    ascii_long = Setting(":FORMat:ASCii:LONG", Bool(), False)
    byte_order = Setting(":FORMat:BORDer", Choice("NORMal", "SWAPped"), "NORM")
    display_page = Setting(":DISPlay:PAGE", Raw(), "MEAS")
    comparator_on = Setting(":COMParator[:STATe]", Bool(), False)
    list_mode = Setting(":LIST:MODE", Choice("SEQuence", "STEP"), "SEQ")
    list_frequency = Setting(":LIST:FREQuency", NumberList(20, 2e6, LIST_MAX_POINTS), [])
    list_voltage = Setting(":LIST:VOLTage", NumberList(0, 20, LIST_MAX_POINTS), [])
    list_current = Setting(":LIST:CURRent", NumberList(0, 0.1, LIST_MAX_POINTS), [])
    list_bias = Setting(":LIST:BIAS:VOLTage", NumberList(-40, 40, LIST_MAX_POINTS), [])
    list_bias_current = Setting(":LIST:BIAS:CURRent", NumberList(-0.1, 0.1, LIST_MAX_POINTS),
                                [])
    corr_open = Setting(":CORRection:OPEN:STATe", Bool(), False)
    corr_short = Setting(":CORRection:SHORt:STATe", Bool(), False)
    corr_load = Setting(":CORRection:LOAD:STATe", Bool(), False)
    corr_method = Setting(":CORRection:METHod", Choice("SINGle", "MULTiple"), "SING")
    high_power = Setting(":OUTPut:HPOWer", Bool(), False)
    dc_isolation = Setting(":OUTPut:DC:ISOLation[:STATe]", Bool(), False)

    def reset(self) -> None:
        super().reset()
        self.frequency_Hz = 1000.0
        self.level_Vrms = 1.0
        self.current_level_A = 0.01
        self.signal_mode = "VOLT"        # the last of :VOLT / :CURR set selects it
        self.impedance_range = self.ranges().ranges_ohm[-1]
        self.bias_V = 0.0
        self.bias_current_A = 0.0
        self.bias_mode = "VOLT"
        self.corr_length_m = 0
        self.data_format = "ASC"
        self.list_bands: dict[int, str] = {}

    # -- limits a model overrides -------------------------------------------------------
    def ranges(self) -> model.RangeTable:
        return model.E4980A_RANGES

    def level_limit_Vrms(self) -> float:
        return 2.0

    def current_limit_Arms(self) -> float:
        return 0.02

    def check_bias(self, value: float) -> None:
        raise NotImplementedError

    def bias_current_limit_A(self) -> float:
        """Internal DC bias current: option 001 only (guess: ±100 mA; a standard unit 0)."""
        return 0.1 if getattr(self, "option_001", False) else 0.0

    # -- FUNCtion --------------------------------------------------------------------------
    @scpi(":FUNCtion:IMPedance:RANGe[:VALue]", params=(Raw(),))
    def _range(self, token):
        r = self.ranges().ranges_ohm
        self.impedance_range = self.ranges().select(_value(token, 0.0, math.inf, r[-1]))
        self.impedance_range_auto = False

    @scpi(":FUNCtion:IMPedance:RANGe[:VALue]?")
    def _range_q(self):
        return self.format_number(self.impedance_range)

    # -- FREQuency, VOLTage, CURRent ------------------------------------------------------
    @scpi(":FREQuency[:CW]", params=(Raw(),))
    def _freq(self, token):
        self.frequency_Hz = _value(token, self.F_MIN, self.F_MAX, 1000.0)

    @scpi(":FREQuency[:CW]?")
    def _freq_q(self):
        return self.format_number(self.frequency_Hz)

    @scpi(":VOLTage[:LEVel]", params=(Raw(),))
    def _volt(self, token):
        self.level_Vrms = _value(token, 0.0, self.level_limit_Vrms(), 1.0)
        self.signal_mode = "VOLT"

    @scpi(":VOLTage[:LEVel]?")
    def _volt_q(self):
        """No reply while the signal is set by current (QCoDeS detects the signal mode by the
        time-out of ``:VOLT:LEV?``; ISIS ``kse4980.proto``: "if in curr mode VOLT? does not
        respond"; client code on real meters). The error it queues, −221 "Settings
        conflict", is a guess (every unanswered message leaves an error here)."""
        if self.signal_mode != "VOLT":
            self._refuse_reply()
        return self.format_number(self.level_Vrms)

    @scpi(":CURRent[:LEVel]", params=(Raw(),))
    def _curr(self, token):
        self.current_level_A = _value(token, 0.0, self.current_limit_Arms(), 0.01)
        self.signal_mode = "CURR"

    @scpi(":CURRent[:LEVel]?")
    def _curr_q(self):
        """No reply while the signal is set by voltage (see ``:VOLT?``)."""
        if self.signal_mode != "CURR":
            self._refuse_reply()
        return self.format_number(self.current_level_A)

    # -- BIAS --------------------------------------------------------------------------
    @scpi(":BIAS:VOLTage[:LEVel]", params=(Raw(),))
    def _bias_volt(self, token):
        value = _value(token, -40.0, 40.0, 0.0)
        self.check_bias(value)
        self.bias_V = value
        self.bias_mode = "VOLT"

    @scpi(":BIAS:VOLTage[:LEVel]?")
    def _bias_volt_q(self):
        return self.format_number(self.bias_V)

    @scpi(":BIAS:CURRent[:LEVel]", params=(Raw(),))
    def _bias_curr(self, token):
        limit = self.bias_current_limit_A()
        self.bias_current_A = _value(token, -limit, limit, 0.0)
        self.bias_mode = "CURR"

    @scpi(":BIAS:CURRent[:LEVel]?")
    def _bias_curr_q(self):
        return self.format_number(self.bias_current_A)

    # -- APERture ----------------------------------------------------------------------
    @scpi(":APERture", params=(Choice(*_APERTURES), Integer(1, 256)), required=1)
    def _aper(self, time, averages=1):
        if averages > self.MAX_AVERAGES:
            raise SCPIError(-222)
        self._aperture = (time, averages)

    @scpi(":APERture?")
    def _aper_q(self):
        return f"{self._aperture[0]},{self._aperture[1]}"

    # -- CORRection (accepted; the simulated fixture has no residuals) ------------------
    @scpi(":CORRection:OPEN[:EXECute]")
    def _corr_open(self):
        self.wait(10.0)           # guess: an open measurement over all frequency points
        self.corr_open = True

    @scpi(":CORRection:SHORt[:EXECute]")
    def _corr_short(self):
        self.wait(10.0)
        self.corr_short = True

    @scpi(":CORRection:LOAD[:EXECute]")
    def _corr_load(self):
        self.corr_load = True

    @scpi(":CORRection:LENGth", params=(Integer(0, 4),))
    def _corr_length(self, metres):
        if metres not in (0, 1, 2, 4):      # 0, 1, 2, 4 m cables (PyMeasure 4284A validator)
            raise SCPIError(-222)
        self.corr_length_m = metres

    @scpi(":CORRection:LENGth?")
    def _corr_length_q(self):
        return str(self.corr_length_m)

    # -- LIST --------------------------------------------------------------------------
    def on_list_bias(self, values):
        for v in values:
            try:
                self.check_bias(v)
            except SCPIError:
                self.list_bias = []
                raise

    def on_list_voltage(self, values):
        if any(v > self.level_limit_Vrms() for v in values):
            self.list_voltage = []
            raise SCPIError(-222)

    def on_list_frequency(self, values):
        if any(not self.F_MIN <= v <= self.F_MAX for v in values):
            self.list_frequency = []
            raise SCPIError(-222)

    @scpi(":LIST:CLEar:ALL")
    def _list_clear(self):
        for name in ("list_frequency", "list_voltage", "list_current", "list_bias",
                     "list_bias_current"):
            setattr(self, name, [])
        self.list_bands = {}

    @scpi(":LIST:BAND<n>", params=None)
    def _list_band(self, tokens, suffix=(1,)):
        self.list_bands[suffix[0]] = ",".join(tokens)

    @scpi(":LIST:BAND<n>?")
    def _list_band_q(self, suffix=(1,)):
        return self.list_bands.get(suffix[0], "OFF")

    # -- FORMat ------------------------------------------------------------------------
    @scpi(":FORMat[:DATA]", params=(Choice("ASCii", "REAL"), Integer(32, 64)), required=1)
    def _form(self, kind, bits=64):
        self.data_format = kind if kind == "ASC" else f"REAL,{bits}"

    @scpi(":FORMat[:DATA]?")
    def _form_q(self):
        return self.data_format

    def format_data(self, value: float) -> str:
        """``SN.NNNNNESNN`` (``:FORM:ASC:LONG OFF``) or ``SN.NNNNNNNNNESNN`` (ON), UG p. 261."""
        if not math.isfinite(value):
            value = model.OVERLOAD_DATA
        return f"{value:+.9E}" if self.ascii_long else f"{value:+.5E}"

    def format_number(self, value: float) -> str:
        """Numeric query replies: ``+1.00000E+02`` (six digits, two-digit exponent), as a
        real E4980A answers ``:FUNC:IMP:RANG?`` (ISIS ``kse4980.proto`` matches these exact
        strings; client code) — the same shape as the data fields (UG p. 261)."""
        if not math.isfinite(value):
            value = model.OVERLOAD_DATA
        return f"{value:+.5E}"

    # -- replies: *TRG answers, some queries do not ------------------------------------
    def _execute(self, unit, prefix, replies):
        self._no_reply = False
        self._trg_taken = False
        n = len(replies)
        try:
            return super()._execute(unit, prefix, replies)
        finally:       # also when *TRG was ignored (−211): it still answers the buffer
            if self._no_reply and len(replies) > n:
                replies.pop()
            if self._trg_taken:
                replies.append(self._fetch())

    def _refuse_reply(self) -> None:
        self._no_reply = True
        self.push_error(-221, "Settings conflict")

    @scpi("*TRG")
    def _trg(self):
        """``*TRG`` ≡ ``:TRIG;:FETC?``: triggers (−211 when the system is Idle) and answers
        the data buffer ("Controlling the E4980A/AL via the LAN Interface", pp. 250–252, a
        third-party guide to the UG; PyMeasure ``Agilent4284A.trigger`` reads ``*TRG``'s
        reply; client code)."""
        self._trg_taken = True
        self.trigger()

    # -- INITiate, ABORt, SYSTem:PRESet -------------------------------------------------
    @scpi(":INITiate[:IMMediate]")
    def _init(self):
        self.initiate()

    @scpi(":ABORt")
    def _abort(self):
        self.abort()

    @scpi(":SYSTem:PRESet")
    def _preset(self):
        """The power-on state (guess: as after power-on, not as ``*RST``)."""
        self.power_on()

    # -- FETCh -------------------------------------------------------------------------
    @scpi(":FETCh[:IMPedance][:FORMatted]?")
    def _fetch(self):
        """``<A>,<B>,<STATUS>`` (+ ``,<BIN>`` with the comparator on; per list point with its
        IN/OUT judgement on the list page), UG p. 261 and p. 183."""
        list_page = self.list_sweep_active()
        out = []
        for a, b, status, *_ in self.results():
            out += [self.format_data(a), self.format_data(b), f"{status:+d}"]
            if list_page or self.comparator_on:
                out.append("+0")   # guess: OUT_OF_BINS / no list limits judged
        return ",".join(out)

    @scpi(":FETCh:IMPedance:CORRected?")
    def _fetch_corrected(self):
        """``<R>,<X>`` of the last measurement (two fields, as QCoDeS reads it; guess)."""
        *_, r, x = self.results()[-1]
        return f"{self.format_data(r)},{self.format_data(x)}"

    def _monitor(self, kind: str) -> str:
        """The level monitor of the last measurement: one number, as a client reads it
        (``float(":FETC:SMON:VDC?")``, an E4980A bias-sweep script); 9.9E37 with the
        monitor off (guess)."""
        self.results()
        on = {"VAC": self.monitor_vac, "IAC": self.monitor_iac, "VDC": self.monitor_vdc,
              "IDC": self.monitor_idc}[kind]
        value = self.last_monitor.get(kind, model.OVERLOAD_DATA) if on else model.OVERLOAD_DATA
        return self.format_data(value)

    @scpi(":FETCh:SMONitor:VAC?")
    def _fetch_vac(self):
        return self._monitor("VAC")

    @scpi(":FETCh:SMONitor:IAC?")
    def _fetch_iac(self):
        return self._monitor("IAC")

    @scpi(":FETCh:SMONitor:VDC?")
    def _fetch_vdc(self):
        return self._monitor("VDC")

    @scpi(":FETCh:SMONitor:IDC?")
    def _fetch_idc(self):
        return self._monitor("IDC")
