"""What the LCR-meter procedures (DLCP, C-V) share: the meter, its bias, corrections, ε_r,
area, temperature, and the parsing of comma-separated lists of values.

The LCR meter sets its oscillator level in **V rms**; a DC bias comes from the meter (E4980A /
4284A option 001: ±40 V) or from the station's SMU through a bias tee (``[lcr] bias_source =
"smu"``). The bias is switched off at the end and on every exit path.
"""
from __future__ import annotations

import math
import sys

import numpy as np
from pymeasure.experiment import (BooleanParameter, FloatParameter, IntegerParameter,
                                  ListParameter)

from .base import INSTRUMENTS, SAMPLE, SWEEP, QledProcedure

__all__ = ["LCRProcedure", "parse_list", "FREQUENCY_RANGE_HZ", "LEVEL_RANGE_VRMS", "SQRT8"]

FREQUENCY_RANGE_HZ = (20.0, 2e6)          # E4980A; the 4284A stops at 1 MHz (checked live)
LEVEL_RANGE_VRMS = (0.0, 20.0)            # option 001; a standard unit stops at 2 V rms
CORRECTIONS = ("stored", "measure", "off")
SQRT8 = 2.0 * math.sqrt(2.0)              # δV_pp per V rms (sine)


def parse_list(name: str, text, lo: float, hi: float, unit: str, *, min_len: int = 1,
               max_len: int = 200, exclusive_lo: bool = False) -> list[float]:
    """Comma-separated numbers → list of floats, each in [lo, hi]; one-line ValueError."""
    lo_txt = f"> {lo:g}" if exclusive_lo else f"{lo:g}"
    allowed = f"allowed {min_len}–{max_len} comma-separated values in {lo_txt} … {hi:g} {unit}"
    try:
        values = [float(v) for v in str(text).replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{name} = {text!r} is not a list of numbers: {allowed}") from None
    if not min_len <= len(values) <= max_len:
        raise ValueError(f"{name} = {text!r} has {len(values)} values: {allowed}")
    for v in values:
        if not math.isfinite(v) or v < lo or v > hi or (exclusive_lo and v == lo):
            raise ValueError(f"{name} = {text!r} holds {v:g}, out of range: {allowed}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} = {text!r} repeats a value: {allowed}, each once")
    return values


class LCRProcedure(QledProcedure):
    """What DLCP and C-V share: the LCR meter, its bias, corrections, ε_r, area, temperature."""

    area_cm2 = FloatParameter("Junction (pixel) area", units="cm^2", minimum=1e-4, maximum=10.0,
                              default=0.04)
    eps_r = FloatParameter(
        "Static relative permittivity eps_r (REQUIRED; CsPbBr3 ≈ 16–30 — never the optical "
        "eps_inf ≈ 4–5)", minimum=1.0, maximum=100.0, default=None)
    temperature_K = FloatParameter("Sample temperature (recorded)", units="K", minimum=1.0,
                                   maximum=600.0, default=300.0)
    function = ListParameter("LCR function (Cp-G or Cp-D)", choices=("CPG", "CPD"),
                             default="CPG")
    aperture = ListParameter("LCR integration time", choices=("SHOR", "MED", "LONG"),
                             default="MED")
    averages = IntegerParameter("LCR averages per reading", minimum=1, maximum=128, default=1)
    alc = BooleanParameter("LCR automatic level control (holds the set level across the "
                           "device; status +4 where it cannot)", default=False)
    readings_per_point = IntegerParameter("Readings averaged per point (software)", minimum=1,
                                          maximum=100, default=1)
    settle_s = FloatParameter("Settling time after a bias/level change", units="s",
                              minimum=0.0, maximum=600.0, default=0.1)
    correction = ListParameter(
        "Open/short correction (stored = the meter's stored data; measure = now, asking for "
        "the fixture open then shorted; off)", choices=CORRECTIONS,
        default="stored")
    amplitude_convention = ListParameter(
        "Oscillator level convention of the meter (dV_pp = 2*sqrt(2)*V_rms)", choices=("rms",),
        default="rms")

    PARAMETER_GROUPS = {
        **QledProcedure.PARAMETER_GROUPS, "area_cm2": SAMPLE, "eps_r": SAMPLE,
        "temperature_K": SAMPLE, "frequencies_Hz": SWEEP, "v_max_V": SWEEP,
        "levels_Vrms": SWEEP, "level_Vrms": SWEEP, "start_bias_V": SWEEP,
        "stop_bias_V": SWEEP, "step_bias_V": SWEEP, "directions": SWEEP, "settle_s": SWEEP,
        "function": INSTRUMENTS, "aperture": INSTRUMENTS, "averages": INSTRUMENTS,
        "readings_per_point": INSTRUMENTS, "correction": INSTRUMENTS, "alc": INSTRUMENTS,
        "amplitude_convention": INSTRUMENTS}
    REQUIRED_ROLES = ("lcr",)

    def _require_eps_r(self):
        if getattr(self, "eps_r", None) is None:
            raise ValueError("eps_r is required: allowed 1 … 100 (static relative permittivity "
                             "of the layer; CsPbBr3 ≈ 16–30, not the optical ε∞ ≈ 4–5)")

    def refresh_parameters(self):
        self._require_eps_r()
        super().refresh_parameters()

    def check_parameters(self):
        self._require_eps_r()
        super().check_parameters()

    def validate(self):
        if self.correction == "measure" and not sys.stdin.isatty() and \
                not callable(getattr(self, "confirm_fixture", None)):
            raise ValueError("correction = 'measure' needs an operator at a terminal to open "
                             "and short the fixture: allowed 'stored' or 'off' when headless")

    @property
    def lcr(self):
        return self.instruments.lcr

    #: The per-point status column and its meaning (see :meth:`read_point`).
    STATUS_COLUMN = "lcr_status"
    STATUS_UNITS = "1 (:FETCh? status of the point: 0 normal, else excluded from the fits)"

    def startup(self):
        self._points, self._flagged, self._status_texts = 0, {}, {}
        self._flagged_noted = False
        super().startup()
        self.correction_record = {"mode": self.correction}
        self.check_meter()

    def check_meter(self) -> None:
        """Frequencies, levels and biases against the connected meter (before any output)."""
        lcr = self.lcr
        driver = lcr.driver
        f_lo, f_hi = driver.frequency_limits_Hz
        for f in self.planned_frequencies_Hz():
            if not f_lo <= f <= f_hi:
                raise ValueError(f"frequencies_Hz holds {f:g} Hz, out of range for "
                                 f"{lcr.idn.split(',')[1] if ',' in lcr.idn else 'the meter'}: "
                                 f"allowed {f_lo:g} … {f_hi:g} Hz")
        l_lo, l_hi = driver.level_limits_Vrms
        for lv in self.planned_levels_Vrms():
            if not l_lo <= lv <= l_hi:
                raise ValueError(f"level {lv:g} V rms is out of range for this meter: allowed "
                                 f"{l_lo:g} … {l_hi:g} V rms (20 V rms needs option 001)")
        if lcr.bias_source == "internal":
            for b in self.planned_biases_V():
                driver.check_bias(b)   # one-line ValueError naming the allowed values

    def planned_frequencies_Hz(self) -> list[float]:
        raise NotImplementedError

    def planned_levels_Vrms(self) -> list[float]:
        raise NotImplementedError

    def planned_biases_V(self) -> list[float]:
        raise NotImplementedError

    def apply_correction(self) -> None:
        """Open/short correction on the meter, or a recorded reason why it was skipped."""
        if self.correction == "off":
            self.correction_record.update(applied=False, reason="switched off by the operator")
            self.log_event("warning", "open/short correction off: fixture residuals included")
            return
        if getattr(self.instruments, "simulated", False):
            reason = "simulated bench: the simulated fixture has no residual impedance"
            self.correction_record.update(applied=False, reason=reason)
            self.log_event("info", f"open/short correction skipped ({reason})")
            return
        driver = self.lcr.driver
        if self.correction == "measure":
            for kind, command in (("open", ":CORR:OPEN"), ("short", ":CORR:SHOR")):
                self.confirm_fixture(f"{kind} the fixture (no device), then confirm")
                driver.write(command)
                driver.ask("*OPC?")
                self.log_event("info", f"{kind} correction measured ({command})")
            self.confirm_fixture("connect the device again, then confirm")
        driver.write(":CORR:OPEN:STAT ON;:CORR:SHOR:STAT ON")
        errors = driver.check_errors()
        if errors:
            raise RuntimeError(f"lcr: correction failed: {errors}")
        self.correction_record.update(applied=True, reason="")
        self.log_event("info", f"open/short correction on ({self.correction} data)")

    def confirm_fixture(self, message: str) -> None:
        """Ask the operator to change the fixture (a GUI overrides this)."""
        input(f"qled: {message} [Enter] ")

    def outputs_off(self) -> None:
        """Bias off (meter or bias-tee SMU), whatever state the run ended in."""
        lcr = getattr(self._station, "lcr", None)
        if lcr is not None:
            lcr.bias_off()
        smu = getattr(self._station, "smu", None)
        if smu is not None:
            smu.output_off()

    def read_point(self):
        """Mean of ``readings_per_point`` readings → (C [F], second [S or 1], std of C [F],
        status). ``status`` is the first non-zero ``:FETCh?`` status among the readings (0
        when all were normal): one flagged reading flags the point. Readings without data
        (NaN) are left out of the means."""
        cs, ss, status = [], [], 0
        for _ in range(int(self.readings_per_point)):
            reading = self.lcr.measure()
            cs.append(reading.capacitance_F)
            ss.append(reading.second)
            if reading.status and not status:
                status = int(reading.status)
                self._status_texts.setdefault(status, reading.status_text)
        cs, ss = np.asarray(cs, float), np.asarray(ss, float)
        ok = np.isfinite(cs) & np.isfinite(ss)
        c = float(np.mean(cs[ok])) if ok.any() else math.nan
        second = float(np.mean(ss[ok])) if ok.any() else math.nan
        std = float(np.std(cs[ok], ddof=1)) if ok.sum() > 1 else math.nan
        return c, second, std, status

    def measure_point(self, frequency_Hz: float) -> dict:
        """Settle, read and derive one point: ``capacitance_F``, ``capacitance_std_F``,
        ``conductance_S``, ``dissipation``, ``lcr_status`` (the row fields both sweeps
        record)."""
        self.wait(self.settle_s)
        c, second, c_std, status = self.read_point()
        g, d = self.second_quantities(frequency_Hz, c, second)
        self._points += 1
        if status:
            self._flagged[status] = self._flagged.get(status, 0) + 1
        return {"capacitance_F": c, "capacitance_std_F": c_std, "conductance_S": g,
                "dissipation": d, "lcr_status": float(status)}

    def note_flagged_points(self) -> None:
        """One warning per run: how many points the meter flagged (status ≠ 0) and why; they
        are stored with their ``lcr_status`` and the analysis leaves them out of the fits."""
        if not self._flagged or self._flagged_noted:
            return
        self._flagged_noted = True
        n = sum(self._flagged.values())
        why = ", ".join(f"{count} × {code:+d} {self._status_texts.get(code, '')}".rstrip()
                        for code, count in sorted(self._flagged.items()))
        self.log_event("warning", f"lcr: {n} of {self._points} points flagged by the meter "
                       f"({why}); stored with lcr_status, excluded from the fits")

    def end_bias(self) -> None:
        """Bias off at the end of a completed sweep (``outputs_off`` covers every exit)."""
        self.lcr.bias_off()
        self.log_event("info", "bias off")

    def second_quantities(self, frequency_Hz: float, c_F: float, second: float):
        """(G [S], D) from the reading's second value: one is measured, the other is exact
        from Y = G + jωCp (D = G/(ωCp))."""
        w = 2.0 * math.pi * frequency_Hz
        if self.function == "CPG":
            return second, second / (w * c_F) if c_F else math.nan
        return second * w * c_F, second

    def run_metadata(self):
        meta = super().run_metadata()
        lcr = self.lcr
        meta["station"] = {**(meta.get("station") or {}), "measurement": {
            "bias_source": lcr.bias_source,
            "level_convention": "rms",
            "delta_v_pp_per_Vrms": SQRT8,
            "correction": dict(self.correction_record),
            "temperature_K": float(self.temperature_K),
            "eps_r": float(self.eps_r),
            "lcr_status_codes": _status_codes(lcr)}}
        return meta


def _status_codes(lcr) -> dict:
    """``{"+1": "overload", …}``: the connected model's ``:FETCh?`` status meanings."""
    meanings = getattr(getattr(lcr, "driver", None), "status_meanings", None) or {}
    return {f"{int(code):+d}": str(text) for code, text in meanings.items()}
