"""Simulated Keithley 2450 SourceMeter (SCPI command set, over a socket).

It drives a load (a :class:`~simulators.pixel.Pixel` or a photodiode) as
:mod:`simulators.keithley2400` does. The reading buffers and ``:TRACe`` live in
:mod:`simulators.keithley2450_buffers`, the event log and status model in
:mod:`simulators.keithley2450_status`, sweeps and the trigger model in
:mod:`simulators.keithley2450_trigger`, number and element formats in
:mod:`simulators.keithley2450_format`.

Sources: Keithley *Model 2450 Interactive SourceMeter Instrument Reference Manual*,
2450-901-01 Rev. B, September 2013 (RM-B; §6 SCPI command reference, App. B common
commands); the 2450's own TSP help (WH-2450 <topic>, Tektronix tsp-toolkit-webhelp, pages of
2019) for the ``*RST`` defaults the Rev. B extracts lost (the TSP attribute and the SCPI
command set one setting); real-unit records where the manual is silent (QC-NB: QCoDeS
example notebook, firmware 1.6.7c). Each behaviour's source is in its docstring or comment;
``docs/instrument-fidelity.md`` tabulates them. *(guess)* marks what no source gave.
"""
from __future__ import annotations

from .keithley2450_buffers import DEFAULT_BUFFERS, DEFAULT_CAPACITY, ReadingBuffer, TraceCommands
from .keithley2450_format import (RANGES, SSTAT_LIMIT, SSTAT_OUTPUT, SSTAT_READBACK,
                                  SSTAT_SENSE, STAT_QUESTIONABLE, STAT_TERMINAL, ascii_number,
                                  range_for, utc_now_s)
from .keithley2450_status import EventLogAndStatus
from .keithley2450_trigger import TriggerModel
from .scpi import Bool, Choice, Integer, Number, QString, SCPIError, SCPIInstrument, Setting, scpi
from .smu_common import NAN_VALUE, OVERFLOW_VALUE, ReadingNoise
from .smu_common import READING_OVERHEAD_S as _READING_OVERHEAD_S

__all__ = ["Keithley2450", "LANGUAGES"]

#: ``*LANG`` command sets (RM-B p.B-5): default SCPI, kept in nonvolatile memory.
LANGUAGES = ("SCPI", "TSP", "SCPI2400")
#: Common commands a 2450 accepts in the TSP command set (WH-2450 33277).
_TSP_COMMON = frozenset({"*CLS", "*ESE", "*ESE?", "*ESR?", "*IDN?", "*LANG", "*LANG?", "*OPC",
                         "*OPC?", "*RST", "*SRE", "*SRE?", "*STB?", "*TRG", "*TST?", "*WAI"})
#: Source auto delay per current range [s] (RM-B §2 p.2-111 "Source delay" table: 10 nA and
#: 100 nA 50 ms, 1 µA 3 ms, 10 µA 2 ms, 100 µA … 100 mA 1 ms, 1 A 1 ms sourcing voltage,
#: 2 ms sourcing current). *Which current range sets it when sourcing voltage (here: the
#: measure range) is inferred.*
_AUTO_DELAY_S = {1e-8: 0.05, 1e-7: 0.05, 1e-6: 3e-3, 1e-5: 2e-3}
_PROT = Choice("PROT2", "PROT5", "PROT10", "PROT20", "PROT40", "PROT60", "PROT80", "PROT100",
               "PROT120", "PROT140", "PROT160", "PROT180", "NONE")
_SENSE_NAMES = {"CURR": '"CURR:DC"', "VOLT": '"VOLT:DC"', "RES": '"RES"'}
_SENSE_PARSE = {"CURR": "CURR", "CURRENT": "CURR", "CURR:DC": "CURR", "CURRENT:DC": "CURR",
                "VOLT": "VOLT", "VOLTAGE": "VOLT", "VOLT:DC": "VOLT", "VOLTAGE:DC": "VOLT",
                "RES": "RES", "RESISTANCE": "RES"}
