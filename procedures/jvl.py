"""J-V-L sweep: voltage steps on the SMU, luminance / colour / spectrum per point.

What a reviewer asks to see recorded with a sweep (Anaya et al., "Best practices for
measuring emerging light-emitting diode technologies", Nat. Photonics 13, 818 (2019),
doi:10.1038/s41566-019-0543-y): pixel area, sweep direction(s), step, dwell and the
resulting sweep rate, forward and reverse sweeps (hysteresis), EL spectra vs bias, the
detector and its geometry. All of it goes into the run's parameters and station record.

Instrument errors and open pixels
---------------------------------
The SMU's SCPI error queue is drained after each branch (forward, reverse) and at the end
of the sweep — never per point — and each queued error becomes a warning in ``/events``
(the sweep goes on). On the forward branch, wherever |V| rises, a point whose |I| collapses
below the open-circuit floor after the pixel conducted (``procedures.base.OPEN_FLOOR_A``)
gets one warning "current collapsed … open circuit / lost contact?"; a forward branch that
reaches ``NO_CURRENT_MARGIN_V`` beyond the expected turn-on (the photon energy of
``assumed_peak_nm``, hc/λ: an LED conducts by then) and never carries |I| above the floor
gets one "no device current …" warning. Neither changes when the sweep stops.

Light routes
------------
``spectroradiometer``
    luminance, CIE x, y from the meter; spectral radiance every ``spectrum_every`` points.
``photodiode``
    photocurrent of a calibrated photodiode; luminance from it through the calibration and a
    reference EL spectrum (a CSV file, or a Gaussian of the stated peak and FWHM, recorded
    as *assumed*) — Archer et al., Adv. Opt. Mater. 9, 2000838 (2021).
    The dark current, read with the SMU output off before and after the sweep, is
    subtracted (:mod:`procedures.dark_current`).
``none``
    J-V only; the SMU runs the sweep as hardware list sweeps of a few points each (one read
    per list). Between lists the procedure applies the stop rules of the point-by-point
    routes (compliance, current-density limit, abort), emits the list's rows and sizes the
    next list so that no point past a limit is applied (see :meth:`JVLProcedure._hardware_sweep`).
"""
from __future__ import annotations

import math

import numpy as np
from pymeasure.experiment import (FloatParameter, IntegerParameter, ListParameter, Parameter)

from .base import INSTRUMENTS, LIMITS, SAMPLE, SWEEP
from .base import (OPEN_COLLAPSE_RATIO, OPEN_CONDUCTING_A, OPEN_FLOOR_A, QledProcedure,
                   first_current_collapse)
from .dark_current import DarkCurrentRoute

__all__ = ["JVLProcedure", "PhotodiodeRoute", "sweep_voltages_V", "checked_sweep_V",
           "gaussian_spectrum"]

LIGHT_ROUTES = ("spectroradiometer", "photodiode", "none")
DIRECTIONS = ("forward", "forward+reverse")

#: Hardware-sweep lists (light route ``none``): at most this many points per list (the
#: 2400 source memory holds 100), and about this long, so that an abort, a limit or a live
#: plot waits at most about a second while the per-list overhead (a few exchanges) stays at
#: a few per cent.
HW_LIST_MAX_POINTS = 25
HW_LIST_TARGET_S = 1.0
#: Assumed duration of one list point besides dwell and integration [s] (settling, read-out).
HW_POINT_OVERHEAD_S = 0.005
#: kT/q at 300 K [V]. A diode current grows at most e-fold per kT/q (ideality ≥ 1): the
#: worst-case growth the hardware sweep assumes when it sizes a list below a current limit.
THERMAL_VOLTAGE_V = 0.025852
#: |J| assumed below the resolution of a reading (0, NaN, or the first list) [mA/cm²].
J_FLOOR_MA_CM2 = 1e-9
#: hc/e [V·nm]: photon energy [eV] = this / wavelength [nm].
HC_EV_NM = 1239.84198
#: A forward sweep reaching this far beyond the expected turn-on [V] with no current above
#: the open-circuit floor gets a "no device current" warning (see :meth:`JVLProcedure.execute`).
NO_CURRENT_MARGIN_V = 1.0


