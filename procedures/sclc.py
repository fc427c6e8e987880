"""Single-carrier SCLC J-V: DC sweeps in both directions and a pulsed mode.

An electron-only or hole-only device is swept on log-spaced voltages from
``start_voltage_V`` to ``max_voltage_V`` and back (optionally also the negative branch).
The analysis (``analysis.sclc``) reads V_TFL, n_t and the Mott-Gurney mobility from it.

Modes
-----
``dc``
    Each point: set the level, wait ``dwell_s``, read (NPLC ``nplc``). Mobile ions in
    perovskites make this depend on sweep rate, direction and history.
``pulsed``
    Each point is a voltage pulse on a rest bias, as Duijnstee et al. recommend for
    perovskites (ACS Energy Lett. 5, 376 (2020), doi:10.1021/acsenergylett.9b02720; also
    Le Corre et al., ACS Energy Lett. 6, 1087 (2021), doi:10.1021/acsenergylett.0c02599):
    set the pulse level, read at a short integration (``nplc`` must fit in
    ``pulse_width_s``), return to ``rest_bias_V`` and hold it for ``rest_time_s`` so the
    ions relax before the next pulse. On a Keithley 2400 this is level → ``:READ?`` →
    rest level, so the shortest pulse is a few ms; the achieved on-time of every pulse is
    timed on the station clock and stored (``pulse_on_time_s``).

Instrument errors and open devices
----------------------------------
The SMU's SCPI error queue is drained after each branch and at the end of the run (never
per point); each queued error becomes a warning in ``/events`` and the sweep goes on. On
every branch of rising |V| a point whose |I| collapses below the open-circuit floor after the
device conducted (``procedures.base.OPEN_FLOOR_A``) gets one warning "current collapsed …
open circuit / lost contact?", and a rising branch that reaches ``NO_CURRENT_FROM_V`` with |I|
never at the floor gets one "no device current …" warning (a contacted film normally
carries far more by then; the warning asks, it does not stop anything). Neither changes when
a branch turns back.

Recorded with the data (parameters): device type, layer thickness, ε_r (required — there
is no safe default), area, temperature, mode, pulse width / rest bias / rest time (duty
cycle in ``/events``), sweep directions, dwell, NPLC, compliance.

Simulated stations
------------------
``sim:electron_only``, ``sim:hole_only`` (passivated films) and
``sim:electron_only_pristine``, ``sim:hole_only_pristine`` build a
:class:`simulators.device.SingleCarrierDevice` from the presets of the seed paper (n_t
1.05e18 / 2.12e18 cm⁻³ electrons, 3.08e18 / 6.7e18 cm⁻³ holes). The operator's
``thickness_nm``, ``eps_r`` and ``area_cm2`` are the truth of the simulated device (as the
measured area is for the LED bench). ``sim_overrides["ion_hysteresis_fraction"]`` switches
on the device's mobile-ion model: the apparent V_TFL is V_TFL·(1 ± h/2) on steps that
raise (+) or lower (−) the voltage. That model has no time constant, so in pulsed mode
every pulse is a step up from the rest bias and the forward and reverse pulsed sweeps
agree (the hysteresis disappears) while reading the up-step value V_TFL·(1 + h/2); the DC
sweeps differ by h·V_TFL.
"""
from __future__ import annotations

import math

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter, ListParameter

from .base import INSTRUMENTS, LIMITS, SAMPLE, SWEEP
from .base import OPEN_COLLAPSE_RATIO, OPEN_CONDUCTING_A, OPEN_FLOOR_A, QledProcedure

__all__ = ["SCLCProcedure", "sclc_voltages_V", "SIM_PRESETS"]

