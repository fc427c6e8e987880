"""How a simulated Keithley 2450 writes what it measured: ranges, status words, the ASCII
number format and the text of every reading-buffer element.

Sources (cited as in ``docs/instrument-fidelity.md``):

- **RM-B** — Keithley, *Model 2450 Interactive SourceMeter Instrument Reference Manual*,
  2450-901-01 Rev. B, September 2013 (the only 2450 manual revision whose text was read);
- **WH-2450 <topic>** — the 2450's own TSP command help, Tektronix
  ``tsp-toolkit-webhelp`` ``WebHelpDocs/2450/<topic>.htm`` (pages last modified 2019, i.e.
  later than Rev. B); the TSP attribute and the SCPI command set one instrument setting;
- **QC-NB** — output recorded from a real 2450 (firmware 1.6.7c) in the QCoDeS example
  notebook "Qcodes example with keithley 2450" (a client's record of the instrument).

What is a guess is marked *(guess)* where it is used.
"""
from __future__ import annotations

import math
import time as _time

from .scpi import SCPIError
from .smu_common import NAN_VALUE

__all__ = ["CURRENT_RANGES_A", "VOLTAGE_RANGES_V", "RESISTANCE_RANGES_OHM", "RANGES",
           "STAT_QUESTIONABLE", "STAT_TERMINAL", "SSTAT_READBACK", "SSTAT_LIMIT",
           "SSTAT_SENSE", "SSTAT_OUTPUT", "SSTAT_PROTECTION", "ELEMENT_CODES",
           "parse_elements", "range_for", "ascii_number", "formatted_text", "UNIT_TEXT",
           "date_text", "time_text", "tstamp_text", "utc_now_s"]

#: Measure and source ranges (RM-B §6 p.6-50 ``[:SENSe[1]]:<function>:RANGe[:UPPer]``,
#: p.6-74 ``:SOURce[1]:<function>:RANGe``; WH-2450 29407, 29383: 10 nA … 1 A,
#: 20 mV … 200 V, 2 Ω … 200 MΩ).
CURRENT_RANGES_A = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
VOLTAGE_RANGES_V = (0.02, 0.2, 2.0, 20.0, 200.0)
RESISTANCE_RANGES_OHM = (2.0, 20.0, 200.0, 2e3, 2e4, 2e5, 2e6, 2e7, 2e8)
RANGES = {"CURR": CURRENT_RANGES_A, "VOLT": VOLTAGE_RANGES_V, "RES": RESISTANCE_RANGES_OHM}

# Measure status word, buffer element STATus (WH-2450 33164 ``bufferVar.statuses``; RM-B
# §8 p.8-33 prints QUESTIONABLE = 2 and ORIGIN = 4, the later help 1 and 6: the later values
# are used; both agree on TERMINAL = 8). ORIGIN is always 0 (main A/D) on a 2450.
STAT_QUESTIONABLE = 0x0001
STAT_TERMINAL = 0x0008          # 1 = front terminals, 0 = rear
# Source status word, buffer element SOURSTATus (WH-2450 34340 ``bufferVar.sourcestatuses``;
# RM-B §8 p.8-29 lists OVER_TEMP, LIMIT, SENSE, OUTPUT with the same values).
SSTAT_PROTECTION = 0x04         # overvoltage protection was active
SSTAT_READBACK = 0x08           # the measured source value was read (readback on)
SSTAT_LIMIT = 0x20              # the source was limited: compliance (STAT_LIMIT)
SSTAT_SENSE = 0x40              # four-wire remote sense
SSTAT_OUTPUT = 0x80             # the output was on

#: Buffer elements (RM-B §6 p.6-6 ``:READ?``, p.6-109 ``:TRACe:DATA?``): long form as the
#: manual spells it (short form in capitals) → canonical short form.
_ELEMENTS = ("DATE", "FORMatted", "FRACtional", "READing", "RELative", "SEConds", "SOURce",
             "SOURFORMatted", "SOURSTATus", "SOURUNIT", "STATus", "TIME", "TSTamp", "UNIT")
ELEMENT_CODES: dict[str, str] = {}
for _long in _ELEMENTS:
    _short = "".join(c for c in _long if not c.islower())
    ELEMENT_CODES[_short] = _short
    ELEMENT_CODES[_long.upper()] = _short
#: "Include up to 14 elements" (RM-B p.6-6).
MAX_ELEMENTS = 14
_ELEMENTS_CACHE: dict[tuple, tuple] = {}


def parse_elements(tokens) -> tuple[str, ...]:
    """Canonical element codes of a ``:READ?`` / ``:FETCh?`` / ``:TRACe:DATA?`` list.

    An empty list means ``READing`` (RM-B p.6-6: "if no buffer elements are defined, this
    option is used"). An unknown name is refused with -224 *(guess: the 2450's code for an
    unknown element name in ASCII mode was not found)*.
    """
    key = tuple(tokens)
    codes = _ELEMENTS_CACHE.get(key)
    if codes is None:
        if len(key) > MAX_ELEMENTS:
            raise SCPIError(-108, "Parameter not allowed")
        try:
            codes = tuple(ELEMENT_CODES[t.upper()] for t in key) or ("READ",)
        except KeyError:
            raise SCPIError(-224) from None
        if len(_ELEMENTS_CACHE) < 4096:
            _ELEMENTS_CACHE[key] = codes
    return codes


