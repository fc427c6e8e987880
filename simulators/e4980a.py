"""Simulated Keysight E4980A precision LCR meter (SCPI over a socket); the 4284A builds on it.

The measured parallel capacitance Cp [F] and conductance G [S] come from
``pixel.capacitance(frequency_Hz, bias_V, level_Vrms)`` (the oscillator level is in
V rms, as the instrument sets it) plus seeded noise; every other display function
(Cp-D, Cs-Rs, Z-θ, …) is computed from the same admittance Y = G + jωCp.

Command sets: Keysight E4980A/AL User's Guide (E4980-90230, ch. 11 SCPI reference);
Agilent 4284A Operation Manual (04284-90040, ch. 8). What PyMeasure 0.16's
``AgilentE4980`` sends (``FORM ASC``, ``FUNCtion:IMPedance:TYPE``, ``:FREQ:CW``,
``:VOLT:LEV``, ``TRIG:SOUR``, ``:APER``, ``:FETCH?``, list sweeps) is accepted.

DC bias: without option 001 only 0, 1.5 and 2 V are allowed (anything else: -222);
with option 001 continuous ±40 V (E4980A) or ±40 V in high-power mode (4284A).
Measurement time from the aperture: SHORT 5.6 ms, MED 88 ms, LONG 220 ms per
average at ≥ 1 kHz (E4980A data sheet, "Measurement time"), on the scaled clock.

External bias (``bias_tee=True``): the meter reaches the pixel through a bias tee whose DC
port is the pixel's SMU. The tee feeds the SMU's DC through its inductor and the meter's
test signal through its coupling capacitor, so the AC rides on the DC the SMU holds; the
SMU, a voltage source with a current compliance, carries the device's DC current at that
bias and keeps its own readings (``Pixel.apply``). The DC bias at which the meter measures
is then

    V_DC = V_bias,meter (when ``:BIAS:STAT ON``) + V_SMU (when its output is on),

with V_SMU the voltage across the device (``Pixel.dc_bias_V``: below the programmed level
when the SMU is in compliance). The sum models both sources in series with the device.
A real tee's coupling capacitor would block the meter's own DC instead; the software never
uses both (the bias-tee route keeps the meter's bias off), and the sum makes a driver that
wrongly switches the meter's bias on as well measure at the wrong bias, where a blocked
model would hide it. Without a tee (``bias_tee=False``, a station with internal bias) the
meter sees its own bias only. (Agilent, *Impedance Measurement Handbook*, 5950-3000,
§2.4.2 "DC bias": internal bias through Hc, external bias sources and adapters.)
"""
from __future__ import annotations

import math

from .scpi import (Bool, Choice, Integer, Number, NumberList, Raw, SCPIError, SCPIInstrument,
                   Setting, scpi)

__all__ = ["KeysightE4980A", "IMPEDANCE_FUNCTIONS", "STANDARD_BIAS_V", "impedance_values"]

IMPEDANCE_FUNCTIONS = ("CPD", "CPQ", "CPG", "CPRP", "CSD", "CSQ", "CSRS", "LPD", "LPQ", "LPG",
                       "LPRP", "LPRD", "LSD", "LSQ", "LSRS", "LSRD", "RX", "ZTD", "ZTR", "GB",
                       "YTD", "YTR", "VDID")
_APERTURE_S = {"SHOR": 5.6e-3, "MED": 88e-3, "LONG": 220e-3}
STANDARD_BIAS_V = (0.0, 1.5, 2.0)


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


