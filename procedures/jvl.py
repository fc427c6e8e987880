"""J-V-L sweep: voltage steps on the SMU, luminance / colour / spectrum per point.

What a reviewer asks to see recorded with a sweep (Anaya et al., "Best practices for
measuring emerging light-emitting diode technologies", Nat. Photonics 13, 818 (2019),
doi:10.1038/s41566-019-0543-y): pixel area, sweep direction(s), step, dwell and the
resulting sweep rate, forward and reverse sweeps (hysteresis), EL spectra vs bias, the
detector and its geometry. All of it goes into the run's parameters and station record.

Light routes
------------
``spectroradiometer``
    luminance, CIE x, y from the meter; spectral radiance every ``spectrum_every`` points.
``photodiode``
    photocurrent of a calibrated photodiode; luminance from it through the calibration and a
    reference EL spectrum (a CSV file, or a Gaussian of the stated peak and FWHM, recorded
    as *assumed*) — Archer et al., Adv. Opt. Mater. 9, 2000838 (2021).
``none``
    J-V only; the SMU runs the sweep as a hardware list sweep (one read returns all points).
"""
from __future__ import annotations

import math

import numpy as np
from pymeasure.experiment import (FloatParameter, IntegerParameter, ListParameter, Parameter)

from .base import QledProcedure

__all__ = ["JVLProcedure", "PhotodiodeRoute", "sweep_voltages_V", "checked_sweep_V",
           "gaussian_spectrum"]

LIGHT_ROUTES = ("spectroradiometer", "photodiode", "none")
DIRECTIONS = ("forward", "forward+reverse")


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