def range_for(value: float, ranges) -> float:
    """The smallest range that holds ``|value|`` within its 5 % over-range (the largest if
    none does): what autorange settles on, and which range a ``:RANGe <n>`` value selects
    (RM-B p.6-50: the range that accommodates the value; the 5 % over-range as in the
    limits 21 V / 210 V / 1.05 A of the 20 V / 200 V / 1 A ranges, RM-B p.6-70 — *that the
    boundary is exactly 105 % is a guess*)."""
    a = abs(value)
    for r in ranges:
        if a <= r * 1.05:
            return r
    return ranges[-1]


def ascii_number(value: float, precision: int = 0) -> str:
    """A number as the 2450 sends it with ``:FORMat:DATA ASCii``: ``-1.772451E-08``,
    ``0.000000E+00`` — 7 significant digits at the automatic precision 0, upper-case ``E``,
    no ``+`` on the mantissa (QC-NB, real unit; RM-B p.6-4 example ``-1.375422E-11``);
    ``:FORMat:ASCii:PRECision`` 1 … 16 significant digits (RM-B p.6-28, example at 10:
    ``-6.999999881E-01``). Not a number → 9.91E+37 (the Keithley NAN value)."""
    if value != value or value in (math.inf, -math.inf):
        value = NAN_VALUE
    if precision <= 0:
        return f"{value:.6E}"
    return f"{value:.{precision - 1}E}"


#: UNIT / SOURUNIT element text (WH-2450 25641 ``bufferVar.units``, 25707
#: ``bufferVar.sourceunits``: TSP texts; *that SCPI prints the same words is inferred*).
UNIT_TEXT = {"CURR": "Amp DC", "VOLT": "Volt DC", "RES": "Ohm"}
_SYMBOL = {"CURR": "A", "VOLT": "V", "RES": "Ohm"}   # *(guess: Ω is not ASCII)*
_PREFIXES = ((1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, ""), (1e3, "k"),
             (1e6, "M"), (1e9, "G"))     # *(guess: micro as "u"; the panel shows µ)*


def formatted_text(value: float, full_scale: float, function: str, digits: int) -> str:
    """The front-panel text of a reading: FORMatted / SOURFORMatted elements.

    Real examples: ``-016.084 nA`` (100 nA range, 5½ digits: six digits in all) and
    ``+00.00507 mV`` (source readback, 20 mV range; QC-NB); TSP ``+00.0028 nA`` (10 nA range,
    WH-2450 25640) and ``-00.00041 mV`` (RM-B p.8-28). The rule drawn from them: a sign,
    the range's unit prefix, as many integer digits as the range's full scale has (100 nA:
    three), ``digits`` digits in all *(inferred from those four examples)*. Over range or
    not a number: the ASCII number *(guess)*.
    """
    if not math.isfinite(value) or abs(value) >= 9.8e37:
        return ascii_number(value)
    scale, prefix = 1.0, ""
    for s, p in _PREFIXES:
        if full_scale >= s * 0.999999:
            scale, prefix = s, p
    fs = full_scale / scale
    int_digits = len(str(int(round(fs))))
    decimals = max(digits - int_digits, 0)
    width = int_digits + (decimals + 1 if decimals else 0)
    return f"{value / scale:+0{width + 1}.{decimals}f} {prefix}{_SYMBOL[function]}"


def utc_now_s() -> float:
    """The wall clock as UTC seconds (the instrument's real-time clock at power-up)."""
    return _time.time()


def date_text(utc_s: float) -> str:
    """DATE element: ``mm/dd/yyyy`` (QC-NB ``06/10/2020``; RM-B p.6-4 ``03/21/2013``)."""
    return _time.strftime("%m/%d/%Y", _time.gmtime(utc_s))


def time_text(utc_s: float) -> str:
    """TIME element: ``hh:mm:ss``, no fraction (QC-NB ``14:14:29``; WH-2450 25715)."""
    return _time.strftime("%H:%M:%S", _time.gmtime(utc_s))


def tstamp_text(utc_s: float) -> str:
    """TSTamp element: ``mm/dd/yyyy hh:mm:ss.nnnnnnnnn`` — the TSP ``bufferVar.timestamps``
    text (WH-2450 25716); *the SCPI text was not found (guess: the same)*."""
    whole = math.floor(utc_s)
    ns = int(round((utc_s - whole) * 1e9))
    if ns >= 1_000_000_000:
        whole, ns = whole + 1, ns - 1_000_000_000
    return _time.strftime("%m/%d/%Y %H:%M:%S", _time.gmtime(whole)) + f".{ns:09d}"