DEVICE_TYPES = ("electron-only", "hole-only")
MODES = ("dc", "pulsed")
SWEEPS = ("up", "up+down", "up+down+negative")
#: Line frequency the NPLC integration time refers to [Hz].
LINE_FREQUENCY_HZ = 50.0
#: A rising branch that reaches this |V| [V] with |I| never at the open-circuit floor
#: (``procedures.base.OPEN_FLOOR_A``) gets a "no device current" warning.
NO_CURRENT_FROM_V = 1.0
#: ``sim:<preset>`` → (carrier, passivated).
SIM_PRESETS = {
    "electron_only": ("electron", True), "electron_only_passivated": ("electron", True),
    "electron_only_pristine": ("electron", False),
    "hole_only": ("hole", True), "hole_only_passivated": ("hole", True),
    "hole_only_pristine": ("hole", False),
}


def sclc_voltages_V(start_V: float, stop_V: float, points_per_decade: int) -> np.ndarray:
    """Log-spaced magnitudes from ``start_V`` to ``stop_V`` inclusive [V] (both > 0)."""
    if not (0 < start_V < stop_V):
        raise ValueError(f"start_voltage_V = {start_V:g} is out of range: allowed "
                         f"0 < start < max_voltage_V = {stop_V:g} V")
    n = max(2, int(math.ceil(points_per_decade * math.log10(stop_V / start_V) - 1e-9)) + 1)
    return np.geomspace(start_V, stop_V, n)