def sweep_voltages_V(start_V: float, stop_V: float, step_V: float) -> np.ndarray:
    """Voltages from ``start_V`` to ``stop_V`` inclusive in steps of ``step_V`` [V]."""
    n = int(math.floor(abs(stop_V - start_V) / step_V + 1e-9)) + 1
    sign = 1.0 if stop_V >= start_V else -1.0
    v = start_V + sign * step_V * np.arange(n)
    if abs(v[-1] - stop_V) > 1e-9 * max(1.0, abs(stop_V)):
        v = np.append(v, stop_V)
    return np.round(v, 9)


def checked_sweep_V(start_V: float, stop_V: float, step_V: float, *,
                    names=("start_voltage_V", "stop_voltage_V", "step_voltage_V"),
                    max_points: int = 100_000) -> np.ndarray:
    """:func:`sweep_voltages_V` after the checks of a procedure's ``validate()``: distinct
    ends, a step within the span, at most ``max_points``; ``names`` are the parameters
    the one-line ValueError names."""
    start_name, stop_name, step_name = names
    if stop_V == start_V:
        raise ValueError(f"{stop_name} must differ from {start_name}")
    span = abs(stop_V - start_V)
    if step_V > span:
        raise ValueError(f"{step_name} = {step_V:g} is out of range: allowed 0.001 … "
                         f"{span:g} V (the sweep span)")
    v = sweep_voltages_V(start_V, stop_V, step_V)
    if len(v) > max_points:
        raise ValueError(f"the sweep has {len(v)} points: allowed at most {max_points} "
                         f"(raise {step_name})")
    return v


def gaussian_spectrum(wavelength_nm: np.ndarray, peak_nm: float, fwhm_nm: float) -> np.ndarray:
    """A unit-height Gaussian line in wavelength: the assumed EL shape of the photodiode route."""
    sigma = fwhm_nm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    return np.exp(-0.5 * ((np.asarray(wavelength_nm, float) - peak_nm) / sigma) ** 2)


class PhotodiodeRoute(DarkCurrentRoute):
    """The photodiode light route of a procedure (J-V-L sweep, lifetime channel).

    Luminance from the photocurrent, less the dark current measured with the LED off
    (:mod:`procedures.dark_current`), through the photodiode's calibration and a reference
    EL spectrum: a CSV file, or a Gaussian of the stated peak and FWHM recorded as
    *assumed* (Archer et al., Adv. Opt. Mater. 9, 2000838 (2021)). The procedure has
    ``light_route`` and ``area_cm2`` parameters.
    """

    reference_spectrum = Parameter("Reference EL spectrum CSV (photodiode route)", default="")
    assumed_peak_nm = FloatParameter("Assumed EL peak (photodiode route)", units="nm",
                                     minimum=300.0, maximum=1100.0, default=517.0)
    assumed_fwhm_nm = FloatParameter("Assumed EL FWHM (photodiode route)", units="nm",
                                     minimum=1.0, maximum=300.0, default=18.0)

    def _check_reference_spectrum(self) -> None:
        """For ``validate()``: a named reference file must be readable before the run."""
        if self.light_route == "photodiode" and self.reference_spectrum:
            self._load_reference_spectrum()

    def _load_reference_spectrum(self):
        try:
            data = np.loadtxt(self.reference_spectrum, delimiter=",", comments="#", ndmin=2)
        except (OSError, ValueError) as exc:
            raise ValueError(f"reference_spectrum = {self.reference_spectrum!r}: cannot read "
                             f"'wavelength_nm,spectrum' rows ({exc})") from None
        if data.shape[1] < 2 or data.shape[0] < 3 or np.any(np.diff(data[:, 0]) <= 0):
            raise ValueError(f"reference_spectrum = {self.reference_spectrum!r}: need ≥ 3 rows "
                             "of increasing wavelength_nm, spectrum")
        return data[:, 0], data[:, 1]

    def _photodiode_reference(self):
        """``(wavelength_nm, spectrum, "file" | "assumed")`` on the photodiode route, else
        None."""
        if self.light_route != "photodiode":
            return None
        if self.reference_spectrum:
            return self._load_reference_spectrum() + ("file",)
        wl = np.arange(380.0, 781.0, 1.0)
        return wl, gaussian_spectrum(wl, self.assumed_peak_nm, self.assumed_fwhm_nm), "assumed"

    def _warm_up_photodiode(self, photodiode) -> None:
        """Convert one photocurrent before any pixel is driven: the first conversion loads
        the CIE tables (~0.7 s), time a driven pixel would otherwise spend stressed between
        its reading and the next command (minutes on an accelerated simulated clock)."""
        if photodiode is not None and getattr(self, "reference", None) is not None:
            wl, s, _ = self.reference
            photodiode.calibration.luminance_cd_m2(0.0, wl, s, area_cm2=self.area_cm2)

    def _photodiode_reading(self, photodiode):
        """(luminance [cd/m²], photocurrent [A]) of one photodiode reading (needs
        ``self.reference`` from :meth:`_photodiode_reference`): the photocurrent as read,
        the luminance of it less the live dark current."""
        i_pd = photodiode.read_photocurrent_A()
        wl, s, _ = self.reference
        return photodiode.calibration.luminance_cd_m2(max(i_pd - self.live_dark_A(), 0.0), wl,
                                                      s, area_cm2=self.area_cm2), i_pd