class PhotodiodeRoute:
    """The photodiode light route of a procedure (J-V-L sweep, lifetime channel).

    Luminance from the photocurrent through the photodiode's calibration and a reference
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

    def _photodiode_reading(self, photodiode):
        """(luminance [cd/m²], photocurrent [A]) of one photodiode reading (needs
        ``self.reference`` from :meth:`_photodiode_reference`)."""
        i_pd = photodiode.read_photocurrent_A()
        wl, s, _ = self.reference
        return photodiode.calibration.luminance_cd_m2(max(i_pd, 0.0), wl, s,
                                                      area_cm2=self.area_cm2), i_pd


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

    DATA_COLUMNS = ["time_s", "voltage_V", "current_A", "current_density_mA_cm2",
                    "luminance_cd_m2", "cie_x", "cie_y", "photocurrent_A", "direction",
                    "in_compliance"]
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
        self.reference = self._photodiode_reference()

    def run_metadata(self):
        meta = super().run_metadata()
        if self.light_route == "spectroradiometer" and self.spectrum_every > 0:
            meta["spectrum_axis_nm"] = _light_meter_axis(self.instruments.light_meter)
            meta["spectrum_units"] = "W/(sr m^2 nm)"
        station = dict(meta.get("station") or {})
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
        smu.set_voltage(float(forward[0]))
        smu.output_on()
        self.log_event("info", f"output on, {self.directions} sweep {forward[0]:g} → "
                       f"{forward[-1]:g} V in {self.step_voltage_V:g} V steps")
        if self.light_route == "none":
            self._hardware_sweep(smu, forward)
            return
        self._done = 0
        last_v, stop_all = self._sweep(smu, forward, +1, n_total)
        if self.directions == "forward+reverse" and not stop_all and not self.should_stop():
            reverse = forward[forward <= last_v + 1e-12][::-1]
            self._sweep(smu, reverse, -1, n_total)
        smu.output_off()

    def _sweep(self, smu, voltages, direction, n_total):
        """One direction; returns (last voltage applied, whether to stop everything)."""
        last_v = float(voltages[0])
        for k, v in enumerate(voltages):
            if self.should_stop():
                self.log_event("warning", "abort requested: stopping the sweep")
                return last_v, True
            if self.dwell_s > 0:
                smu.set_voltage(float(v))
                self.clock.sleep(self.dwell_s)
                reading = smu.measure()
            else:
                reading = smu.source_voltage_and_measure(float(v))
            last_v = float(v)
            j = reading.current_A * 1e3 / self.area_cm2
            row = self._light_row(k, abs(j) >= self.light_threshold_mA_cm2)
            row.update(time_s=self.elapsed_s(), voltage_V=reading.voltage_V,
                       current_A=reading.current_A, current_density_mA_cm2=j,
                       direction=direction, in_compliance=float(reading.in_compliance))
            self.emit("results", row)
            self._done += 1
            self.emit("progress", 100.0 * self._done / n_total)
            if reading.in_compliance:
                self.log_event("warning", f"compliance {self.compliance_mA:g} mA reached at "
                               f"{v:g} V: sweep stopped")
                return last_v, True
            lum = row["luminance_cd_m2"]
            if direction > 0 and lum >= self.max_luminance_cd_m2:
                self.log_event("info", f"luminance limit {self.max_luminance_cd_m2:g} cd/m² "
                               f"reached at {v:g} V")
                return last_v, False
            if direction > 0 and abs(j) >= self.max_current_density_mA_cm2:
                self.log_event("info", f"current-density limit "
                               f"{self.max_current_density_mA_cm2:g} mA/cm² reached at {v:g} V")
                return last_v, False
        return last_v, False

    def _light_row(self, k: int, lit: bool) -> dict:
        """Light readings of point ``k``; below the current threshold the meter is not
        triggered (a spectroradiometer needs minutes in the dark) and L is NaN."""
        nan = math.nan
        if not lit:
            return {"luminance_cd_m2": nan, "cie_x": nan, "cie_y": nan, "photocurrent_A": nan}
        if self.light_route == "spectroradiometer":
            meter = self.instruments.light_meter
            want = self.spectrum_every > 0 and k % self.spectrum_every == 0
            if hasattr(meter, "read_spectrum"):
                meter.read_spectrum = want
            lr = meter.measure()
            row = {"luminance_cd_m2": lr.luminance_cd_m2, "cie_x": lr.x, "cie_y": lr.y,
                   "photocurrent_A": nan}
            if want and len(lr.spectral_radiance_W_sr_m2_nm):
                row["spectrum"] = np.asarray(lr.spectral_radiance_W_sr_m2_nm, float)
            return row
        lum, i_pd = self._photodiode_reading(self.instruments.photodiode)
        return {"luminance_cd_m2": lum, "cie_x": nan, "cie_y": nan, "photocurrent_A": i_pd}

    def _hardware_sweep(self, smu, forward):
        voltages = forward
        if self.directions == "forward+reverse":
            voltages = np.concatenate([forward, forward[::-1][1:]])
        t_start = self.elapsed_s()
        result = smu.sweep_voltage(voltages.tolist(), self.dwell_s)
        smu.output_off()
        n = len(result)
        n_fwd = len(forward)
        direction = np.where(np.arange(n) < n_fwd, 1.0, -1.0)
        t = result.time_s - np.nanmin(result.time_s) + t_start \
            if np.all(np.isfinite(result.time_s)) else np.full(n, np.nan)
        nan = np.full(n, np.nan)
        self.emit("batch results", {
            "time_s": t, "voltage_V": result.voltage_V, "current_A": result.current_A,
            "current_density_mA_cm2": result.current_A * 1e3 / self.area_cm2,
            "luminance_cd_m2": nan, "cie_x": nan, "cie_y": nan, "photocurrent_A": nan,
            "direction": direction, "in_compliance": result.in_compliance.astype(float)})
        if np.any(result.in_compliance):
            first = float(result.voltage_V[np.argmax(result.in_compliance)])
            self.log_event("warning", f"compliance {self.compliance_mA:g} mA reached at "
                           f"{first:g} V during the hardware sweep")
        self.emit("progress", 100.0)


def _light_meter_axis(meter) -> np.ndarray:
    """The wavelength axis [nm] a light meter reports (CS-2000: 380–780 nm, 1 nm)."""
    axis = getattr(meter, "wavelength_nm", None)
    if axis is not None:
        return np.asarray(axis, float)
    from instruments.photo_research import PR655LightMeter

    if isinstance(meter, PR655LightMeter):
        return np.arange(380.0, 781.0, 4.0)
    from instruments.konica_minolta import WAVELENGTH_NM

    return np.asarray(WAVELENGTH_NM, float)


def demo_runs(out_dir, *, progress=print, pixels: int = 3, time_scale: float = 300.0) -> list:
    """J-V-L sweeps of ``pixels`` pixels each of a pristine and a passivated device (simulated,
    noise on, seeded by pixel): the batch that ``qled demo`` compares. The clock runs
    ``time_scale`` × fast: the light meter's integration time dominates a point."""
    from pathlib import Path

    from .commands import run_one

    paths = []
    for preset in ("pristine", "passivated"):
        for pixel in range(1, pixels + 1):
            values = {"station": f"sim:{preset}", "sample": preset, "pixel": pixel,
                      "operator": "qled demo", "start_voltage_V": 2.4, "stop_voltage_V": 7.0,
                      "step_voltage_V": 0.1, "dwell_s": 0.05, "compliance_mA": 100.0,
                      "nplc": 1.0}
            result, summary = run_one(JVLProcedure, values, Path(out_dir),
                                      overrides={"time_scale": time_scale},
                                      label=f"J-V-L {preset} pixel {pixel}")
            paths.append(result.path)
            eqe = (summary or {}).get("max_eqe_percent")
            progress(f"  J-V-L {preset:10s} pixel {pixel}: {result.status}, {result.rows} points"
                     + (f", EQE max {eqe:.2f} %" if eqe is not None else ""))
    return paths
