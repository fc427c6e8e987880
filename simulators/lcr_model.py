"""What the simulated LCR meters (E4980A, 4284A) do to a reading: the measurement status of
``:FETCh?``, the conditions that set it, the impedance ranges, level regulation (ALC) and the
measurement time.

Pure functions and small frozen tables; :mod:`simulators.e4980a` and
:mod:`simulators.hp4284a` call them for every measurement. Each entry says where it comes
from; "guess" marks what no document read so far states (docs/instrument-fidelity.md lists
them).

Status codes of the ``<STATUS>`` field of ``:FETCh?`` (``SN``: sign and one digit):

===== ======================================= ==========================================
code  E4980A (User's Guide, "Data Transfer",  4284A (Operation Manual 04284-90040, ch. 7
      p. 261; also p. 183)                    "ASCII format", p. 7-8, as quoted by two
                                              client drivers; manual text not read)
===== ======================================= ==========================================
 −1   no data in the data buffer memory       no data in the data buffer memory
  0   normal measurement data                 normal measurement data
 +1   overload                                analog bridge is unbalanced
 +2   (not defined)                           A/D converter is not working
 +3   signal source overloaded                signal source overloaded
 +4   ALC unable to regulate                  ALC unable to regulate
===== ======================================= ==========================================

Data on a bad status: E4980A −1 and +1 → both data fields 9.9E37, 0/+3/+4 → the measured
data (UG p. 261). 4284A: −1, +1 and +2 → 9.9E37 (guess from the E4980A rule and the
4284A-compatible TH2829 manual, "Handler" chapter; the 4284A text was not read).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["NO_DATA", "NORMAL", "OVERLOAD", "AD_NOT_WORKING", "SOURCE_OVERLOAD",
           "ALC_UNREGULATED", "OVERLOAD_DATA", "StatusTable", "E4980A_STATUS",
           "HP4284A_STATUS", "RangeTable", "E4980A_RANGES", "HP4284A_RANGES",
           "SourceModel", "regulated_level_Vrms", "MeasurementTimeTable",
           "E4980A_MEASUREMENT_TIME", "HP4284A_MEASUREMENT_TIME", "IMPEDANCE_FUNCTIONS",
           "impedance_values"]

NO_DATA, NORMAL, OVERLOAD, AD_NOT_WORKING, SOURCE_OVERLOAD, ALC_UNREGULATED = -1, 0, 1, 2, 3, 4
#: The value both data fields carry when the status says there are no valid data.
OVERLOAD_DATA = 9.9e37


@dataclass(frozen=True)
class StatusTable:
    """The status codes a model defines, their meaning, and which of them void the data."""

    meanings: dict
    no_data_codes: frozenset

    def data_valid(self, status: int) -> bool:
        """Whether the data fields carry measured values (else 9.9E37)."""
        return status not in self.no_data_codes


E4980A_STATUS = StatusTable(
    meanings={NO_DATA: "no data", NORMAL: "normal", OVERLOAD: "overload",
              SOURCE_OVERLOAD: "signal source overloaded",
              ALC_UNREGULATED: "ALC unable to regulate"},
    no_data_codes=frozenset({NO_DATA, OVERLOAD}))

HP4284A_STATUS = StatusTable(
    meanings={NO_DATA: "no data", NORMAL: "normal",
              OVERLOAD: "analog bridge unbalanced", AD_NOT_WORKING: "A/D converter not working",
              SOURCE_OVERLOAD: "signal source overloaded",
              ALC_UNREGULATED: "ALC unable to regulate"},
    no_data_codes=frozenset({NO_DATA, OVERLOAD, AD_NOT_WORKING}))


# ---------------------------------------------------------------------- display functions
IMPEDANCE_FUNCTIONS = ("CPD", "CPQ", "CPG", "CPRP", "CSD", "CSQ", "CSRS", "LPD", "LPQ", "LPG",
                       "LPRP", "LPRD", "LSD", "LSQ", "LSRS", "LSRD", "RX", "ZTD", "ZTR", "GB",
                       "YTD", "YTR", "VDID")


def impedance_values(function: str, frequency_Hz: float, cp_F: float, g_S: float) -> tuple[float, float]:
    """Primary and secondary values of ``function`` for a parallel Cp–G admittance.

    Y = G + jωCp, Z = 1/Y; D = G/(ωCp), Q = 1/D; series Cs = −1/(ω·Im Z), Rs = Re Z;
    inductances from the same Z with L = X/ω (E4980A User's Guide, "Measurement
    parameters").
    """
    w = 2 * math.pi * frequency_Hz
    y = complex(g_S, w * cp_F)
    if y == 0:
        z = complex(math.inf, 0.0)
    else:
        z = 1 / y
    d = g_S / (w * cp_F) if cp_F else math.inf
    q = 1 / d if d else math.inf
    rp = 1 / g_S if g_S else math.inf
    cs = -1 / (w * z.imag) if z.imag else math.inf
    ls, lp = z.imag / w, (-1 / (w * y.imag) if y.imag else math.inf)
    table = {
        "CPD": (cp_F, d), "CPQ": (cp_F, q), "CPG": (cp_F, g_S), "CPRP": (cp_F, rp),
        "CSD": (cs, d), "CSQ": (cs, q), "CSRS": (cs, z.real),
        "LPD": (lp, d), "LPQ": (lp, q), "LPG": (lp, g_S), "LPRP": (lp, rp), "LPRD": (lp, rp),
        "LSD": (ls, d), "LSQ": (ls, q), "LSRS": (ls, z.real), "LSRD": (ls, z.real),
        "RX": (z.real, z.imag), "ZTD": (abs(z), math.degrees(math.atan2(z.imag, z.real))),
        "ZTR": (abs(z), math.atan2(z.imag, z.real)), "GB": (y.real, y.imag),
        "YTD": (abs(y), math.degrees(math.atan2(y.imag, y.real))),
        "YTR": (abs(y), math.atan2(y.imag, y.real)), "VDID": (0.0, 0.0),
    }
    return table[function]


# ---------------------------------------------------------------------- impedance ranges
@dataclass(frozen=True)
class RangeTable:
    """Nominal impedance ranges [Ω] of ``:FUNCtion:IMPedance:RANGe`` and when a held range
    overloads.

    ``:FUNC:IMP:RANG <value>`` selects the smallest nominal range ≥ the value (the value is
    "the impedance you expect"; the meter picks the range that covers it) and switches
    auto-range off (QCoDeS ``keysight_e4980a`` "range": "Selects the impedance measurement
    range, also turns the auto range function OFF"; PyMeasure ``Agilent4284A.
    impedance_range``: "will select an appropriate measurement range for the setting
    value").

    Overload with a held range (guess, the range tables of the manuals were not read): an
    auto-balancing bridge converts the DUT current to a voltage over the range resistor, so
    too *low* an impedance for the held range saturates it. A range R measures down to the
    next lower nominal range (the lowest range down to 0 Ω) with 10 % margin, the margin the
    sibling E4981A states ("available measurement range exceeded more than about 10 %",
    E4981A Programming Manual, App. D); too high an impedance on a low range only costs
    accuracy. Auto-range always finds a range: no overload from |Z|.
    """

    ranges_ohm: tuple
    margin: float = 0.10

    def select(self, value_ohm: float) -> float:
        for r in self.ranges_ohm:
            if value_ohm <= r * (1 + 1e-9):
                return r
        return self.ranges_ohm[-1]

    def lower_limit_ohm(self, range_ohm: float) -> float:
        below = [r for r in self.ranges_ohm if r < range_ohm]
        return below[-1] if below else 0.0

    def overloaded(self, z_ohm: float, range_ohm: float) -> bool:
        """|Z| too low for the held range ``range_ohm``."""
        return z_ohm < self.lower_limit_ohm(range_ohm) / (1.0 + self.margin)


#: E4980A: 1 Ω … 100 kΩ (0.1 Ω only with option 001), as QCoDeS' keysight_e4980a validates
#: ``:FUNCtion:IMPedance:RANGe`` (client code; the guide's range table was not read).
E4980A_RANGES = RangeTable((1.0, 10.0, 100.0, 300.0, 1e3, 3e3, 10e3, 30e3, 100e3))
E4980A_RANGES_OPTION_001 = RangeTable((0.1,) + E4980A_RANGES.ranges_ohm)
#: 4284A: 10 Ω … 100 kΩ in decades (guess: the ranges of the 4284A front panel as recalled,
#: not read in the manual).
HP4284A_RANGES = RangeTable((10.0, 100.0, 1e3, 10e3, 100e3))


# ---------------------------------------------------------------------- level and ALC
@dataclass(frozen=True)
class SourceModel:
    """The test-signal source: open-circuit amplitude limit [V rms], output resistance [Ω],
    current limit [A rms], and the DC bias source's current limit [A].

    E4980A: level 0–2 V rms (0–20 V rms with option 001; data sheet 5989-4435EN "Test
    signal"), current level 0–20 mA rms (0–100 mA with option 001; QCoDeS keysight_e4980a
    validators, client code). Output resistance 100 Ω (guess: the nominal source impedance
    of the E4980A/4284A family as recalled, not read). DC bias current limit: 20 mA for the
    standard unit's 1.5 V / 2 V bias ("DC bias test signal current (1.5 V/2.0 V): Output
    current Max. 20 mA", data sheet 5989-4435EN pp. 34–35 as extracted in
    /work/research/lcr.md §5), ±100 mA with option 001 (same pages; QCoDeS). Not modelled:
    option 001's bias source resistance (V_DUT = V_b − 100 Ω·I_b, same pages).
    """

    max_level_Vrms: float
    output_resistance_ohm: float = 100.0
    max_current_Arms: float = 0.02
    max_bias_current_A: float = 0.02


def regulated_level_Vrms(level_Vrms: float, z: complex, source: SourceModel,
                         alc_on: bool) -> tuple[float, bool]:
    """The test-signal level across the DUT [V rms] and whether ALC failed to regulate it.

    ALC off: the DUT sees the set level (the simulator's simplification: a real meter sets
    the source voltage behind its output resistance, so a low |Z| sees less; not modelled,
    guess). ALC on: the meter raises the source until the DUT sees the set level, which
    needs V_src = V·|Z + R_out|/|Z|; beyond the source's limit it stays at the limit and the
    DUT sees V_max·|Z|/|Z + R_out| with status +4 "ALC unable to regulate" (UG p. 261 names
    the status; the condition is our model).
    """
    if not alc_on or level_Vrms <= 0:
        return level_Vrms, False
    if not math.isfinite(abs(z)):
        return level_Vrms, False
    r = source.output_resistance_ohm
    divider = abs(z) / abs(z + r) if abs(z + r) > 0 else 0.0
    if divider <= 0:
        return 0.0, True
    needed = level_Vrms / divider
    if needed <= source.max_level_Vrms * (1 + 1e-12):
        return level_Vrms, False
    return source.max_level_Vrms * divider, True


# ---------------------------------------------------------------------- measurement time
@dataclass(frozen=True)
class MeasurementTimeTable:
    """Time of one measurement [s] per aperture (SHORT/MED/LONG) at tabulated frequencies.

    Between the tabulated frequencies the time is interpolated linearly in log f (our
    choice); below the lowest and above the highest it is held. Averaging ``n`` repeats the
    measurement: ``n × t(f)`` (the time a data sheet tabulates is per measurement; display
    and trigger overheads are left out).
    """

    frequencies_Hz: tuple
    times_s: dict      # aperture → tuple of times [s], one per frequency
    source: str

    def time_s(self, aperture: str, averages: int, frequency_Hz: float) -> float:
        f = self.frequencies_Hz
        t = self.times_s[aperture]
        x = math.log(min(max(frequency_Hz, f[0]), f[-1]))
        for k in range(len(f) - 1):
            lo, hi = math.log(f[k]), math.log(f[k + 1])
            if x <= hi:
                w = (x - lo) / (hi - lo)
                return averages * (t[k] + w * (t[k + 1] - t[k]))
        return averages * t[-1]


#: E4980A measurement time. Above 1 kHz: SHORT 5.6 ms, MED 88 ms, LONG 220 ms (data sheet
#: 5989-4435EN "Measurement time", as cited in this project before; the table was not found
#: again, so this is unverified). Below 1 kHz the time grows as whole periods of the test
#: signal must be integrated: guess until the data sheet's table is read — two periods
#: (SHORT), eight (MED) and twenty (LONG) added to the ≥ 1 kHz times.
E4980A_MEASUREMENT_TIME = MeasurementTimeTable(
    frequencies_Hz=(20.0, 100.0, 1e3, 2e6),
    times_s={"SHOR": (5.6e-3 + 2 / 20, 5.6e-3 + 2 / 100, 5.6e-3, 5.6e-3),
             "MED": (88e-3 + 8 / 20, 88e-3 + 8 / 100, 88e-3, 88e-3),
             "LONG": (220e-3 + 20 / 20, 220e-3 + 20 / 100, 220e-3, 220e-3)},
    source="E4980A data sheet 5989-4435EN, Measurement time (≥ 1 kHz); below 1 kHz a guess")

#: 4284A measurement time, "time interval from a trigger command to the EOM signal output at
#: the handler interface port": 100 Hz SHORT 270 / MED 400 / LONG 1040 ms, 1 kHz 40 / 190 /
#: 830 ms, 10 kHz and 1 MHz 30 / 180 / 820 ms (Agilent 4284A/4285A data sheet,
#: "Specifications", p. 14, as extracted in /work/research/lcr.md §4; the document's title
#: and edition are not visible in the extract). Below 100 Hz held at the 100 Hz values
#: (guess: 20 Hz is not tabulated).
HP4284A_MEASUREMENT_TIME = MeasurementTimeTable(
    frequencies_Hz=(100.0, 1e3, 10e3, 1e6),
    times_s={"SHOR": (270e-3, 40e-3, 30e-3, 30e-3),
             "MED": (400e-3, 190e-3, 180e-3, 180e-3),
             "LONG": (1040e-3, 830e-3, 820e-3, 820e-3)},
    source="Agilent 4284A/4285A data sheet, Specifications p. 14 (100 Hz … 1 MHz)")