class JVLProcedure(PhotodiodeRoute, QledProcedure):
    """Current density–voltage–luminance sweep of one LED pixel."""

    area_cm2 = FloatParameter("Pixel area", units="cm^2", minimum=1e-4, maximum=10.0,
                              default=0.04)
    start_voltage_V = FloatParameter("Start voltage", units="V", minimum=-20.0, maximum=40.0,
                                     default=0.0)
    stop_voltage_V = FloatParameter("Stop voltage", units="V", minimum=-20.0, maximum=40.0,
                                    default=8.0)
    step_voltage_V = FloatParameter("Voltage step", units="V", minimum=0.001, maximum=5.0,
                                    default=0.1)
    directions = ListParameter("Sweep directions", choices=DIRECTIONS, default="forward+reverse")
    dwell_s = FloatParameter("Dwell per point", units="s", minimum=0.0, maximum=60.0,
                             default=0.05)
    compliance_mA = FloatParameter("Current compliance", units="mA", minimum=1e-6,
                                   maximum=1050.0, default=100.0)
    nplc = FloatParameter("Integration (NPLC)", minimum=0.01, maximum=10.0, default=1.0)
    max_luminance_cd_m2 = FloatParameter("Stop at luminance", units="cd/m^2", minimum=1.0,
                                         maximum=1e7, default=1e6)
    max_current_density_mA_cm2 = FloatParameter("Stop at current density", units="mA/cm^2",
                                                minimum=1e-3, maximum=1e5, default=2000.0)
    light_route = ListParameter("Light meter route", choices=LIGHT_ROUTES,
                                default="spectroradiometer")
    spectrum_every = IntegerParameter("Spectrum every k-th point (0 = never)", minimum=0,
                                      maximum=10_000, default=1)
    light_threshold_mA_cm2 = FloatParameter(
        "Measure light above current density", units="mA/cm^2", minimum=0.0, maximum=1e3,
        default=1e-4)

    PARAMETER_GROUPS = {
        **QledProcedure.PARAMETER_GROUPS, "area_cm2": SAMPLE,
        "start_voltage_V": SWEEP, "stop_voltage_V": SWEEP, "step_voltage_V": SWEEP,
        "directions": SWEEP, "dwell_s": SWEEP,
        "compliance_mA": LIMITS, "max_luminance_cd_m2": LIMITS,
        "max_current_density_mA_cm2": LIMITS,
        "nplc": INSTRUMENTS, "light_route": INSTRUMENTS, "spectrum_every": INSTRUMENTS,
        "light_threshold_mA_cm2": INSTRUMENTS, "reference_spectrum": INSTRUMENTS,
        "assumed_peak_nm": INSTRUMENTS, "assumed_fwhm_nm": INSTRUMENTS,
        "dark_current_readings": INSTRUMENTS}
    DATA_COLUMNS = ["time_s", "voltage_V", "current_A", "current_density_mA_cm2",
                    "luminance_cd_m2", "cie_x", "cie_y", "photocurrent_A", "dark_current_A",
                    "direction", "in_compliance"]
    COLUMN_UNITS = {"direction": "1 (+1 forward, -1 reverse)", "in_compliance": "1 (bool)"}

    # -- set-up ---------------------------------------------------------------------------
    def required_roles(self):
        return {"spectroradiometer": ("smu", "light_meter"),
                "photodiode": ("smu", "photodiode"),
                "none": ("smu",)}[self.light_route]

    def validate(self):
        checked_sweep_V(self.start_voltage_V, self.stop_voltage_V, self.step_voltage_V)
        self._check_reference_spectrum()

    def startup(self):
        super().startup()
        self.compliance_A = self.compliance_mA * 1e-3
        smu = self.instruments.smu
        self.check_source_request(
            smu, compliance_A=(self.compliance_A, "compliance_mA", 1e3))
        for name in ("start_voltage_V", "stop_voltage_V"):
            self.check_source_request(smu, voltage_V=(getattr(self, name), name, 1.0))
        self.reference = self._photodiode_reference()
        self._warm_up_photodiode(getattr(self.instruments, "photodiode", None))
        # Spectra are recorded on the light meter's own axis; a meter without one (None)
        # gives luminance and colour only.
        self.spectrum_axis_nm = None
        self.light_meter_optics = None
        if self.light_route == "spectroradiometer":
            self.light_meter_optics = _light_meter_optics(self, self.instruments.light_meter,
                                                          self.area_cm2)
        if self.light_route == "spectroradiometer" and self.spectrum_every > 0:
            self.spectrum_axis_nm = _light_meter_axis(self.instruments.light_meter)

    def run_metadata(self):
        meta = super().run_metadata()
        if self.spectrum_axis_nm is not None:
            meta["spectrum_axis_nm"] = self.spectrum_axis_nm
            meta["spectrum_units"] = "W/(sr m^2 nm)"
        station = dict(meta.get("station") or {})
        if self.light_meter_optics is not None:
            station["light_meter_optics"] = self.light_meter_optics
        sweep_rate = (self.step_voltage_V / self.dwell_s) if self.dwell_s > 0 else None
        station["sweep"] = {
            "area_cm2": self.area_cm2, "directions": self.directions,
            "step_V": self.step_voltage_V, "dwell_s": self.dwell_s,
            "nominal_rate_V_s": sweep_rate, "light_route": self.light_route,
            "detector": meta.get("instruments", {}).get(
                "light_meter" if self.light_route == "spectroradiometer" else "photodiode", ""),
            "reference_spectrum": None if self.reference is None else {
                "source": self.reference[2],
                "file": self.reference_spectrum or None,
                "wavelength_nm": np.asarray(self.reference[0], float).tolist(),
                "spectrum": np.asarray(self.reference[1], float).tolist()},
        }
        meta["station"] = station
        return meta

    # -- the sweep ------------------------------------------------------------------------
    def execute(self):
        smu = self.instruments.smu
        forward = sweep_voltages_V(self.start_voltage_V, self.stop_voltage_V,
                                   self.step_voltage_V)
        n_total = len(forward) * (2 if self.directions == "forward+reverse" else 1)
        smu.configure_voltage_source(self.compliance_A, nplc=self.nplc)
        photodiode = getattr(self.instruments, "photodiode", None)
        self.measure_dark(smu, photodiode, "start")
        smu.set_voltage(float(forward[0]))
        smu.output_on()
        self.log_event("info", f"output on, {self.directions} sweep {forward[0]:g} → "
                       f"{forward[-1]:g} V in {self.step_voltage_V:g} V steps")
        self._done = 0
        self._open_circuit_noted = False
        try:
            if self.light_route == "none":
                self._hardware_sweep(smu, forward)
            else:
                n_fwd, stop_all = self._sweep(smu, forward, +1, n_total)
                self._after_forward(smu, forward[:n_fwd])
                if self.directions == "forward+reverse" and not stop_all \
                        and not self.should_stop():
                    # back from the last forward point (measured again) to the start
                    self._sweep(smu, forward[:n_fwd][::-1], -1, n_total)
                    self.record_error_queue(smu, "after the reverse sweep")
        except BaseException:
            try:
                smu.output_off()
            except Exception as exc:  # noqa: BLE001 - the first error is the one to report
                self.log_event("error", f"output off after a failed sweep failed: {exc}")
            raise
        smu.output_off()
        self.record_error_queue(smu, "at the end of the sweep")
        self.measure_dark(smu, photodiode, "end")

    def expected_turn_on_V(self) -> float:
        """Expected turn-on voltage [V]: the photon energy of ``assumed_peak_nm`` over e
        (an LED emits, and conducts, by the time V reaches the photon energy)."""
        return HC_EV_NM / float(self.assumed_peak_nm)

    def _after_forward(self, smu, applied) -> None:
        """After the forward branch (``applied``: its voltages applied): drain the SMU's
        error queue; a branch that went ≥ :data:`NO_CURRENT_MARGIN_V` past the expected
        turn-on without |I| above the open-circuit floor → one "no device current" warning."""
        self.record_error_queue(smu, "after the forward sweep")
        if len(applied) and not self._forward_conducted:
            reached = float(np.max(applied))
            turn_on = self.expected_turn_on_V()
            if reached >= turn_on + NO_CURRENT_MARGIN_V:
                self.note_no_current(reached, "forward", f"expected turn-on ≈ {turn_on:.2g} V, "
                                     f"the photon energy at {self.assumed_peak_nm:g} nm")

    @staticmethod
    def _rising_from(voltages) -> int:
        """First index of a branch from which |V| rises point after point (the branch's
        voltages move away from 0 from there on): the open-circuit watch starts there."""
        v = np.asarray(voltages, float)
        if len(v) < 2:
            return len(v)
        sign = 1.0 if v[-1] >= v[0] else -1.0
        idx = np.flatnonzero(sign * v >= 0)
        return int(idx[0]) if idx.size else len(v)

    def _stop_rule(self, v, j, in_compliance, luminance, direction):
        """The stop rules after a point at set voltage ``v`` [V] has been recorded, the same
        for every route: ``"compliance"`` (stop the whole sweep), ``"limit"`` (luminance or
        current density reached on the forward branch: end it, then the reverse) or None.
        The stop reason goes to the events."""
        if in_compliance:
            self.log_event("warning", f"compliance {self.compliance_mA:g} mA reached at "
                           f"{v:g} V: sweep stopped")
            return "compliance"
        if direction > 0 and luminance >= self.max_luminance_cd_m2:
            self.log_event("info", f"luminance limit {self.max_luminance_cd_m2:g} cd/m² "
                           f"reached at {v:g} V")
            return "limit"
        if direction > 0 and abs(j) >= self.max_current_density_mA_cm2:
            self.log_event("info", f"current-density limit "
                           f"{self.max_current_density_mA_cm2:g} mA/cm² reached at {v:g} V")
            return "limit"
        return None

    def _abort_requested(self) -> bool:
        if self.should_stop():
            self.log_event("warning", "abort requested: stopping the sweep")
            return True
        return False

    def _sweep(self, smu, voltages, direction, n_total):
        """One direction point by point; returns (points applied, whether to stop everything).

        On the forward branch it also watches for an open circuit (a few float comparisons
        per point): ``self._forward_conducted`` says whether any point carried |I| ≥ the
        open-circuit floor, and a collapse (see ``procedures.base.OPEN_FLOOR_A``) where |V|
        rises is recorded once as a warning.
        """
        applied, stop_all = len(voltages), False
        # Points before ``watch_from`` (and the reverse branch) are not compared: prev stays 0.
        watch_from = self._rising_from(voltages) if direction > 0 else len(voltages)
        prev, conducted = 0.0, False
        for k, v in enumerate(voltages):
            if self._abort_requested():
                applied, stop_all = k, True
                break
            if self.dwell_s > 0:
                smu.set_voltage(float(v))
                self.wait(self.dwell_s)
                reading = smu.measure()
            else:
                reading = smu.source_voltage_and_measure(float(v))
            j = reading.current_A * 1e3 / self.area_cm2
            a = abs(reading.current_A)
            if a < OPEN_FLOOR_A:
                if prev > OPEN_CONDUCTING_A and prev > OPEN_COLLAPSE_RATIO * a:
                    self.note_current_collapse(prev, reading.current_A, v, "forward")
            else:
                conducted = True
            prev = a if k >= watch_from else 0.0
            row = self._light_row(k, abs(j) >= self.light_threshold_mA_cm2)
            row.update(time_s=self.elapsed_s(), voltage_V=reading.voltage_V,
                       current_A=reading.current_A, current_density_mA_cm2=j,
                       direction=direction, in_compliance=float(reading.in_compliance))
            self.emit("results", row)
            self._done += 1
            self.emit("progress", 100.0 * self._done / n_total)
            stop = self._stop_rule(v, j, reading.in_compliance, row["luminance_cd_m2"],
                                   direction)
            if stop is not None:
                applied, stop_all = k + 1, stop == "compliance"
                break
        if direction > 0:
            self._forward_conducted = conducted
        return applied, stop_all

    def _light_row(self, k: int, lit: bool) -> dict:
        """Light readings of point ``k``; below the current threshold the meter is not
        triggered (a spectroradiometer needs minutes in the dark) and L is NaN."""
        nan = math.nan
        if not lit:
            return {"luminance_cd_m2": nan, "cie_x": nan, "cie_y": nan, "photocurrent_A": nan}
        if self.light_route == "spectroradiometer":
            meter = self.instruments.light_meter
            axis = self.spectrum_axis_nm
            want = axis is not None and k % self.spectrum_every == 0
            if hasattr(meter, "read_spectrum"):
                meter.read_spectrum = want
            lr = meter.measure()
            row = {"luminance_cd_m2": lr.luminance_cd_m2, "cie_x": lr.x, "cie_y": lr.y,
                   "photocurrent_A": nan}
            if want and len(lr.spectral_radiance_W_sr_m2_nm):
                wl = np.asarray(lr.wavelength_nm, float)
                if wl.shape != axis.shape or not np.allclose(wl, axis, rtol=0, atol=1e-6):
                    raise ValueError(f"the light meter returned a spectrum on {wl.size} "
                                     f"wavelengths, not on the {axis.size} of its stated axis "
                                     f"{axis[0]:g} … {axis[-1]:g} nm (its wavelength_nm)")
                row["spectrum"] = np.asarray(lr.spectral_radiance_W_sr_m2_nm, float)
            return row
        lum, i_pd = self._photodiode_reading(self.instruments.photodiode)
        return {"luminance_cd_m2": lum, "cie_x": nan, "cie_y": nan, "photocurrent_A": i_pd,
                **self.dark_field()}

    def _hardware_sweep(self, smu, forward):
        """Light route ``none``: the sweep as SMU hardware list sweeps of a few points.

        Between two lists the procedure does what the point-by-point route does between two
        points: it checks ``should_stop()``, emits the list's rows (one ``batch results``
        record: live plots follow the sweep), and applies :meth:`_stop_rule` point by point.
        A list that trips a stop rule is recorded up to and including the point that
        tripped it, like the point route; the stop event and reason are the point route's.
        The reverse branch (after the whole forward branch or a current-density limit)
        runs from the point below the turning point back to the start: the hardware route
        does not measure the turning point twice.

        A list cannot be interrupted, so its length is bounded (:meth:`_list_points`): by
        time (about :data:`HW_LIST_TARGET_S`, the wait for an abort), and on the forward
        branch by the current it may reach — no list goes further than the first point at
        which a diode current growing at its fastest (ideality 1, e-fold per kT/q) could
        reach the current-density limit or the compliance. Near a limit the lists shrink
        to single points.

        The SMU returns to its fixed level when a list ends; the level is set to each list's
        first voltage, so between two lists the pixel rests for a few milliseconds at that
        voltage (at most one list's span below the last point).
        """
        n_fwd = len(forward)
        n_planned = 2 * n_fwd - 1 if self.directions == "forward+reverse" else n_fwd
        applied, stop_all = self._hardware_branch(smu, forward, +1, n_planned)
        self._after_forward(smu, forward[:applied])
        if self.directions == "forward+reverse" and not stop_all and applied > 1:
            reverse = forward[:applied - 1][::-1]
            self._hardware_branch(smu, reverse, -1, self._done + len(reverse))
            self.record_error_queue(smu, "after the reverse sweep")

    def _hardware_branch(self, smu, voltages, direction, n_planned):
        """One direction in hardware lists; returns (points applied, whether to stop all).

        The forward branch is watched for an open circuit list by list, as the point route
        does point by point (:func:`~procedures.base.first_current_collapse`)."""
        k = 0
        j_prev = j_last = math.nan
        watch_from = self._rising_from(voltages) if direction > 0 else len(voltages)
        prev_abs, conducted, stop_all = 0.0, False, False
        while k < len(voltages):
            if self._abort_requested():
                stop_all = True
                break
            n = self._list_points(len(voltages) - k, direction, j_prev, j_last)
            chunk = voltages[k:k + n]
            smu.set_voltage(float(chunk[0]))     # where the SMU rests when the list ends
            t_start = self.elapsed_s()
            result = smu.sweep_voltage(chunk.tolist(), self.dwell_s)
            got = len(result)
            # An SMU may stop a list at its compliance (a 2450's failAbort): fewer readings,
            # the last one limited. Anything else short is an error.
            if got > n or (got < n and not (got and result.in_compliance[-1])):
                raise RuntimeError(f"the SMU returned {got} readings for a list of "
                                   f"{n} points")
            j = result.current_A * 1e3 / self.area_cm2
            keep, stop = got, None
            for i in range(got):
                stop = self._stop_rule(chunk[i], j[i], bool(result.in_compliance[i]),
                                       math.nan, direction)
                if stop is not None:
                    keep = i + 1
                    break
            if direction > 0:
                current = result.current_A[:keep]
                hit = first_current_collapse(prev_abs, current, watch_from - k + 1)
                if hit >= 0:
                    before = prev_abs if hit == 0 else abs(current[hit - 1])
                    self.note_current_collapse(before, current[hit], chunk[hit], "forward")
                conducted = conducted or bool(np.any(np.abs(current) >= OPEN_FLOOR_A))
                prev_abs = abs(current[-1]) if k + keep - 1 >= watch_from else 0.0
            t = result.time_s - np.nanmin(result.time_s) + t_start \
                if np.all(np.isfinite(result.time_s)) else np.full(got, np.nan)
            nan = np.full(keep, np.nan)
            self.emit("batch results", {
                "time_s": t[:keep], "voltage_V": result.voltage_V[:keep],
                "current_A": result.current_A[:keep], "current_density_mA_cm2": j[:keep],
                "luminance_cd_m2": nan, "cie_x": nan, "cie_y": nan, "photocurrent_A": nan,
                "direction": np.full(keep, float(direction)),
                "in_compliance": result.in_compliance[:keep].astype(float)})
            self._done += keep
            self.emit("progress", 100.0 * self._done / n_planned)
            if stop is not None:
                if keep < got:
                    self.log_event("info", f"{got - keep} later point(s) of the same hardware "
                                   f"list ({chunk[keep]:g} … {chunk[got - 1]:g} V) were "
                                   "applied but are not recorded")
                if got < n:
                    self.log_event("info", f"the SMU stopped the list at its compliance: "
                                   f"{n - got} later point(s) ({chunk[got]:g} … "
                                   f"{chunk[-1]:g} V) were not applied")
                k += keep
                stop_all = stop == "compliance"
                break
            k += n
            j_prev, j_last = (j[-2] if n > 1 else j_last), j[-1]
        if direction > 0:
            self._forward_conducted = conducted
        return k, stop_all

    def _list_points(self, remaining, direction, j_prev, j_last) -> int:
        """Points of the next hardware list (see :meth:`_hardware_sweep`): ≤ ``remaining``,
        ≤ :data:`HW_LIST_MAX_POINTS`, about :data:`HW_LIST_TARGET_S` long, and on the
        forward branch not past the first point at which the current density, from
        ``j_last`` [mA/cm²] (the last point; ``j_prev`` the one before), could reach the
        current-density limit or the compliance."""
        t_point = self.dwell_s + self.nplc / 50.0 + HW_POINT_OVERHEAD_S   # 50 Hz: the longer
        n = min(remaining, HW_LIST_MAX_POINTS, max(1, int(HW_LIST_TARGET_S / t_point)))
        if direction < 0:
            return n
        limit = min(self.max_current_density_mA_cm2, self.compliance_mA / self.area_cm2)
        last = abs(j_last) if abs(j_last) > J_FLOOR_MA_CM2 else J_FLOOR_MA_CM2
        log_growth = self.step_voltage_V / THERMAL_VOLTAGE_V          # per step, worst case
        if abs(j_prev) > J_FLOOR_MA_CM2 and abs(j_last) > abs(j_prev):
            log_growth = max(log_growth, math.log(abs(j_last) / abs(j_prev)))
        if last >= limit:
            return 1
        steps = math.ceil(math.log(limit / last) / log_growth - 1e-9)
        return max(1, min(n, steps))


