"""Operational lifetime: constant-current stress of LED pixels, logged unattended overnight.

One run file per channel
------------------------
Each channel (one pixel with its own SMU and photodiode) is one :class:`LifetimeProcedure`
writing one HDF5 run file, so a file is a complete, independently resumable record
(``qled resume FILE`` continues that pixel only) and a failure of one channel's file or
instruments cannot touch another's. Several channels run concurrently in one process
(:func:`run_channels`): one shared station, one thread and one :class:`RunEngine` per channel;
an exception or a device fault on one channel ends that channel's run only. SIGINT/SIGTERM
stop every channel (outputs off, files finalised ``aborted``).

The stress
----------
The constant current is given either as ``current_density_mA_cm2`` or found from a target
initial luminance ``l0_cd_m2`` (exactly one of the two is set > 0, the other 0) by a short,
bounded search (secant steps in log I on log L, kept inside the bracket found so far; every
step goes to ``/events``). Stress time
``time_s`` starts after the search: t = 0 is the first logged row at the stress current.
Each row logs V, I, the luminance (photodiode through its calibration and a reference
spectrum, Archer et al., Adv. Opt. Mater. 9, 2000838 (2021); or the spectroradiometer, which
also records a spectrum every ``spectrum_every_min``), and L/L0 with L0 the t = 0 reading.
The run stops at L/L0 ≤ ``stop_fraction`` (three consecutive rows, so the crossing is
bracketed and one noisy reading does not end a night), at ``max_hours``, or on a device fault:
voltage compliance (diagnosed: current flowing but more voltage needed, or no current: open
circuit / lost contact) or a collapse of V and L (short); an outage leaves a recorded gap.

Nobody watches an overnight log, so the channel's SMU error queue (``:SYST:ERR?`` until
``0``) is read at the first stress row, then at least every ``ERROR_QUEUE_EVERY_S`` of
stress time and at the end; every queued instrument error becomes a warning in ``/events``
and logging continues.

With ``--channels N --pixel P`` channel k stresses pixel P + k − 1 (each file records its
own pixel; on the simulated bench each pixel is its own seeded device).

Resuming (the stored stress state, the continuity check, where stress time continues) lives
in :mod:`procedures.lifetime_resume`; several channels at once in
:mod:`procedures.lifetime_channels`.

Simulated bench: the L0 search runs on the real-time clock (``time_scale = 1``) because on an
accelerated clock each ~1 ms instrument exchange would otherwise stress the pixel for
``time_scale`` ms — ageing no real search causes.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter, ListParameter

from .environment import ENVIRONMENT_COLUMNS, LoggedEnvironment
# ERROR_QUEUE_MAX_READ and read_error_queue moved to .base; still importable from here.
from .base import INSTRUMENTS, LIMITS, SAMPLE, STRESS
from .base import ERROR_QUEUE_MAX_READ, QledProcedure, read_error_queue  # noqa: F401
from analysis.lifetime import estimate_time_to_fraction_s

from .jvl import PhotodiodeRoute, _light_meter_axis, _light_meter_optics
from .lifetime_resume import ResumeContinuity
from .routing import bench_pixel_index

__all__ = ["LifetimeProcedure", "read_error_queue"]

LIGHT_ROUTES = ("photodiode", "spectroradiometer")
#: Consecutive rows at or below the stop fraction before the run ends.
STOP_CONFIRM_ROWS = 3
#: Grid of the stress truth of a simulated pixel: current densities [mA/cm²] from this
#: lowest value, points per decade (log-log interpolation error < 1e-4 in L0).
TRUTH_GRID_LOWEST_MA_CM2 = 1e-4
TRUTH_GRID_PER_DECADE = 80
#: Stress time between two reads of the SMU's error queue [s] (each row when the log
#: interval is longer); one ``:SYST:ERR?`` per read when the queue is empty.
ERROR_QUEUE_EVERY_S = 60.0
#: Last rows the live estimate of the time to the stop fraction is fitted to (and all the
#: stress loop keeps in memory: the run file has every row).
ETA_WINDOW_ROWS = 400


class LifetimeProcedure(ResumeContinuity, PhotodiodeRoute, LoggedEnvironment, QledProcedure):
    """Operational lifetime: constant-current stress, L(t) and V(t) to L/L0 = stop fraction."""

    channel = IntegerParameter("Lifetime channel", minimum=1, maximum=64, default=1)
    area_cm2 = FloatParameter("Pixel area", units="cm^2", minimum=1e-4, maximum=10.0,
                              default=0.04)
    current_density_mA_cm2 = FloatParameter(
        "Stress current density (0 = set by l0_cd_m2)", units="mA/cm^2", minimum=0.0,
        maximum=5000.0, default=0.0)
    l0_cd_m2 = FloatParameter("Target initial luminance (0 = set by current density)",
                              units="cd/m^2", minimum=0.0, maximum=1e6, default=0.0)
    resume_luminance_tolerance_fraction = FloatParameter(
        "Resume check, largest |L/L_last − 1| of the same pixel", minimum=0.001,
        maximum=1.0, default=0.10)
    resume_voltage_tolerance_V = FloatParameter(
        "Resume check, largest |V − V_last| of the same pixel", units="V", minimum=0.001,
        maximum=10.0, default=0.2)
    l0_tolerance_fraction = FloatParameter("L0 search tolerance", minimum=0.001, maximum=0.5,
                                           default=0.02)
    l0_search_max_steps = IntegerParameter("L0 search, most steps", minimum=2, maximum=40,
                                           default=12)
    search_settle_s = FloatParameter("L0 search, settling per step", units="s", minimum=0.0,
                                     maximum=60.0, default=0.01)
    max_search_current_density_mA_cm2 = FloatParameter(
        "L0 search, highest current density", units="mA/cm^2", minimum=0.01, maximum=5000.0,
        default=500.0)
    stop_fraction = FloatParameter("Stop at L/L0", minimum=0.01, maximum=0.99, default=0.5)
    max_hours = FloatParameter("Duration cap", units="h", minimum=1e-4, maximum=10_000.0,
                               default=24.0)
    log_interval_s = FloatParameter("Log interval", units="s", minimum=0.1, maximum=3600.0,
                                    default=10.0)
    compliance_V = FloatParameter("Voltage compliance", units="V", minimum=0.5, maximum=210.0,
                                  default=12.0)
    nplc = FloatParameter("Integration (NPLC)", minimum=0.01, maximum=10.0, default=1.0)
    light_route = ListParameter("Light meter route", choices=LIGHT_ROUTES, default="photodiode")
    spectrum_every_min = FloatParameter("Spectrum every (spectroradiometer, 0 = never)",
                                        units="min", minimum=0.0, maximum=1440.0, default=10.0)

    PARAMETER_GROUPS = {
        **QledProcedure.PARAMETER_GROUPS, "channel": SAMPLE, "area_cm2": SAMPLE,
        "current_density_mA_cm2": STRESS, "l0_cd_m2": STRESS,
        "l0_tolerance_fraction": STRESS, "l0_search_max_steps": STRESS,
        "search_settle_s": STRESS, "log_interval_s": STRESS,
        "stop_fraction": LIMITS, "max_hours": LIMITS, "compliance_V": LIMITS,
        "max_temperature_change_K": LIMITS,
        "resume_luminance_tolerance_fraction": LIMITS, "resume_voltage_tolerance_V": LIMITS,
        "max_search_current_density_mA_cm2": LIMITS,
        "nplc": INSTRUMENTS, "light_route": INSTRUMENTS, "spectrum_every_min": INSTRUMENTS,
        "reference_spectrum": INSTRUMENTS, "assumed_peak_nm": INSTRUMENTS,
        "assumed_fwhm_nm": INSTRUMENTS, "dark_current_readings": INSTRUMENTS}
    RECONNECT_POLICY = "unattended"
    DATA_COLUMNS = ["time_s", "voltage_V", "current_A", "source_current_A",
                    "current_density_mA_cm2", "luminance_cd_m2", "relative_luminance_fraction",
                    "photocurrent_A", "dark_current_A", "cie_x", "cie_y", *ENVIRONMENT_COLUMNS]
    PROCEDURE_VERSION = "1"

    def __init__(self, station_object=None, *, channel_station=None, start_gate=None,
                 **kwargs):
        super().__init__(station_object=station_object, **kwargs)
        self._gate = start_gate
        self._resume = None
        self.stop_reason = ""
        self.fault_stop = False
        self.live = {"state": "queued", "elapsed_s": 0.0, "relative": math.nan,
                     "voltage_V": math.nan, "eta_t50_s": math.nan}

    # -- set-up -----------------------------------------------------------------------
    def required_roles(self):
        return ("channel", "light_meter") if self.light_route == "spectroradiometer" \
            else ("channel",)

    def validate(self):
        j, l0 = self.current_density_mA_cm2, self.l0_cd_m2
        self.require((j > 0) != (l0 > 0),
                     f"current_density_mA_cm2 = {j:g} and l0_cd_m2 = {l0:g}: set exactly one "
                     "of them > 0, the other 0 (current_density_mA_cm2 allowed 0 … 5000 "
                     "mA/cm^2, l0_cd_m2 allowed 0 … 1e+06 cd/m^2)")
        self.require(self.log_interval_s <= self.max_hours * 3600.0,
                     f"log_interval_s = {self.log_interval_s:g} is out of range: allowed 0.1 … "
                     f"{self.max_hours * 3600:g} s (max_hours)")
        if self.light_route == "spectroradiometer":
            self.require(self.channel == 1, f"channel = {self.channel} with light_route = "
                         "spectroradiometer: allowed only channel 1 (the meter faces pixel 1)")
            self.require(self.log_interval_s >= 1.0,
                         f"log_interval_s = {self.log_interval_s:g} is out of range for the "
                         "spectroradiometer route: allowed 1 … 3600 s")
        self._check_reference_spectrum()

    SIM_DEVICES = ("passivated", "pristine")

    def simulated_bench_options(self, spec):
        from .sim_substrate import one_channel_bench_options   # as run_channels, this one last

        return one_channel_bench_options(self, spec)

    def startup(self):
        super().startup()
        st = self.instruments
        if len(st.channels) < self.channel:
            raise ValueError(f"channel = {self.channel} is out of range: the station has "
                             f"{len(st.channels)} lifetime channels")
        ch = st.channels[self.channel - 1]
        self.smu = ch.smu
        self.photodiode = ch.photodiode
        if self.light_route == "photodiode" and self.photodiode is None:
            raise ValueError(f"light_route = photodiode: channel {self.channel} has no "
                             "photodiode in the station configuration")
        self.meter = st.light_meter if self.light_route == "spectroradiometer" else None
        self.light_meter_optics = None if self.meter is None else \
            _light_meter_optics(self, self.meter, self.area_cm2)
        self.reference = self._photodiode_reference()
        self._warm_up_photodiode(self.photodiode)
        self._continuity = None
        if self._resume is not None and getattr(st, "bench", None) is None:
            # An in-process simulated bench is re-aged to the stored state (_resume_offset);
            # anything else is measured before the file is touched.
            self._check_continuity()
        # Everything the stress may ask of the SMU, refused now rather than mid-run.
        area = float(self.area_cm2)
        self.check_source_request(self.smu, compliance_V=(self.compliance_V, "compliance_V", 1.0))
        if self.current_density_mA_cm2 > 0:
            self.check_source_request(self.smu, current_A=(
                self.current_density_mA_cm2 * 1e-3 * area,
                f"current_density_mA_cm2 (at area_cm2 = {area:g})", 1e3 / area))
        else:
            self.check_source_request(self.smu, current_A=(
                self.max_search_current_density_mA_cm2 * 1e-3 * area,
                f"max_search_current_density_mA_cm2 (at area_cm2 = {area:g})", 1e3 / area))

    def outputs_off(self):
        smu = getattr(self, "smu", None)
        if smu is not None:
            smu.output_off()

    def run_metadata(self):
        meta = super().run_metadata()
        meta["pixel"] = str(self.pixel)
        if self.meter is not None and self.spectrum_every_min > 0:
            meta["spectrum_axis_nm"] = _light_meter_axis(self.meter)
            meta["spectrum_units"] = "W/(sr m^2 nm)"
        station = dict(meta.get("station") or {})
        if getattr(self, "light_meter_optics", None) is not None:
            station["light_meter_optics"] = self.light_meter_optics
        station["lifetime"] = {
            "channel": int(self.channel), "mode": "constant current",
            "stress_set_by": "current_density" if self.current_density_mA_cm2 > 0 else "l0",
            "l0_convention_for_stop": "initial (t = 0 reading at the stress current)",
            "light_route": self.light_route,
            "reference_spectrum": None if self.reference is None else self.reference[2],
            "stop_confirm_rows": STOP_CONFIRM_ROWS,
            "one_file_per_channel": True,
        }
        meta["station"] = station
        if meta.get("truth") is not None:
            # The bench holds every channel's pixel; say which one this file stresses.
            meta["truth"] = dict(meta["truth"], channel_pixel_index=bench_pixel_index(self))
            stress = self._stress_truth()
            if stress is not None:
                meta["truth"]["lifetime_stress"] = stress
        return meta

    def _stress_truth(self) -> dict | None:
        """Simulated bench only: the true stress figures of this channel's pixel.

        ``/truth`` is written before the L0 search picks the stress current, so the truth
        is given as a function of it: fresh L0(I) [cd/m²], τ(L0(I)) [s] and T50 [s] from a
        fresh start, on a log grid of currents spanning every current the run may choose
        (the analysis interpolates in log-log at the stored ``source_current_A``). With the
        search damage D0 logged at t = 0 (``simulated truth at t = 0: equivalent age D0``)
        the true T50 of the run follows from exp(−(D0 + t/τ)^β) = ½·exp(−D0^β) (no
        brightening; see ``simulators.device.LEDDevice.age``).
        """
        bench = getattr(self.instruments, "bench", None)
        if bench is None:
            return None
        device = bench.pixels[bench_pixel_index(self)].device
        if not hasattr(device, "t50_s"):
            return None
        j_hi = max(self.max_search_current_density_mA_cm2, self.current_density_mA_cm2)
        decades = math.log10(j_hi / TRUTH_GRID_LOWEST_MA_CM2)
        j = np.geomspace(TRUTH_GRID_LOWEST_MA_CM2, j_hi,
                         1 + int(math.ceil(TRUTH_GRID_PER_DECADE * decades)))
        current = j * 1e-3 * float(self.area_cm2)
        l0 = np.asarray(device.luminance_cd_m2(current, aged=False), float)
        lit = l0 > 0
        p = device.params
        return {"current_A": current[lit].tolist(), "l0_fresh_cd_m2": l0[lit].tolist(),
                "tau_s": np.asarray(device.lifetime_tau_s(l0[lit]), float).tolist(),
                "t50_fresh_s": [float(device.t50_s(x)) for x in l0[lit]],
                "stretch_exponent": float(p.stretch_exponent),
                "acceleration_exponent": float(p.acceleration_exponent),
                "brightening_fraction": float(p.brightening_fraction)}

    # -- the stress ---------------------------------------------------------------------
    def execute(self):
        smu = self.smu
        smu.configure_current_source(self.compliance_V, nplc=self.nplc)
        self.live["state"] = "search"
        if self._resume is not None:
            current = self._resume["current_A"]
            if self._continuity:
                level = "warning" if self._continuity.startswith("discontinuity") else "info"
                self.log_event(level, self._continuity)
            self._gate_leave()
            offset = self._resume_offset(current)
            self.measure_dark(smu, self.photodiode, "resume", offset)   # LED off: dark reading
            self._stress(current, offset, self._resume["l0_cd_m2"])
            self.measure_dark(smu, self.photodiode, "end", self._stress_end_s)
            return
        self.measure_dark(smu, self.photodiode, "start", 0.0)    # before the search's light
        # The search and the t = 0 reading run on real time (see the module docstring).
        self._fast_scale = self._sim_clock_real_time()
        try:
            current = self._stress_current_A()
            if current is not None:
                self._stress(current, 0.0, None)
                self.measure_dark(smu, self.photodiode, "end", self._stress_end_s)
        finally:
            self._release_clock()

    def _release_clock(self):
        """Back to the accelerated clock (own bench) or let the other channels go (gate)."""
        fast = getattr(self, "_fast_scale", None)
        if fast is not None:
            self._fast_scale = None
            self.clock.time_scale = fast
        self._gate_arrive()

    def _gate_leave(self):
        if self._gate is not None and not getattr(self, "_gate_done", False):
            self._gate_done = True
            self._gate.leave()

    def _gate_arrive(self):
        if self._gate is not None and not getattr(self, "_gate_done", False):
            self._gate_done = True
            self._gate.arrive(self.should_stop)

    def _sim_clock_real_time(self):
        """Real-time clock for the search on a simulated bench this procedure owns."""
        clock = self.clock
        if self._gate is None and getattr(self.instruments, "bench", None) is not None \
                and clock.time_scale != 1.0:
            fast = clock.time_scale
            clock.time_scale = 1.0
            return fast
        return None

    def _stress_current_A(self) -> float | None:
        """The stress current [A]: from the current density, or the bounded L0 search."""
        area = self.area_cm2
        if self.current_density_mA_cm2 > 0:
            current = self.current_density_mA_cm2 * 1e-3 * area
            self.log_event("info", f"stress current {current:.6g} A "
                           f"({self.current_density_mA_cm2:g} mA/cm² × {area:g} cm²)")
            return current
        return self._search_l0(area)

    def _search_l0(self, area: float) -> float | None:
        smu = self.smu
        target, tol = self.l0_cd_m2, self.l0_tolerance_fraction
        i_max = self.max_search_current_density_mA_cm2 * 1e-3 * area
        log_i = math.log(min(1e-3 * area, i_max))      # start at 1 mA/cm²
        lo = hi = None                                  # (log I, log L) bracket
        points = []
        t_start = self.elapsed_s()
        smu.set_current(math.exp(log_i))
        smu.output_on()
        for step in range(1, self.l0_search_max_steps + 1):
            if self.should_stop():
                return None
            current = math.exp(log_i)
            smu.set_current(current)
            if self.search_settle_s > 0:
                self.wait(self.search_settle_s)
            reading = smu.measure()
            lum, _ = self._luminance(spectrum=False)
            self.log_event("info", f"L0 search step {step}: I = {current:.6g} A, V = "
                           f"{reading.voltage_V:.4g} V, L = {lum:.6g} cd/m²")
            fault = self._device_fault(reading, lum, None, None, current)
            if not fault and not lum > 0 and math.isfinite(reading.voltage_V) \
                    and reading.voltage_V < 0.5:
                fault = (f"short: V = {reading.voltage_V:.4g} V and no light at "
                         f"I = {current:.4g} A")
            if fault:
                return self._stop_channel(f"L0 search: {fault}")
            if lum > 0 and abs(lum / target - 1.0) <= tol:
                self.log_event("info", f"L0 search done in {step} steps: I = {current:.6g} A "
                               f"for L = {lum:.6g} cd/m² (target {target:g} ± {100 * tol:g} %); "
                               f"search stress {self.elapsed_s() - t_start:.3g} s")
                return current
            if not lum > 0:
                nxt = log_i + math.log(10.0)
            else:
                y = math.log(lum / target)
                points.append((log_i, y))
                if y < 0:
                    lo = (log_i, y) if lo is None or log_i > lo[0] else lo
                else:
                    hi = (log_i, y) if hi is None or log_i < hi[0] else hi
                if len(points) >= 2 and points[-1][0] != points[-2][0]:
                    (x0, y0), (x1, y1) = points[-2], points[-1]
                    slope = (y1 - y0) / (x1 - x0)
                    nxt = x1 - y1 / slope if slope > 0.05 else x1 - y1
                else:
                    nxt = log_i - y       # L ∝ I to first order
                if lo is not None and hi is not None and not lo[0] < nxt < hi[0]:
                    nxt = 0.5 * (lo[0] + hi[0])
            if nxt > math.log(i_max):
                if log_i >= math.log(i_max) - 1e-9:
                    return self._stop_channel(
                        f"L0 search: {target:g} cd/m² not reached at the highest current "
                        f"{i_max:.4g} A ({self.max_search_current_density_mA_cm2:g} mA/cm²); "
                        f"last L = {lum:.4g} cd/m²")
                nxt = math.log(i_max)
            log_i = nxt
        return self._stop_channel(f"L0 search: no current within ± {100 * tol:g} % of "
                                  f"{target:g} cd/m² after {self.l0_search_max_steps} steps")

    def _stop_channel(self, reason: str):
        self.stop_reason = reason
        self.fault_stop = True
        self.live["state"] = "stopped"
        self.log_event("error", f"channel {self.channel} stopped safely: {reason}")
        self.outputs_off()
        return None

    def _luminance(self, spectrum: bool):
        """(luminance [cd/m²], extra row fields) from the configured light route."""
        nan = math.nan
        if self.meter is not None:
            if hasattr(self.meter, "read_spectrum"):
                self.meter.read_spectrum = spectrum
            lr = self.meter.measure()
            extra = {"cie_x": lr.x, "cie_y": lr.y, "photocurrent_A": nan}
            if spectrum and len(lr.spectral_radiance_W_sr_m2_nm):
                extra["spectrum"] = np.asarray(lr.spectral_radiance_W_sr_m2_nm, float)
            return float(lr.luminance_cd_m2), extra
        lum, i_pd = self._photodiode_reading(self.photodiode)
        return float(lum), {"cie_x": nan, "cie_y": nan, "photocurrent_A": i_pd, **self.dark_field()}

    #: In voltage compliance, a current within this fraction of the set current means the
    #: current flows (the pixel needs more voltage than the compliance), far below it means
    #: no current path (open circuit, lost contact).
    FLOWING_FRACTION = 0.5

    def _device_fault(self, reading, lum, v0, l0, current_A=None) -> str:
        """Why this channel must stop now ('' if it need not)."""
        if reading.in_compliance or (math.isfinite(reading.voltage_V)
                                     and reading.voltage_V >= 0.98 * self.compliance_V):
            return self.compliance_diagnosis(reading, current_A)
        if v0 is not None and l0 is not None and math.isfinite(reading.voltage_V) \
                and reading.voltage_V < 0.3 * v0 and lum < 0.05 * l0:
            return (f"short: V fell to {reading.voltage_V:.4g} V (from {v0:.4g} V) and the "
                    f"light to {lum:.4g} cd/m²")
        return ""

    def compliance_diagnosis(self, reading, current_A=None) -> str:
        """What voltage compliance means here: the current flows but needs more than the
        compliance voltage, or no current flows (open circuit / lost contact)."""
        set_A = abs(current_A) if current_A else math.nan
        flowing = math.isfinite(reading.current_A) and math.isfinite(set_A) and \
            abs(reading.current_A) >= self.FLOWING_FRACTION * set_A
        where = (f"voltage compliance {self.compliance_V:g} V reached (V = "
                 f"{reading.voltage_V:.4g} V, I = {reading.current_A:.4g} A of {set_A:.4g} A set)")
        if flowing:
            return (f"{where}: the pixel needs more voltage than the compliance to carry this "
                    f"current (raise compliance_V, up to the SMU's range, or lower the current)")
        return f"{where}: no current flows: open circuit / lost contact"

    def _row_time(self, reading, time_offset: float) -> float:
        """Stress time [s] of a row: the SMU's own reading time stamp, so that a stall of
        the host after the exchange does not shift the row; the host clock (end of the
        exchange) when the stamp is missing or jumps back (instrument reset, reconnect)."""
        host = self.elapsed_s()
        stamp = reading.time_s
        ref = getattr(self, "_time_ref", None)
        if ref is None:
            # Fresh run: the first row is t = 0 by definition (L0). Resumed: stress time
            # continues from the stored end plus the time since the output came back on.
            first = time_offset if self._resume is None else \
                time_offset + max(host - self._host_on, 1e-9)
            self._time_ref = {"host0": host - first, "stamp0": stamp, "last": first,
                              "first": first}
            return first
        t = stamp - ref["stamp0"] + ref["first"] if math.isfinite(stamp) and \
            math.isfinite(ref["stamp0"]) else math.nan
        if not math.isfinite(t) or t <= ref["last"] or t > host - ref["host0"] + 1e-6:
            t = host - ref["host0"]
            ref["stamp0"] = stamp - (t - ref["first"]) if math.isfinite(stamp) else math.nan
        ref["last"] = t
        return t

    def _record_sim_state(self) -> None:
        """Simulated bench only: the pixel's ageing at t = 0, so the truth can account for the
        stress of the L0 search (with β < 1 even a short search lowers L0 measurably)."""
        bench = getattr(self.instruments, "bench", None)
        if bench is None or self._resume is not None:
            return
        pixel = bench.pixels[bench_pixel_index(self)]
        _ = pixel.current_A                    # bring the lazy ageing up to date
        self.log_event("info", f"simulated truth at t = 0: equivalent age D0 = "
                       f"{pixel.device.equivalent_age:.6e}")

    def _record_instrument_errors(self, t: float) -> None:
        """Read this channel's SMU error queue; each entry → a warning in ``/events``
        (:meth:`~procedures.base.QledProcedure.record_error_queue`); logging goes on."""
        self.record_error_queue(self.smu, f"at t = {t:.6g} s", goes_on="logging continues")

    def _stress(self, current: float, time_offset: float, l0: float | None):
        smu = self.smu
        area = self.area_cm2
        cap_s = self.max_hours * 3600.0
        spec_every = self.spectrum_every_min * 60.0 if self.meter is not None else 0.0
        next_spectrum = 0.0
        t0 = None
        v0 = None
        below = 0
        k = 0
        times, rels = deque(maxlen=ETA_WINDOW_ROWS), deque(maxlen=ETA_WINDOW_ROWS)
        errors_read_at = -math.inf
        t = math.nan
        self.live["state"] = "stress"
        self.log_event("info", f"stress at {current:.6g} A "
                       f"({current * 1e3 / area:.5g} mA/cm²) from t = {time_offset:g} s; stop "
                       f"at L/L0 ≤ {self.stop_fraction:g} or {self.max_hours:g} h")
        smu.set_current(current)
        smu.output_on()
        self._host_on = self.elapsed_s()
        while True:
            if self.should_stop():
                self.log_event("warning", "stop requested: output off")
                break
            before = self.elapsed_s()
            want_spec = spec_every > 0 and (t0 is None or before - t0 >= next_spectrum)
            reading = smu.measure()
            lum, extra = self._luminance(spectrum=want_spec)
            t = self._row_time(reading, time_offset)
            if t0 is None:
                # Host time (elapsed_s) at stress time 0, so that elapsed_s() − t0 is the stress
                # time now: the schedule runs in stress time whatever the start-up took before
                # the first row, or however far a resumed run had got.
                t0 = self._time_ref["host0"]
            if want_spec:
                next_spectrum += spec_every * (1 + math.floor((t - next_spectrum) / spec_every))
            if l0 is None and math.isnan(lum):
                # The meter flagged the reading (its own event says why): no L0 from it.
                self.log_event("warning", f"no L0 at t = {t:.6g} s: the light meter gave no "
                               "value; L0 is taken from the next reading")
            elif l0 is None:
                if not lum > 0:
                    self._stop_channel(f"no light at the stress current (L = {lum:.4g} cd/m²)")
                    break
                l0 = lum
                self.log_event("info", f"L0 = {l0:.6g} cd/m² at t = {t:.6g} s (first stress "
                               "reading with a value)")
            if v0 is None and math.isfinite(reading.voltage_V):
                v0 = reading.voltage_V
            rel = lum / l0 if l0 is not None else math.nan
            row = {"time_s": t, "voltage_V": reading.voltage_V, "current_A": reading.current_A,
                   "source_current_A": current,
                   "current_density_mA_cm2": reading.current_A * 1e3 / area,
                   "luminance_cd_m2": lum, "relative_luminance_fraction": rel, **extra,
                   **self.environment_row()}
            self.emit("results", row)
            if k == 0:
                self._record_sim_state()
                self._release_clock()
            if t - errors_read_at >= ERROR_QUEUE_EVERY_S:
                self._record_instrument_errors(t)
                errors_read_at = t
            if times and t - times[-1] > 1.5 * self.log_interval_s + 1.0:
                self.log_event("warning", f"gap: no row from t = {times[-1]:.6g} s to t = "
                               f"{t:.6g} s ({t - times[-1]:.4g} s without a reading; the "
                               "instrument was unreachable or busy); rows are missing, not "
                               "filled in")
            k += 1
            times.append(t)
            rels.append(rel)
            self.live.update(elapsed_s=t, relative=rel, voltage_V=reading.voltage_V)
            if k % 10 == 0 and rel > self.stop_fraction:
                self.live["eta_t50_s"] = estimate_time_to_fraction_s(
                    times, rels, self.stop_fraction)
            self.emit("progress", min(100.0, 100.0 * max(
                t / cap_s, (1.0 - min(rel, 1.0)) / (1.0 - self.stop_fraction))))
            fault = self._device_fault(reading, lum, v0, l0, current)
            if fault:
                self._stop_channel(fault)
                break
            below = below + 1 if rel <= self.stop_fraction else 0
            if below >= STOP_CONFIRM_ROWS:
                self.log_event("info", f"L/L0 = {rel:.4f} ≤ {self.stop_fraction:g} for "
                               f"{STOP_CONFIRM_ROWS} rows at t = {t:.6g} s: done")
                self.stop_reason = f"stop fraction {self.stop_fraction:g} reached"
                break
            if t >= cap_s:
                self.log_event("info", f"duration cap {self.max_hours:g} h reached at L/L0 = "
                               f"{rel:.4f}")
                self.stop_reason = f"duration cap {self.max_hours:g} h"
                break
            # Absolute schedule: row k at k·interval; a late row is taken at once, not skipped.
            wait = (math.floor(t / self.log_interval_s) + 1) * self.log_interval_s - \
                (self.elapsed_s() - t0)
            self.wait(wait)
        self._stress_end_s = t if math.isfinite(t) else None
        if math.isfinite(t) and t > errors_read_at:
            self._record_instrument_errors(t)     # what queued since the last read
        self.live["state"] = "done" if not self.should_stop() else "aborted"
        smu.output_off()

    def event_stress_time_s(self) -> float | None:
        """Stress time of an event: from the first stress row (t = 0, or where a resumed run
        continues) to the end of the stress; None before."""
        ref = getattr(self, "_time_ref", None)
        if ref is None:
            return None
        end = getattr(self, "_stress_end_s", None)
        return end if end is not None else self.elapsed_s() - ref["host0"]