_LIMIT_NAME = {"VOLT": "ilimit_A", "CURR": "vlimit_V"}
#: Per measure function: the names of its NPLC, rel state, rel level, autorange, autorange
#: low limit and remote-sense settings.
_KEYS = {f: tuple(f"{p}_{k}" for k in ("nplc", "rel", "rel_level", "range_auto", "llim",
                                        "rsense"))
         for f, p in (("CURR", "curr"), ("VOLT", "volt"), ("RES", "res"))}


def _s(pattern, ptype, default):
    return Setting(pattern, ptype, default)


class Keithley2450(EventLogAndStatus, TraceCommands, TriggerModel, SCPIInstrument):
    """Keithley 2450 SourceMeter (±210 V, ±1.05 A) in its SCPI command set.

    Parameters
    ----------
    load : object with ``apply(function, level, compliance, output_on)``
    clock : ScaledClock or None
    faults : FaultPlan or None
    noise : NoiseModel or None
    language : ``"SCPI"`` (default, as shipped), ``"TSP"`` or ``"SCPI2400"``
        The command set in use at power-up (``*LANG``, RM-B p.B-5).
    line_frequency_Hz : 50 or 60
    """

    #: Real firmware (1.5.0g, 1.6.7c) answers without "INC." (client records of real units:
    #: QC-NB and a 2450 script tested on 1.5.0g); RM-B p.B-5's example has "INC.".
    IDN = "KEITHLEY INSTRUMENTS,MODEL 2450,04131002,1.7.3b"

    # -- SOURce (RM-B p.6-66 … 6-77; defaults WH-2450, see the fidelity table) -----------
    source_function = _s(":SOURce[1]:FUNCtion[:MODE]", Choice("VOLTage", "CURRent"), "VOLT")
    ilimit_A = _s(":SOURce[1]:VOLTage:ILIMit[:LEVel]", Number(-1.05, 1.05, default=1.05e-4), 1.05e-4)
    vlimit_V = _s(":SOURce[1]:CURRent:VLIMit[:LEVel]", Number(-210, 210, default=21.0), 21.0)
    v_range_auto = _s(":SOURce[1]:VOLTage:RANGe:AUTO", Bool(), True)
    i_range_auto = _s(":SOURce[1]:CURRent:RANGe:AUTO", Bool(), True)
    v_delay_auto = _s(":SOURce[1]:VOLTage:DELay:AUTO", Bool(), True)
    i_delay_auto = _s(":SOURce[1]:CURRent:DELay:AUTO", Bool(), True)
    v_readback = _s(":SOURce[1]:VOLTage:READ:BACK", Bool(), True)
    i_readback = _s(":SOURce[1]:CURRent:READ:BACK", Bool(), True)
    v_high_cap = _s(":SOURce[1]:VOLTage:HIGH:CAPacitance", Bool(), False)
    i_high_cap = _s(":SOURce[1]:CURRent:HIGH:CAPacitance", Bool(), False)
    ovp = _s(":SOURce[1]:VOLTage:PROTection[:LEVel]", _PROT, "NONE")
    # -- OUTPut, ROUTe (RM-B p.6-32 … 6-35) -----------------------------------------------
    output = _s(":OUTPut[1][:STATe]", Bool(), False)
    v_off_mode = _s(":OUTPut[1]:VOLTage:SMODe", Choice("NORMal", "HIMPedance", "ZERO", "GUARd"), "NORM")
    i_off_mode = _s(":OUTPut[1]:CURRent:SMODe", Choice("NORMal", "HIMPedance", "ZERO", "GUARd"), "NORM")
    terminals = _s(":ROUTe:TERMinals", Choice("FRONt", "REAR"), "FRON")
    # -- SENSe, per measure function (RM-B p.6-43 … 6-53; WH-2450 29048 … 30066) ----------
    count = _s("[:SENSe[1]]:COUNt", Integer(1, 300_000, default=1), 1)
    curr_range_auto = _s("[:SENSe[1]]:CURRent[:DC]:RANGe:AUTO", Bool(), True)
    volt_range_auto = _s("[:SENSe[1]]:VOLTage[:DC]:RANGe:AUTO", Bool(), True)
    res_range_auto = _s("[:SENSe[1]]:RESistance:RANGe:AUTO", Bool(), True)
    curr_llim = _s("[:SENSe[1]]:CURRent[:DC]:RANGe:AUTO:LLIMit", Number(1e-8, 1.0, default=1e-8), 1e-8)
    volt_llim = _s("[:SENSe[1]]:VOLTage[:DC]:RANGe:AUTO:LLIMit", Number(0.02, 200, default=0.02), 0.02)
    res_llim = _s("[:SENSe[1]]:RESistance:RANGe:AUTO:LLIMit", Number(2, 2e8, default=20.0), 20.0)
    curr_nplc = _s("[:SENSe[1]]:CURRent[:DC]:NPLCycles", Number(0.01, 10, default=1.0), 1.0)
    volt_nplc = _s("[:SENSe[1]]:VOLTage[:DC]:NPLCycles", Number(0.01, 10, default=1.0), 1.0)
    res_nplc = _s("[:SENSe[1]]:RESistance:NPLCycles", Number(0.01, 10, default=1.0), 1.0)
    curr_azero = _s("[:SENSe[1]]:CURRent[:DC]:AZERo[:STATe]", Bool(), True)
    volt_azero = _s("[:SENSe[1]]:VOLTage[:DC]:AZERo[:STATe]", Bool(), True)
    res_azero = _s("[:SENSe[1]]:RESistance:AZERo[:STATe]", Bool(), True)
    curr_rsense = _s("[:SENSe[1]]:CURRent[:DC]:RSENse", Bool(), False)
    volt_rsense = _s("[:SENSe[1]]:VOLTage[:DC]:RSENse", Bool(), False)
    res_rsense = _s("[:SENSe[1]]:RESistance:RSENse", Bool(), False)
    curr_avg = _s("[:SENSe[1]]:CURRent[:DC]:AVERage[:STATe]", Bool(), False)
    volt_avg = _s("[:SENSe[1]]:VOLTage[:DC]:AVERage[:STATe]", Bool(), False)
    res_avg = _s("[:SENSe[1]]:RESistance:AVERage[:STATe]", Bool(), False)
    curr_avg_tcon = _s("[:SENSe[1]]:CURRent[:DC]:AVERage:TCONtrol", Choice("REPeat", "MOVing"), "REP")
    volt_avg_tcon = _s("[:SENSe[1]]:VOLTage[:DC]:AVERage:TCONtrol", Choice("REPeat", "MOVing"), "REP")
    res_avg_tcon = _s("[:SENSe[1]]:RESistance:AVERage:TCONtrol", Choice("REPeat", "MOVing"), "REP")
    curr_avg_count = _s("[:SENSe[1]]:CURRent[:DC]:AVERage:COUNt", Integer(1, 100, default=10), 10)
    volt_avg_count = _s("[:SENSe[1]]:VOLTage[:DC]:AVERage:COUNt", Integer(1, 100, default=10), 10)
    res_avg_count = _s("[:SENSe[1]]:RESistance:AVERage:COUNt", Integer(1, 100, default=10), 10)
    curr_rel = _s("[:SENSe[1]]:CURRent[:DC]:RELative:STATe", Bool(), False)
    volt_rel = _s("[:SENSe[1]]:VOLTage[:DC]:RELative:STATe", Bool(), False)
    res_rel = _s("[:SENSe[1]]:RESistance:RELative:STATe", Bool(), False)
    curr_rel_level = _s("[:SENSe[1]]:CURRent[:DC]:RELative", Number(-1.05, 1.05, default=0.0), 0.0)
    volt_rel_level = _s("[:SENSe[1]]:VOLTage[:DC]:RELative", Number(-210, 210, default=0.0), 0.0)
    res_rel_level = _s("[:SENSe[1]]:RESistance:RELative", Number(-2e8, 2e8, default=0.0), 0.0)
    res_ocomp = _s("[:SENSe[1]]:RESistance:OCOMpensated", Bool(), False)
    # -- FORMat, DISPlay (RM-B p.6-28/6-30; WH-2450 28416) --------------------------------
    #: Only ASCii is modelled: the transport carries text lines (REAL/SREAL give -224,
    #: a simulator limitation, not 2450 behaviour).
    data_format = _s(":FORMat[:DATA]", Choice("ASCii"), "ASC")
    ascii_precision = _s(":FORMat:ASCii:PRECision", Integer(0, 16, default=0), 0)
    curr_digits = _s(":DISPlay:CURRent:DIGits", Integer(3, 6, default=5), 5)
    volt_digits = _s(":DISPlay:VOLTage:DIGits", Integer(3, 6, default=5), 5)
    res_digits = _s(":DISPlay:RESistance:DIGits", Integer(3, 6, default=5), 5)

    def __init__(self, load, clock=None, faults=None, noise=None, *, language: str = "SCPI",
                 line_frequency_Hz: int = 50):
        if language not in LANGUAGES:
            raise ValueError(f"language = {language!r} is not allowed: use one of "
                             f"{', '.join(LANGUAGES)}")
        if line_frequency_Hz not in (50, 60):
            raise ValueError(f"line_frequency_Hz = {line_frequency_Hz!r} is not allowed: "
                             "use 50 or 60")
        self.load = load
        self._noise = ReadingNoise(noise)
        self.language = self.language_saved = language
        self.line_frequency = line_frequency_Hz
        self.display_light = "ON50"
        self._epoch_s = utc_now_s() - (clock.time() if clock is not None else 0.0)
        self._limited = False
        self._buffers: dict[str, ReadingBuffer] = {}
        self._init_event_log()
        super().__init__(clock, faults)     # creates the lock, then reset()

    # -- state --------------------------------------------------------------------------
    def reset(self) -> None:
        """``*RST``: settings to their defaults; the trigger model is aborted and unloaded,
        the default buffers are back to 10,000 readings and empty, user buffers and source
        lists are gone *(user buffers: guess)*. The event log, the status registers and the
        display brightness stay (RM-B p.B-2, p.B-7; WH-2450 33459)."""
        if hasattr(self, "_idle"):
            self.stop_trigger_model()
        else:
            self._init_trigger_model()
        super().reset()
        self._sweep = None
        self.source_lists = {"VOLT": [], "CURR": []}
        self.levels = {"VOLT": 0.0, "CURR": 0.0}           # RM-B p.6-70: 0
        # Source ranges: 20 mV and 10 nA (RM-B p.6-74; WH-2450 29383), autorange on.
        self.source_ranges = {"VOLT": 0.02, "CURR": 1e-8}
        self.source_delays = {"VOLT": 0.0, "CURR": 0.0}    # WH-2450 29079
        # Measure ranges: 100 µA, 20 mV, 200 kΩ (WH-2450 29407); autorange on.
        self.measure_ranges = {"CURR": 1e-4, "VOLT": 0.02, "RES": 2e5}
        self.sense_function = "CURR"                       # WH-2450 25622
        self._buffers = {n: ReadingBuffer(n, DEFAULT_CAPACITY) for n in DEFAULT_BUFFERS}
        self._limited = False
        if getattr(self, "load", None) is not None:
            self._apply_output()

    def power_cycle(self) -> None:
        """Switch the simulated unit off and on: the saved ``*LANG`` command set takes
        effect (*that it needs this is what users report — QCoDeS PR #1533 —, not manual
        text*), the event log and status registers empty, the display at ON50."""
        with self._lock:
            self.language = self.language_saved
            self.display_light = "ON50"
            self._init_event_log()
            self.esr = self.ese = self.sre = 0
            self.reset()

    def close(self) -> None:
        """Stop a running trigger model (the bench calls this before closing its servers)."""
        self.stop_trigger_model()

    def event_time_s(self) -> float:
        return self._epoch_s + self.now()

    def format_reading(self, value: float) -> str:
        return ascii_number(value, self._values["ascii_precision"])

    def format_number(self, value: float) -> str:
        """Setting queries: the automatic ASCII format (*guess: the 2450's text of
        ``:SOUR:VOLT:ILIM?`` and the like was not found*)."""
        return ascii_number(value)

    @property
    def display_digits(self) -> int:
        return self._values[{"CURR": "curr_digits", "VOLT": "volt_digits",
                             "RES": "res_digits"}[self.sense_function]]

    # -- language ---------------------------------------------------------------------------
    def handle(self, message: str) -> str | None:
        if self.language == "SCPI":
            return super().handle(message)
        with self._lock:
            head = message.strip().split(None, 1)[0].upper() if message.strip() else ""
            if head in _TSP_COMMON:
                return super().handle(message.strip())
            if self.language == "TSP":
                # SCPI text is Lua to a TSP unit: -285, no reply (WH-2450 27658).
                near = message.strip()[:1] or "<eof>"
                self.push_error(-285, f"TSP Syntax error at line 1: unexpected symbol near `{near}'")
            else:
                # The 2400 command set is not modelled: logged -113 (simulator limitation).
                self.push_error(-113)
            return None

    @scpi("*LANG", params=(Choice("TSP", "SCPI", "SCPI2400"),))
    def _lang(self, language):
        """Saved in nonvolatile memory; in effect after a power cycle (see power_cycle)."""
        self.language_saved = language

    @scpi("*LANG?")
    def _lang_q(self):
        """The command set in use (RM-B p.B-6: in TSP mode ``*LANG?`` answers ``TSP``)."""
        return self.language

    @scpi("*TST?")
    def _tst_q(self):
        return "0"                       # "This command is accepted and returns 0" (RM-B p.B-10)

    _opt = None                          # *OPT? is not a 2450 common command (WH-2450 33277)

    # -- source ---------------------------------------------------------------------------
    def _function(self) -> str:
        return self._values["source_function"]

    def _limit(self, function: str) -> float:
        return abs(self._values[_LIMIT_NAME[function]])

    def _apply_output(self, level=None):
        f = self._function()
        return self.load.apply(f, self.levels[f] if level is None else level, self._limit(f),
                               self._values["output"])

    def on_output(self, value):
        self._apply_output()

    def on_source_function(self, value):
        self._apply_output()

    def on_terminals(self, value):
        # "If the output is turned on when you change from one set of terminals to the
        # other, the output is turned off" (RM-B p.6-35).
        if self._values["output"]:
            self._values["output"] = False
            self._apply_output()

    def _set_level(self, function, level):
        """RM-B p.6-70: with a fixed source range the level cannot exceed it (-222 *code:
        guess*); with autorange any level in ±210 V / ±1.05 A."""
        auto = self._values["v_range_auto" if function == "VOLT" else "i_range_auto"]
        if not auto and abs(level) > self.source_ranges[function] * 1.05:
            raise SCPIError(-222)
        self.levels[function] = level
        if auto:
            self.source_ranges[function] = range_for(level, RANGES[function])
        if function == self._values["source_function"]:
            self._apply_output()

    @scpi(":SOURce[1]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", params=(Number(-210, 210, default=0.0),))
    def _v_level(self, level):
        self._set_level("VOLT", level)

    @scpi(":SOURce[1]:CURRent[:LEVel][:IMMediate][:AMPLitude]", params=(Number(-1.05, 1.05, default=0.0),))
    def _i_level(self, level):
        self._set_level("CURR", level)

    @scpi(":SOURce[1]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?")
    def _v_level_q(self):
        return self.format_number(self.levels["VOLT"])

    @scpi(":SOURce[1]:CURRent[:LEVel][:IMMediate][:AMPLitude]?")
    def _i_level_q(self):
        return self.format_number(self.levels["CURR"])

    def _set_source_range(self, function, value):
        """A range value selects the range that holds it and turns autorange off (RM-B
        p.6-75)."""
        self.source_ranges[function] = range_for(value, RANGES[function])
        self._values["v_range_auto" if function == "VOLT" else "i_range_auto"] = False

    @scpi(":SOURce[1]:VOLTage:RANGe", params=(Number(-210, 210, default=0.02),))
    def _v_range(self, value):
        self._set_source_range("VOLT", value)

    @scpi(":SOURce[1]:CURRent:RANGe", params=(Number(-1.05, 1.05, default=1e-8),))
    def _i_range(self, value):
        self._set_source_range("CURR", value)

    @scpi(":SOURce[1]:VOLTage:RANGe?")
    def _v_range_q(self):
        return self.format_number(self.source_ranges["VOLT"])

    @scpi(":SOURce[1]:CURRent:RANGe?")
    def _i_range_q(self):
        return self.format_number(self.source_ranges["CURR"])

    def _set_delay(self, function, value):
        """Setting a delay turns source auto delay off (RM-B App. D p.D-19; WH-2450 33143);
        0 … 10 ks (WH-2450 29079)."""
        self.source_delays[function] = value
        self._values["v_delay_auto" if function == "VOLT" else "i_delay_auto"] = False

    @scpi(":SOURce[1]:VOLTage:DELay", params=(Number(0, 1e4, default=0.0),))
    def _v_delay(self, value):
        self._set_delay("VOLT", value)

    @scpi(":SOURce[1]:CURRent:DELay", params=(Number(0, 1e4, default=0.0),))
    def _i_delay(self, value):
        self._set_delay("CURR", value)

    @scpi(":SOURce[1]:VOLTage:DELay?")
    def _v_delay_q(self):
        return self.format_number(self.source_delays["VOLT"])

    @scpi(":SOURce[1]:CURRent:DELay?")
    def _i_delay_q(self):
        return self.format_number(self.source_delays["CURR"])

    def _tripped(self, function) -> str:
        """``1`` while the output is on and the source is clamped at its limit (RM-B
        p.6-72). *For the function not sourced: 0 (guess; TSP returns nil).*"""
        if function != self._function() or not self._values["output"]:
            return "0"
        return "1" if self._apply_output().in_compliance else "0"

    @scpi(":SOURce[1]:VOLTage:ILIMit[:LEVel]:TRIPped?")
    def _ilim_tripped(self):
        return self._tripped("VOLT")

    @scpi(":SOURce[1]:CURRent:VLIMit[:LEVel]:TRIPped?")
    def _vlim_tripped(self):
        return self._tripped("CURR")

    @scpi(":SOURce[1]:VOLTage:PROTection[:LEVel]:TRIPped?")
    def _ovp_tripped(self):
        return "0"                      # OVP clamping is not modelled

    def on_ilimit_A(self, value):
        self._apply_output()

    def on_vlimit_V(self, value):
        self._apply_output()

    # -- sense ------------------------------------------------------------------------------
    @scpi("[:SENSe[1]]:FUNCtion[:ON]", params=(QString(),))
    def _sense_func(self, name):
        """``:SENS:FUNC "CURR"|"VOLT"|"RES"`` (also ``"CURR:DC"``); the query answers the
        quoted ``"CURR:DC"`` (QCoDeS maps the real reply so)."""
        key = _SENSE_PARSE.get(name.upper())
        if key is None:
            raise SCPIError(-224)
        self.sense_function = key

    @scpi("[:SENSe[1]]:FUNCtion[:ON]?")
    def _sense_func_q(self):
        return _SENSE_NAMES[self.sense_function]

    def _set_measure_range(self, function, value):
        self.measure_ranges[function] = range_for(value, RANGES[function])
        self._values[{"CURR": "curr_range_auto", "VOLT": "volt_range_auto",
                      "RES": "res_range_auto"}[function]] = False

    @scpi("[:SENSe[1]]:CURRent[:DC]:RANGe[:UPPer]", params=(Number(-1.05, 1.05, default=1e-4),))
    def _curr_range(self, value):
        self._set_measure_range("CURR", value)

    @scpi("[:SENSe[1]]:VOLTage[:DC]:RANGe[:UPPer]", params=(Number(-210, 210, default=0.02),))
    def _volt_range(self, value):
        self._set_measure_range("VOLT", value)

    @scpi("[:SENSe[1]]:RESistance:RANGe[:UPPer]", params=(Number(0, 2.1e8, default=2e5),))
    def _res_range(self, value):
        self._set_measure_range("RES", value)

    @scpi("[:SENSe[1]]:CURRent[:DC]:RANGe[:UPPer]?")
    def _curr_range_q(self):
        return self.format_number(self.measure_ranges["CURR"])

    @scpi("[:SENSe[1]]:VOLTage[:DC]:RANGe[:UPPer]?")
    def _volt_range_q(self):
        return self.format_number(self.measure_ranges["VOLT"])

    @scpi("[:SENSe[1]]:RESistance:RANGe[:UPPer]?")
    def _res_range_q(self):
        return self.format_number(self.measure_ranges["RES"])

    @scpi("[:SENSe[1]]:AZERo:ONCE")
    def _azero_once(self):
        """A one-shot reference measurement (RM-B p.6-46): it takes one integration."""
        self.wait(self._values["curr_nplc"] / self.line_frequency)

    # -- display, system ----------------------------------------------------------------------
    @scpi(":DISPlay:LIGHt:STATe", params=(Choice("ON100", "ON75", "ON50", "ON25", "OFF",
                                                 "BLACkout"),))
    def _display_light(self, state):
        """Brightness; power cycle only, not ``*RST`` (WH-2450 33459)."""
        self.display_light = state

    @scpi(":DISPlay:LIGHt:STATe?")
    def _display_light_q(self):
        return self.display_light

    @scpi(":SYSTem:LFRequency?")
    def _lfr_q(self):
        return str(self.line_frequency)  # read only, 50 or 60 (WH-2450 32628)

    @scpi(":SYSTem:BEEPer[:IMMediate]", params=(Number(20, 8e3), Number(0.001, 100)))
    def _beep(self, frequency, duration):
        """A simulated beep is silent (*limits 20 Hz … 8 kHz, 1 ms … 100 s: guess*)."""

    # -- measuring ----------------------------------------------------------------------------
    def point_start(self, function, level, range_type=None):
        """Apply one source level; return what the point needs to finish."""
        values = self._values
        if function != values["source_function"]:
            values["source_function"] = function
        self.levels[function] = level
        if range_type in (None, "AUTO", "BEST") and \
                values["v_range_auto" if function == "VOLT" else "i_range_auto"]:
            self.source_ranges[function] = range_for(level, RANGES[function])
        elif range_type == "FIX":
            # "If a sweep point exceeds the capability of the source range, the source
            # outputs the maximum level for that range" (WH-2450 30563).
            top = self.source_ranges[function] * 1.05
            level = max(-top, min(top, level))
        op = self.load.apply(function, level, abs(values[_LIMIT_NAME[function]]), values["output"])
        return function, level, op

    def point_wait(self, pending, extra_delay_s: float) -> None:
        """Source delay (manual or auto) + sweep delay + NPLC / line frequency + overhead."""
        function = pending[0]
        values = self._values
        if values["v_delay_auto" if function == "VOLT" else "i_delay_auto"]:
            i_range = self.measure_ranges["CURR"] if function == "VOLT" else \
                self.source_ranges["CURR"]
            delay = _AUTO_DELAY_S.get(i_range, 2e-3 if (function, i_range) == ("CURR", 1.0)
                                      else 1e-3)
        else:
            delay = self.source_delays[function]
        nplc = values[_KEYS[self.sense_function][0]]
        self.wait(delay + extra_delay_s + nplc / self.line_frequency + _READING_OVERHEAD_S)

    def point_finish(self, pending, buffer):
        """The reading of a point, stored in ``buffer``; returns the reading tuple."""
        function, level, op = pending
        values = self._values
        mf = self.sense_function
        _, rel, rel_level, auto, llim, rsense = _KEYS[mf]
        if mf == "CURR":
            value = self._noise(op.current_A, "current")
        elif mf == "VOLT":
            value = self._noise(op.voltage_V, "voltage")
        else:
            i = self._noise(op.current_A, "current")
            value = self._noise(op.voltage_V, "voltage") / i if i else NAN_VALUE
        if values[rel]:
            value -= values[rel_level]
        status = STAT_TERMINAL if values["terminals"] == "FRON" else 0
        if values[auto]:
            a = abs(value)
            m_range = range_for(a if a > values[llim] else values[llim], RANGES[mf])
            self.measure_ranges[mf] = m_range
        else:
            m_range = self.measure_ranges[mf]
            if abs(value) > m_range * 1.05:       # over range: 9.9E+37 *(guess: SCPI text)*
                value, status = OVERFLOW_VALUE, status | STAT_QUESTIONABLE
        on = values["output"]
        if values["v_readback" if function == "VOLT" else "i_readback"]:
            source = self._noise(op.voltage_V, "voltage") if function == "VOLT" else \
                self._noise(op.current_A, "current")
            s_status = SSTAT_READBACK
        else:
            source, s_status = level, 0
        limited = bool(on and op.in_compliance)
        if on:
            s_status |= SSTAT_OUTPUT
            if limited:
                s_status |= SSTAT_LIMIT
        if values[rsense]:
            s_status |= SSTAT_SENSE
        if limited is not self._limited:          # 5080 / 5081 (WH-2450 40158)
            self._limited = limited
            self.notify_event(5080 if limited else 5081)
        reading = (value, source, self._epoch_s + self.clock.time() if self.clock else
                   self._epoch_s, status, s_status, mf, function, m_range,
                   self.source_ranges[function])
        buffer.append(reading)
        return reading

    def take_readings(self, n: int, buffer) -> tuple:
        """``n`` readings at the present source level into ``buffer``; the last one."""
        function = self._function()
        reading = None
        for _ in range(n):
            pending = self.point_start(function, self.levels[function])
            self.point_wait(pending, 0.0)
            reading = self.point_finish(pending, buffer)
        return reading

    def begin_sweep(self, sweep) -> None:
        """A sweep recalls its configuration list: the source function, and the output on
        *(guess: the sweep's trigger model turns the output on and leaves it on)*."""
        self._values["source_function"] = sweep.function
        if sweep.delay_s == -1:          # "smu.DELAY_AUTO, which enables autodelay" (WH 30563)
            self._values["v_delay_auto" if sweep.function == "VOLT" else "i_delay_auto"] = True
        if sweep.range_type == "BEST":
            f = sweep.function
            self.source_ranges[f] = range_for(max(abs(v) for v in sweep.levels), RANGES[f])
        self._values["output"] = True

    @scpi(":READ?", params=None)
    def _read(self, tokens):
        """``:READ? ["<buf>"[, <elements>]]``: ``[:SENSe]:COUNt`` readings into the buffer,
        the **last** one returned (RM-B p.6-6). With the output off the unit still measures
        its off state *(guess: the manual rule was not found)*."""
        buf, rest = self._buffer_arg(tokens)
        reading = self.take_readings(self.count, buf)
        return self._reply(buf, [reading], rest)

    def _measure(self, function, tokens):
        if function is not None:
            self.sense_function = function   # the function stays selected (RM-B p.6-4)
        return self._read(tokens)

    @scpi(":MEASure?", params=None)
    def _measure_any(self, tokens):
        """``:MEASure?`` without a function: the 2461's form (2461 manual p.6-4, a sibling);
        QCoDeS sends ``:MEASure? 'defbuffer1'`` to real 2450s."""
        return self._measure(None, tokens)

    @scpi(":MEASure:CURRent[:DC]?", params=None)
    def _measure_i(self, tokens):
        return self._measure("CURR", tokens)

    @scpi(":MEASure:VOLTage[:DC]?", params=None)
    def _measure_v(self, tokens):
        return self._measure("VOLT", tokens)

    @scpi(":MEASure:RESistance?", params=None)
    def _measure_r(self, tokens):
        return self._measure("RES", tokens)