def _light_meter_axis(meter) -> np.ndarray | None:
    """The wavelength axis [nm] of the spectra a :class:`~instruments.roles.LightMeter`
    reports (its ``wavelength_nm``), or None if it has no spectral axis."""
    axis = meter.wavelength_nm
    return None if axis is None else np.asarray(axis, float)


def _light_meter_optics(procedure, meter, area_cm2: float | None) -> dict | None:
    """Where the light meter looks, for the run record (``station.light_meter_optics``).

    The measuring angle comes from the meter (``optics()``), the working distance from the
    station (``[light_meter] working_distance_mm``); the spot diameter is 2·L·tan(θ/2) (see
    :class:`instruments.roles.LightMeterOptics`). When the spot is wider than the side of a
    square pixel of ``area_cm2`` (the largest circle such a pixel holds), a warning goes to
    ``/events``: the meter then also sees the dark surround and reads a lower luminance.
    """
    optics = getattr(meter, "optics", None)
    if not callable(optics):
        return None
    config = getattr(procedure.instruments, "config", None) or {}
    distance = (config.get("light_meter") or {}).get("working_distance_mm")
    view = optics(None if distance is None else float(distance))
    record = view.as_dict()
    spot_mm = view.spot_diameter_mm
    if spot_mm is not None and area_cm2:
        side_mm = 10.0 * math.sqrt(float(area_cm2))
        record.update(pixel_side_mm=side_mm, spot_fits_pixel=bool(spot_mm <= side_mm))
        if spot_mm > side_mm:
            procedure.log_event(
                "warning", f"light_meter: the measured spot (Ø {spot_mm:.3g} mm: "
                f"{view.measuring_angle_deg:g}° at {view.working_distance_mm:g} mm, "
                f"d = 2 L tan(θ/2)) is larger than the pixel (side {side_mm:.3g} mm for "
                f"{float(area_cm2):g} cm²): the luminance includes the dark surround and reads "
                "low; use a smaller measuring angle or a shorter working distance")
    return record