class KeysightE4980A(SCPIInstrument):
    """Keysight E4980A precision LCR meter (20 Hz – 2 MHz).

    Parameters
    ----------
    pixel : Pixel-like with ``capacitance(frequency_Hz, bias_V, level_Vrms)``
    clock, faults, noise
        As for every simulator.
    option_001 : bool
        Power amplifier / DC bias option: level 0–20 V rms, bias ±40 V.
    bias_tee : bool
        The pixel's SMU biases the device through a bias tee: its DC voltage
        (``pixel.dc_bias_V()``) adds to the meter's own bias (module notes).
    """

    IDN = "Keysight Technologies,E4980A,MY46201234,A.02.20"
    F_MIN, F_MAX = 20.0, 2e6
    BIAS_MAX_V = 40.0
    MAX_AVERAGES = 256

    function = Setting(":FUNCtion:IMPedance[:TYPE]", Choice(*IMPEDANCE_FUNCTIONS), "CPD")
    impedance_range_auto = Setting(":FUNCtion:IMPedance:RANGe:AUTO", Bool(), True)
    impedance_range = Setting(":FUNCtion:IMPedance:RANGe[:VALue]", Number(0, 1e5, default=1e5), 1e5)
    frequency_Hz = Setting(":FREQuency[:CW]", Number(20, 2e6, default=1000.0), 1000.0)
    level_Vrms = Setting(":VOLTage[:LEVel]", Number(0, 20, default=1.0), 1.0)
    current_level_A = Setting(":CURRent[:LEVel]", Number(0, 0.2, default=0.01), 0.01)
    bias_V = Setting(":BIAS:VOLTage[:LEVel]", Number(-40, 40, default=0.0), 0.0)
    bias_on = Setting(":BIAS:STATe", Bool(), False)
    trigger_source = Setting(":TRIGger:SOURce", Choice("INTernal", "HOLD", "BUS", "EXTernal"), "INT")
    trigger_delay = Setting(":TRIGger:DELay", Number(0, 999, default=0.0), 0.0)
    init_continuous = Setting(":INITiate:CONTinuous", Bool(), False)
    data_format = Setting(":FORMat[:DATA]", Choice("ASCii", "REAL", "REAL64"), "ASC")
    display_page = Setting(":DISPlay:PAGE", Raw(), "MEAS")
    list_mode = Setting(":LIST:MODE", Choice("SEQuence", "STEP"), "SEQ")
    list_frequency = Setting(":LIST:FREQuency", NumberList(20, 2e6, max_len=201), [])
    list_voltage = Setting(":LIST:VOLTage", NumberList(0, 20, max_len=201), [])
    list_bias = Setting(":LIST:BIAS:VOLTage", NumberList(-40, 40, max_len=201), [])
    corr_open = Setting(":CORRection:OPEN:STATe", Bool(), False)
    corr_short = Setting(":CORRection:SHORt:STATe", Bool(), False)
    corr_load = Setting(":CORRection:LOAD:STATe", Bool(), False)
    corr_length = Setting(":CORRection:LENGth", Integer(0, 4, default=0), 0)
    high_power = Setting(":OUTPut:HPOWer", Bool(), False)
    dc_isolation = Setting(":OUTPut:DC:ISOLation[:STATe]", Bool(), False)

    def __init__(self, pixel, clock=None, faults=None, noise=None, option_001: bool = True,
                 bias_tee: bool = False):
        self.pixel = pixel
        self.option_001 = bool(option_001)
        self.bias_tee = bool(bias_tee)
        self._noise = noise
        self._result: list[tuple[float, float, int]] = []
        self._aperture = ("MED", 1)
        super().__init__(clock, faults)
        self.OPT = "001" if self.option_001 else "0"

    def reset(self) -> None:
        super().reset()
        self._aperture = ("MED", 1)
        self._result = []

    def format_number(self, value: float) -> str:
        if not math.isfinite(value):
            value = 9.9e37
        return f"{value:+.6E}"

    # -- validation of option-dependent limits ---------------------------------------
    def level_limit_Vrms(self) -> float:
        return 20.0 if self.option_001 else 2.0

    def check_bias(self, value: float) -> None:
        if self.option_001:
            if abs(value) > self.BIAS_MAX_V:
                raise SCPIError(-222)
        elif not any(abs(value - b) < 1e-9 for b in STANDARD_BIAS_V):
            raise SCPIError(-222)

    def on_level_Vrms(self, value):
        if value > self.level_limit_Vrms():
            self.level_Vrms = self.level_limit_Vrms()
            raise SCPIError(-222)

    def on_bias_V(self, value):
        try:
            self.check_bias(value)
        except SCPIError:
            self.bias_V = 0.0
            raise

    def on_frequency_Hz(self, value):
        if not self.F_MIN <= value <= self.F_MAX:
            self.frequency_Hz = 1000.0
            raise SCPIError(-222)

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

    # -- aperture --------------------------------------------------------------------
    @scpi(":APERture", params=(Choice("SHORt", "MEDium", "LONG"), Integer(1, 256)), required=1)
    def _aper(self, time, averages=1):
        if averages > self.MAX_AVERAGES:
            raise SCPIError(-222)
        self._aperture = (time, averages)

    @scpi(":APERture?")
    def _aper_q(self):
        return f"{self._aperture[0]},{self._aperture[1]}"

    # -- corrections (accepted; the simulated fixture has no residuals) ---------------
    @scpi(":CORRection:OPEN[:EXECute]")
    def _corr_open(self):
        self.wait(10.0)
        self.corr_open = True

    @scpi(":CORRection:SHORt[:EXECute]")
    def _corr_short(self):
        self.wait(10.0)
        self.corr_short = True

    @scpi(":CORRection:LOAD[:EXECute]")
    def _corr_load(self):
        self.corr_load = True

    # -- measurement ---------------------------------------------------------------------
    def measure_time_s(self) -> float:
        """Simulated time of one measurement [s] (aperture × averages)."""
        return _APERTURE_S[self._aperture[0]] * self._aperture[1] + self.trigger_delay

    def external_bias_V(self) -> float:
        """DC bias [V] the SMU applies to the pixel through the bias tee (0 without one)."""
        return float(self.pixel.dc_bias_V()) if self.bias_tee else 0.0

    def _measure_point(self, frequency_Hz: float, level_Vrms: float, bias_V: float):
        self.wait(self.measure_time_s())
        bias = (bias_V if self.bias_on else 0.0) + self.external_bias_V()
        cp, g = self.pixel.capacitance(frequency_Hz, bias, level_Vrms)
        if self._noise is not None:
            cp = float(self._noise.apply(cp, "capacitance"))
            g = float(self._noise.apply(g, "conductance"))
        a, b = impedance_values(self.function, frequency_Hz, cp, g)
        return (a, b, 0)

    def _list_points(self):
        n = max(len(self.list_frequency), len(self.list_voltage), len(self.list_bias))
        points = []
        for k in range(n):
            f = self.list_frequency[k] if k < len(self.list_frequency) else self.frequency_Hz
            v = self.list_voltage[k] if k < len(self.list_voltage) else self.level_Vrms
            b = self.list_bias[k] if k < len(self.list_bias) else self.bias_V
            points.append((f, v, b))
        return points

    def measure(self) -> None:
        """One trigger: a spot measurement, or the whole list in list-sweep mode."""
        display = str(self.display_page).upper()
        if display.startswith("LIST") and self._list_points():
            self._result = [self._measure_point(f, v, b) for f, v, b in self._list_points()]
        else:
            self._result = [self._measure_point(self.frequency_Hz, self.level_Vrms, self.bias_V)]

    def trigger(self) -> None:
        self.measure()

    @scpi(":TRIGger[:IMMediate]")
    def _trig(self):
        self.measure()

    @scpi(":INITiate[:IMMediate]")
    def _init(self):
        if self.trigger_source == "INT":
            self.measure()

    @scpi(":ABORt")
    def _abort(self):
        """Measurements are synchronous."""

    @scpi(":FETCh[:IMPedance][:FORMatted]?")
    def _fetch(self):
        if not self._result:
            if self.trigger_source == "INT":
                self.measure()
            else:
                raise SCPIError(-230)
        list_mode = len(self._result) > 1
        out = []
        for k, (a, b, status) in enumerate(self._result):
            out += [self.format_number(a), self.format_number(b), f"{status:+d}"]
            if list_mode:
                out.append("+0")   # bin number / comparator result
        return ",".join(out)