class SCLCProcedure(QledProcedure):
    """Single-carrier SCLC J-V (electron-/hole-only), DC or pulsed, both sweep directions."""

    device_type = ListParameter("Device type", choices=DEVICE_TYPES, default="electron-only")
    thickness_nm = FloatParameter("Layer thickness L (required)", units="nm", minimum=0.0,
                                  maximum=1e5, default=0.0)
    eps_r = FloatParameter("Static relative permittivity ε_r (required)", minimum=0.0,
                           maximum=1000.0, default=0.0)
    area_cm2 = FloatParameter("Device area", units="cm^2", minimum=1e-4, maximum=10.0,
                              default=0.04)
    temperature_K = FloatParameter("Sample temperature", units="K", minimum=1.0,
                                   maximum=600.0, default=295.0)
    mode = ListParameter("Mode", choices=MODES, default="dc")
    sweep = ListParameter("Sweep branches (up+down tests for mobile-ion hysteresis, "
                          "Duijnstee et al. 2020)", choices=SWEEPS, default="up")
    start_voltage_V = FloatParameter("Smallest |V| (log sweep start)", units="V",
                                     minimum=1e-4, maximum=100.0, default=0.01)
    max_voltage_V = FloatParameter("Largest |V|", units="V", minimum=1e-3, maximum=200.0,
                                   default=10.0)
    points_per_decade = IntegerParameter("Points per decade", minimum=2, maximum=200,
                                         default=20)
    dwell_s = FloatParameter("DC settling time per point", units="s", minimum=0.0,
                             maximum=600.0, default=0.1)
    pulse_width_s = FloatParameter("Pulse width (pulsed mode)", units="s", minimum=1e-4,
                                   maximum=10.0, default=5e-3)
    rest_bias_V = FloatParameter("Rest bias between pulses (pulsed mode)", units="V",
                                 minimum=-200.0, maximum=200.0, default=0.0)
    rest_time_s = FloatParameter("Rest time between pulses (pulsed mode)", units="s",
                                 minimum=0.0, maximum=600.0, default=0.5)
    nplc = FloatParameter("Integration (NPLC)", minimum=0.01, maximum=10.0, default=1.0)
    compliance_mA = FloatParameter("Current compliance", units="mA", minimum=1e-6,
                                   maximum=1050.0, default=100.0)
    max_current_density_mA_cm2 = FloatParameter("Turn back at current density",
                                                units="mA/cm^2", minimum=1e-6, maximum=1e6,
                                                default=1e5)

    PARAMETER_GROUPS = {
        **QledProcedure.PARAMETER_GROUPS, "device_type": SAMPLE, "thickness_nm": SAMPLE,
        "eps_r": SAMPLE, "area_cm2": SAMPLE, "temperature_K": SAMPLE,
        "mode": SWEEP, "sweep": SWEEP, "start_voltage_V": SWEEP, "max_voltage_V": SWEEP,
        "points_per_decade": SWEEP, "dwell_s": SWEEP, "pulse_width_s": SWEEP,
        "rest_bias_V": SWEEP, "rest_time_s": SWEEP,
        "compliance_mA": LIMITS, "max_current_density_mA_cm2": LIMITS,
        "nplc": INSTRUMENTS}
    DATA_COLUMNS = ["time_s", "set_voltage_V", "voltage_V", "current_A",
                    "current_density_mA_cm2", "direction", "in_compliance", "pulse_on_time_s"]
    COLUMN_UNITS = {"direction": "1 (+1 |V| rising, -1 |V| falling)",
                    "in_compliance": "1 (bool)"}
    PROCEDURE_VERSION = "1"

    def required_roles(self):
        return ("smu",)

    # -- validation -------------------------------------------------------------------
    def validate(self):
        self.require(1.0 <= self.thickness_nm <= 1e5,
                     f"thickness_nm = {self.thickness_nm:g} is out of range: allowed 1 … 100000 "
                     "nm (required: the measured layer thickness)")
        self.require(1.0 <= self.eps_r <= 1000.0,
                     f"eps_r = {self.eps_r:g} is out of range: allowed 1 … 1000 (required: the "
                     "static relative permittivity, CsPbBr3 ≈ 16–30)")
        self.require(self.start_voltage_V < self.max_voltage_V,
                     f"start_voltage_V = {self.start_voltage_V:g} is out of range: allowed "
                     f"1e-4 … {self.max_voltage_V:g} V (below max_voltage_V)")
        n = len(self.voltages_V())
        self.require(n <= 10_000, f"the sweep has {n} points per branch: allowed at most "
                     "10000 (lower points_per_decade)")
        if self.mode == "pulsed":
            t_int = self.nplc / LINE_FREQUENCY_HZ
            self.require(t_int <= self.pulse_width_s,
                         f"nplc = {self.nplc:g} integrates {1e3 * t_int:g} ms, longer than "
                         f"pulse_width_s = {self.pulse_width_s:g} s: allowed nplc 0.01 … "
                         f"{self.pulse_width_s * LINE_FREQUENCY_HZ:g}")
            self.require(abs(self.rest_bias_V) < self.start_voltage_V,
                         f"rest_bias_V = {self.rest_bias_V:g} is out of range: allowed |rest| < "
                         f"start_voltage_V = {self.start_voltage_V:g} V (pulses rise from rest)")

    def voltages_V(self) -> np.ndarray:
        return sclc_voltages_V(self.start_voltage_V, self.max_voltage_V,
                               int(self.points_per_decade))

    # -- simulated bench --------------------------------------------------------------
    SIM_DEVICES = tuple(SIM_PRESETS)

    def simulated_bench_options(self, spec: str) -> dict:
        """A single-carrier device for ``sim:<preset>`` (one of :data:`SIM_PRESETS`).

        The preset's carrier and trap density (seed paper values), with the operator's
        thickness, ε_r and area as its truth; ``sim_overrides`` may set
        ``ion_hysteresis_fraction`` (device) besides the bench options.
        """
        preset = spec.partition(":")[2] or ("electron_only" if self.device_type ==
                                            "electron-only" else "hole_only")
        if preset not in SIM_PRESETS:
            raise ValueError(f"station = {spec!r} is not allowed: use a TOML path or "
                             f"sim:<{'|'.join(SIM_PRESETS)}>")
        carrier, passivated = SIM_PRESETS[preset]
        if carrier != self.device_type.split("-")[0]:
            raise ValueError(f"station = {spec!r} holds a {carrier}-only device but "
                             f"device_type = {self.device_type!r}: allowed {carrier}-only")
        overrides = dict(self.sim_overrides)
        hysteresis = float(overrides.pop("ion_hysteresis_fraction", 0.0))
        device = {"model": "single_carrier", "preset": f"{carrier}_only",
                  "passivated": passivated,
                  "changes": {"thickness_nm": float(self.thickness_nm),
                              "epsilon_r": float(self.eps_r), "area_cm2": float(self.area_cm2),
                              "ion_hysteresis_fraction": hysteresis}}
        options = {"devices": [device], "seed": int(self.pixel), "serial_meters": False}
        options.update(overrides)
        return options

    # -- life cycle -------------------------------------------------------------------
    def startup(self):
        super().startup()
        self.compliance_A = self.compliance_mA * 1e-3
        smu = self.instruments.smu
        self.check_source_request(smu, compliance_A=(self.compliance_A, "compliance_mA", 1e3))
        sign = -1.0 if self.sweep == "up+down+negative" else 1.0
        for v in {self.max_voltage_V, sign * self.max_voltage_V, self.rest_bias_V}:
            self.check_source_request(smu, voltage_V=(v, "max_voltage_V" if v != self.rest_bias_V
                                                      else "rest_bias_V", 1.0))

    def run_metadata(self):
        meta = super().run_metadata()
        station = dict(meta.get("station") or {})
        duty = self.pulse_width_s / (self.pulse_width_s + self.rest_time_s)
        station["sclc"] = {
            "device_type": self.device_type, "thickness_nm": self.thickness_nm,
            "eps_r": self.eps_r, "area_cm2": self.area_cm2, "temperature_K": self.temperature_K,
            "mode": self.mode, "sweep": self.sweep, "dwell_s": self.dwell_s,
            "pulse_width_s": self.pulse_width_s if self.mode == "pulsed" else None,
            "rest_bias_V": self.rest_bias_V if self.mode == "pulsed" else None,
            "rest_time_s": self.rest_time_s if self.mode == "pulsed" else None,
            "duty_cycle": duty if self.mode == "pulsed" else None,
            "integration_s": self.nplc / LINE_FREQUENCY_HZ,
            "line_frequency_Hz": LINE_FREQUENCY_HZ,
        }
        meta["station"] = station
        return meta

    def execute(self):
        smu = self.instruments.smu
        up = self.voltages_V()
        branches = [(up, +1), (up[::-1], -1)]
        if self.sweep == "up":
            branches = branches[:1]
        if self.sweep == "up+down+negative":
            branches += [(-up, +1), (-up[::-1], -1)]
        self._total = sum(len(v) for v, _ in branches)
        self._done = 0
        smu.configure_voltage_source(self.compliance_A, nplc=self.nplc)
        rest = self.rest_bias_V if self.mode == "pulsed" else 0.0
        smu.set_voltage(rest)
        smu.output_on()
        if self.mode == "pulsed":
            duty = self.pulse_width_s / (self.pulse_width_s + self.rest_time_s)
            self.log_event("info", f"pulsed: {1e3 * self.pulse_width_s:g} ms pulses on a "
                           f"{self.rest_bias_V:g} V rest bias, {self.rest_time_s:g} s rest, duty "
                           f"{100 * duty:.3g} %, integration {1e3 * self.nplc / 50:g} ms")
        else:
            self.log_event("info", f"DC: {self.sweep}, {len(up)} points per branch, dwell "
                           f"{self.dwell_s:g} s, integration {1e3 * self.nplc / 50:g} ms")
        turn_back_at = None
        self._open_circuit_noted = False
        for voltages, direction in branches:
            if direction < 0 and turn_back_at is not None:
                voltages = voltages[np.abs(voltages) <= turn_back_at + 1e-12]
            last, stop = self._branch(smu, voltages, direction)
            name = self._branch_name(voltages, direction)
            if direction > 0:
                turn_back_at = last
                if not self._branch_conducted and last >= NO_CURRENT_FROM_V:
                    self.note_no_current(float(np.sign(voltages[0])) * last, name,
                                         f"a contacted film conducts ≥ {OPEN_FLOOR_A:g} A by "
                                         f"{NO_CURRENT_FROM_V:g} V")
            self.record_error_queue(smu, f"after the {name} sweep")
            if stop or self.should_stop():
                break
            smu.set_voltage(rest)
        smu.set_voltage(0.0)
        smu.output_off()
        self.record_error_queue(smu, "at the end of the run")

    @staticmethod
    def _branch_name(voltages, direction) -> str:
        sign = "negative " if len(voltages) and voltages[0] < 0 else ""
        return sign + ("up" if direction > 0 else "down")

    def _branch(self, smu, voltages, direction):
        """One branch; returns (last |V| applied, whether to stop the run).

        A rising branch (``direction`` +1: |V| rises point after point) is watched for an open
        circuit with a few float comparisons per point; ``self._branch_conducted`` says
        whether any point carried |I| ≥ the open-circuit floor."""
        last = float(abs(voltages[0])) if len(voltages) else 0.0
        pulsed = self.mode == "pulsed"
        rising = direction > 0
        prev, conducted, stop_run = 0.0, False, False
        for v in voltages:
            v = float(v)
            if self.should_stop():
                self.log_event("warning", "abort requested: stopping the sweep")
                stop_run = True
                break
            if pulsed:
                t_on = self.clock.time()
                smu.set_voltage(v)
                wait = self.pulse_width_s - self.nplc / LINE_FREQUENCY_HZ
                if wait > 0:
                    self.wait(wait)
                reading = smu.measure()
                smu.set_voltage(self.rest_bias_V)
                on_time = self.clock.time() - t_on
                if on_time > 2.0 * self.pulse_width_s:
                    self._long_pulse(on_time)
            else:
                smu.set_voltage(v)
                if self.dwell_s > 0:
                    self.wait(self.dwell_s)
                reading = smu.measure()
                on_time = math.nan
            last = abs(v)
            j = reading.current_A * 1e3 / self.area_cm2
            a = abs(reading.current_A)
            if a < OPEN_FLOOR_A:
                if prev > OPEN_CONDUCTING_A and prev > OPEN_COLLAPSE_RATIO * a:
                    self.note_current_collapse(prev, reading.current_A, v,
                                               self._branch_name(voltages, direction))
            else:
                conducted = True
            if rising:
                prev = a
            self.emit("results", {
                "time_s": self.elapsed_s(), "set_voltage_V": v, "voltage_V": reading.voltage_V,
                "current_A": reading.current_A, "current_density_mA_cm2": j,
                "direction": direction, "in_compliance": float(reading.in_compliance),
                "pulse_on_time_s": on_time})
            self._done += 1
            self.emit("progress", 100.0 * self._done / self._total)
            if pulsed and self.rest_time_s > 0:
                self.wait(self.rest_time_s)
            if reading.in_compliance:
                self.log_event("warning", f"compliance {self.compliance_mA:g} mA reached at "
                               f"{v:g} V: turning back")
                break
            if direction > 0 and abs(j) >= self.max_current_density_mA_cm2:
                self.log_event("info", f"current density {abs(j):.4g} mA/cm² ≥ "
                               f"{self.max_current_density_mA_cm2:g} at {v:g} V: turning back")
                break
        self._branch_conducted = conducted
        return last, stop_run

    def _long_pulse(self, on_time):
        if not getattr(self, "_warned_long_pulse", False):
            self._warned_long_pulse = True
            self.log_event("warning", f"pulse on-time {1e3 * on_time:.3g} ms exceeds twice "
                           f"pulse_width_s = {1e3 * self.pulse_width_s:g} ms (command and "
                           "readback latency); the achieved on-time is in pulse_on_time_s")
