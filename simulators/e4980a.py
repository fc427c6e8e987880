"""Simulated Keysight E4980A precision LCR meter (SCPI over a socket); the 4284A builds on it.

The measured parallel capacitance Cp [F] and conductance G [S] come from
``pixel.capacitance(frequency_Hz, bias_V, level_Vrms)`` (the oscillator level is in
V rms, as the instrument sets it) plus seeded noise; every other display function
(Cp-D, Cs-Rs, Z-θ, …) is computed from the same admittance Y = G + jωCp
(:func:`simulators.lcr_model.impedance_values`). What the meter does to a reading (status,
ranges, ALC, measurement time) lives in :mod:`simulators.lcr_model`.

Sources: [UG] Keysight *E4980A/AL Precision LCR Meter User's Guide* (E4980-90230; the
edition of the extracts read is not visible), ch. "Overview of Remote Control — Data
Transfer" p. 261 (``:FETCh?`` reply, status codes, 9.9E37), "Save/Recall" p. 183; [DS]
*E4980A Data Sheet* 5989-4435EN; clients: PyMeasure 0.16 ``AgilentE4980``, QCoDeS
``keysight_e4980a``. What is not in them is marked "guess" here and in
docs/instrument-fidelity.md.

Trigger system (the three states of the Keysight LCR/impedance family: Idle, Waiting for
Trigger, Measuring — E4981A Programming Manual ch. 5 and E4991A manual ch. 5, siblings; the
E4980A's own chapter was not read):

* power-on: ``:TRIG:SOUR INT`` and ``:INIT:CONT ON`` — the meter measures continuously, so
  ``:FETC?`` answers the latest result without any trigger (what PyMeasure's stock
  ``AgilentE4980.impedance`` relies on; E4981A: "at power-on the continuous activation …
  and the trigger mode are set to ON and internal trigger");
* ``*RST``: every setting to its preset; ``:INIT:CONT OFF`` (SCPI-1999 Vol. 2 §INITiate
  *RST value; guess for the E4980A), trigger source INT kept as preset (guess), data buffer
  cleared: ``:FETC?`` then answers ``+9.90000E+37,+9.90000E+37,-1`` (status −1 "no data
  in the data buffer memory", UG p. 261) until a measurement is triggered;
* ``:INIT[:IMM]``: Idle → Waiting (already initiated: −213 "Init ignored", SCPI);
  ``:INIT:CONT ON`` initiates too; after a measurement the system goes back to Waiting
  with CONT ON, to Idle with CONT OFF; ``:ABOR`` → Idle (→ Waiting again with CONT ON);
* in Waiting: source INT measures by itself (simulated lazily: the measurement is made when
  ``:FETC?`` asks, and takes its measurement time), BUS waits for ``*TRG`` or ``:TRIG``,
  HOLD and EXT for ``:TRIG[:IMM]`` (no external trigger on the bench); ``:TRIG[:IMM]``
  triggers whatever the source (SCPI "bypasses the event detection"); ``*TRG`` is
  ``:TRIG;:FETC?`` and answers the data (a third-party guide to the UG, pp. 250–252, and
  PyMeasure's ``Agilent4284A.trigger``; client code); a trigger that finds the system Idle
  is −211 "Trigger ignored" (SCPI; guess for the E4980A).

DC bias: without option 001 only 0, 1.5 and 2 V are allowed (anything else: −222, the
setting unchanged); with option 001 continuous ±40 V (E4980A) or ±40 V in high-power mode
(4284A) [DS "DC bias"].

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

from . import lcr_model as model
from .e4980a_commands import E4980ACommands
from .lcr_model import IMPEDANCE_FUNCTIONS, impedance_values
from .scpi import SCPIError, scpi

__all__ = ["KeysightE4980A", "IMPEDANCE_FUNCTIONS", "STANDARD_BIAS_V", "impedance_values"]

STANDARD_BIAS_V = (0.0, 1.5, 2.0)


class KeysightE4980A(E4980ACommands):
    """Keysight E4980A precision LCR meter (20 Hz – 2 MHz).

    Parameters
    ----------
    pixel : Pixel-like with ``capacitance(frequency_Hz, bias_V, level_Vrms)``
        (and optionally ``bias_current_A(bias_V)`` and ``dc_bias_V()``).
    clock, faults, noise
        As for every simulator. A ``measure_status`` fault (:mod:`simulators.faults`) gives
        the readings its status ``code`` while it is active.
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
    STATUS = model.E4980A_STATUS
    TIME_TABLE = model.E4980A_MEASUREMENT_TIME
    #: Trigger source and continuous initiation at power-on (module notes).
    POWER_ON_TRIGGER = ("INT", True)

    def __init__(self, pixel, clock=None, faults=None, noise=None, option_001: bool = True,
                 bias_tee: bool = False):
        self.pixel = pixel
        self.option_001 = bool(option_001)
        self.bias_tee = bool(bias_tee)
        self._noise = noise
        super().__init__(clock, faults)
        self.OPT = "001" if self.option_001 else "0"
        self.power_on()

    # -- state ---------------------------------------------------------------------------
    def reset(self) -> None:
        """``*RST``: settings to their presets, trigger system Idle, data buffer empty."""
        super().reset()
        self._aperture = ("MED", 1)
        self._result: list[tuple] = []
        self._list_next = 0
        self._waiting = False          # trigger system: Waiting for Trigger (else Idle)
        self.last_level_Vrms = math.nan   # level across the DUT at the last measurement
        self.last_monitor: dict[str, float] = {}   # VAC, IAC, VDC, IDC of the last one

    def power_on(self) -> None:
        """The state at power-on: the presets, then free-running internal trigger."""
        self.reset()
        self.trigger_source, self.init_continuous = self.POWER_ON_TRIGGER
        self._waiting = bool(self.init_continuous)

    def ranges(self) -> model.RangeTable:
        return model.E4980A_RANGES_OPTION_001 if self.option_001 else model.E4980A_RANGES

    def source(self) -> model.SourceModel:
        """The test-signal and bias sources of this unit (:class:`lcr_model.SourceModel`)."""
        if self.option_001:
            return model.SourceModel(20.0, max_current_Arms=0.1, max_bias_current_A=0.1)
        return model.SourceModel(2.0)

    def level_limit_Vrms(self) -> float:
        return 20.0 if self.option_001 else 2.0

    def current_limit_Arms(self) -> float:
        return 0.1 if self.option_001 else 0.02

    def check_bias(self, value: float) -> None:
        if self.option_001:
            if abs(value) > self.BIAS_MAX_V:
                raise SCPIError(-222)
        elif not any(abs(value - b) < 1e-9 for b in STANDARD_BIAS_V):
            raise SCPIError(-222)

    # -- trigger system ----------------------------------------------------------------
    def initiate(self) -> None:
        if self._waiting:
            raise SCPIError(-213, "Init ignored")
        self._waiting = True

    def on_init_continuous(self, value):
        if value:
            self._waiting = True

    def abort(self) -> None:
        self._waiting = bool(self.init_continuous)
        self._list_next = 0

    def _triggered(self) -> None:
        """A trigger accepted in Waiting: measure, then Waiting (CONT ON) or Idle."""
        self.measure()
        self._waiting = bool(self.init_continuous)

    @scpi(":TRIGger[:IMMediate]")
    def _trig(self):
        if not self._waiting:
            raise SCPIError(-211, "Trigger ignored")
        self._triggered()

    def trigger(self) -> None:
        """``*TRG``: the same trigger as ``:TRIG`` (its reply: :meth:`_execute`)."""
        if not self._waiting:
            raise SCPIError(-211, "Trigger ignored")
        self._triggered()

    def free_running(self) -> bool:
        return self._waiting and self.trigger_source == "INT"

    # -- measurement ---------------------------------------------------------------------
    def measure_time_s(self, frequency_Hz: float | None = None) -> float:
        """Simulated time of one measurement [s]: the data sheet's time for the aperture at
        the test frequency, × averages, + trigger delay (:mod:`simulators.lcr_model`)."""
        f = self.frequency_Hz if frequency_Hz is None else frequency_Hz
        time, averages = self._aperture
        return self.TIME_TABLE.time_s(time, averages, f) + self.trigger_delay

    def external_bias_V(self) -> float:
        """DC bias [V] the SMU applies to the pixel through the bias tee (0 without one)."""
        return float(self.pixel.dc_bias_V()) if self.bias_tee else 0.0

    def forced_status(self) -> int | None:
        """The status a ``measure_status`` fault imposes now, or None."""
        faults = self.faults
        if faults is None or not getattr(faults, "faults", ()):
            return None
        fault = faults.active_fault("measure_status", self.now())
        return None if fault is None else int(fault.code)

    def own_bias_V(self, bias_V: float) -> float:
        """The meter's own DC bias at the DUT [V]: the set voltage, or with ``:BIAS:CURR``
        the device's voltage at that current (``pixel.voltage_at_current_A``; 0 V for a
        pixel without one); 0 with ``:BIAS:STAT OFF``."""
        if not self.bias_on:
            return 0.0
        if self.bias_mode == "CURR":
            at = getattr(self.pixel, "voltage_at_current_A", None)
            return float(at(self.bias_current_A)) if at is not None else 0.0
        return bias_V

    def _measure_point(self, frequency_Hz: float, level_Vrms: float, bias_V: float,
                       current_mode: bool = False):
        """One measurement: ``(A, B, status, R, X)`` with the data voided on a bad status.

        ``current_mode``: ``:CURR`` set the test signal; the level across the DUT is then
        I·|Z| (evaluated at the small-signal impedance)."""
        self.wait(self.measure_time_s(frequency_Hz))
        own_bias = self.own_bias_V(bias_V)
        bias = own_bias + self.external_bias_V()
        if current_mode:
            cp, g = self.pixel.capacitance(frequency_Hz, bias, 0.0)
            level_Vrms = self.current_level_A * abs(_impedance(frequency_Hz, cp, g))
        cp, g = self.pixel.capacitance(frequency_Hz, bias, level_Vrms)
        z = _impedance(frequency_Hz, cp, g)
        forced = self.forced_status()
        level, unregulated = model.regulated_level_Vrms(level_Vrms, z, self.source(),
                                                        self.alc_on)
        if forced == model.ALC_UNREGULATED and not unregulated:
            # the loop did not settle: the source stays at the set (open-circuit) level
            src = self.source()
            level = level_Vrms * abs(z) / abs(z + src.output_resistance_ohm)
        if level != level_Vrms:
            cp, g = self.pixel.capacitance(frequency_Hz, bias, level)
            z = _impedance(frequency_Hz, cp, g)
        self.last_level_Vrms = level
        dc_current = getattr(self.pixel, "bias_current_A", None)
        self.last_monitor = {"VAC": level, "IAC": level / abs(z) if abs(z) > 0 else 0.0,
                             "VDC": bias,
                             "IDC": float(dc_current(bias)) if dc_current else 0.0}
        status = forced if forced is not None else self._status(z, level, own_bias,
                                                                unregulated)
        if self._noise is not None:
            cp = float(self._noise.apply(cp, "capacitance"))
            g = float(self._noise.apply(g, "conductance"))
        a, b = impedance_values(self.function, frequency_Hz, cp, g)
        zc = _impedance(frequency_Hz, cp, g)
        if not self.STATUS.data_valid(status):
            a = b = model.OVERLOAD_DATA
            zc = complex(model.OVERLOAD_DATA, model.OVERLOAD_DATA)
        return (a, b, status, zc.real, zc.imag)

    def _status(self, z: complex, level_Vrms: float, own_bias_V: float,
                unregulated: bool) -> int:
        """Status of a measurement from the conditions of :mod:`simulators.lcr_model`:
        +1 |Z| too low for a held range, +3 the DUT draws more than the test-signal or the
        internal DC-bias source can give (guess: the condition behind "signal source
        overloaded"), +4 ALC unable to regulate."""
        src = self.source()
        if not self.impedance_range_auto and self.ranges().overloaded(abs(z),
                                                                     self.impedance_range):
            return model.OVERLOAD
        if abs(z) > 0 and level_Vrms / abs(z) > src.max_current_Arms * (1 + 1e-9):
            return model.SOURCE_OVERLOAD
        if own_bias_V:
            current = getattr(self.pixel, "bias_current_A", None)
            if current is not None and abs(current(own_bias_V)) > src.max_bias_current_A:
                return model.SOURCE_OVERLOAD
        if unregulated:
            return model.ALC_UNREGULATED
        return model.NORMAL

    def list_points(self):
        n = max(len(self.list_frequency), len(self.list_voltage), len(self.list_bias))
        points = []
        for k in range(n):
            f = self.list_frequency[k] if k < len(self.list_frequency) else self.frequency_Hz
            v = self.list_voltage[k] if k < len(self.list_voltage) else self.level_Vrms
            b = self.list_bias[k] if k < len(self.list_bias) else self.bias_V
            points.append((f, v, b))
        return points

    def list_sweep_active(self) -> bool:
        return str(self.display_page).upper().startswith("LIST") and bool(self.list_points())

    def measure(self) -> None:
        """One trigger: a spot measurement, or the list sweep (SEQ: every point; STEP: the
        next point, the others keep their data or "no data")."""
        if not self.list_sweep_active():
            self._result = [self._measure_point(self.frequency_Hz, self.level_Vrms,
                                                self.bias_V, self.signal_mode == "CURR")]
            return
        points = self.list_points()
        if self.list_mode == "SEQ":
            self._result = [self._measure_point(f, v, b) for f, v, b in points]
            return
        if self._list_next == 0 or len(self._result) != len(points):
            self._result = [_NO_DATA] * len(points)
        k = self._list_next
        self._result[k] = self._measure_point(*points[k])
        self._list_next = (k + 1) % len(points)

    def results(self) -> list[tuple]:
        """The data buffer for ``:FETC?``: a free-running meter measures first."""
        if self.free_running():
            self._triggered()
        return self._result or [_NO_DATA]


_NO_DATA = (model.OVERLOAD_DATA, model.OVERLOAD_DATA, model.NO_DATA,
            model.OVERLOAD_DATA, model.OVERLOAD_DATA)


def _impedance(frequency_Hz: float, cp_F: float, g_S: float) -> complex:
    y = complex(g_S, 2 * math.pi * frequency_Hz * cp_F)
    return complex(math.inf, 0.0) if y == 0 else 1 / y
