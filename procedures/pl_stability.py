"""PL stability: spectra and integrated PL of a film under constant excitation, over time.

The excitation (UV lamp or laser) is outside our control: its wavelength, power density,
the atmosphere, relative humidity and temperature are parameters recorded with the data.
The spectroradiometer logs a spectrum every ``interval_s``; the run stops after
``duration_s`` or when the integrated PL falls to ``stop_fraction`` of its first value.

Time axis: ``time_s`` is counted from the start of the first measurement — the protocol is
to open the excitation shutter and start logging together (the simulated film starts its
exposure at the first look, see ``simulators.pl_film``). Each row's time is the start of its
measurement (the CS-2000 integrates for ~1 s at these levels).

Simulated stations: ``sim:pl_pristine`` and ``sim:pl_passivated`` (``sim`` = passivated)
put a :class:`simulators.pl_film.PLFilm` under the simulated CS-2000.
"""
from __future__ import annotations

import math

import numpy as np
from pymeasure.experiment import FloatParameter, ListParameter

from .base import LIMITS, MEASUREMENT, SAMPLE
from .base import QledProcedure

__all__ = ["PLStabilityProcedure", "SIM_FILMS"]

ATMOSPHERES = ("ambient air", "dry air", "nitrogen", "argon", "vacuum", "oxygen")
SIM_FILMS = ("pl_passivated", "pl_pristine")


class PLStabilityProcedure(QledProcedure):
    """PL of a film under continuous excitation: spectra and integrated PL over time."""

    excitation_wavelength_nm = FloatParameter("Excitation wavelength", units="nm",
                                              minimum=200.0, maximum=1100.0, default=365.0)
    excitation_power_density_mW_cm2 = FloatParameter(
        "Excitation power density", units="mW/cm^2", minimum=0.0, maximum=1e6, default=1.0)
    atmosphere = ListParameter("Atmosphere", choices=ATMOSPHERES, default="ambient air")
    relative_humidity_percent = FloatParameter("Relative humidity", units="%", minimum=0.0,
                                               maximum=100.0, default=40.0)
    temperature_K = FloatParameter("Sample temperature", units="K", minimum=1.0,
                                   maximum=600.0, default=295.0)
    interval_s = FloatParameter("Interval between spectra", units="s", minimum=1.0,
                                maximum=86400.0, default=60.0)
    duration_s = FloatParameter("Stop after", units="s", minimum=1.0, maximum=1e7,
                                default=14400.0)
    stop_fraction = FloatParameter("Stop at fraction of the initial PL (0 = never)",
                                   minimum=0.0, maximum=0.99, default=0.0)

    PARAMETER_GROUPS = {
        **QledProcedure.PARAMETER_GROUPS, "excitation_wavelength_nm": SAMPLE,
        "excitation_power_density_mW_cm2": SAMPLE, "atmosphere": SAMPLE,
        "relative_humidity_percent": SAMPLE, "temperature_K": SAMPLE,
        "interval_s": MEASUREMENT, "duration_s": LIMITS, "stop_fraction": LIMITS}
    RECONNECT_POLICY = "unattended"
    DATA_COLUMNS = ["time_s", "integrated_radiance_W_sr_m2", "relative_intensity_ratio",
                    "luminance_cd_m2", "cie_x", "cie_y"]
    PROCEDURE_VERSION = "1"

    def required_roles(self):
        return ("light_meter",)

    def validate(self):
        self.require(self.interval_s <= self.duration_s,
                     f"interval_s = {self.interval_s:g} is out of range: allowed 1 … "
                     f"{self.duration_s:g} s (duration_s)")
        n = self.duration_s / self.interval_s
        self.require(n <= 1e6, f"the log has {n:.0f} spectra: allowed at most 1e6 (raise "
                     "interval_s)")

    SIM_DEVICES = SIM_FILMS

    def simulated_bench_options(self, spec: str) -> dict:
        """One PL film (``sim:pl_pristine`` / ``sim:pl_passivated``)."""
        preset = spec.partition(":")[2] or "pl_passivated"
        if preset not in SIM_FILMS:
            raise ValueError(f"station = {spec!r} is not allowed: use a TOML path or "
                             f"sim:<{'|'.join(SIM_FILMS)}>")
        film = {"model": "pl_film", "preset": preset.removeprefix("pl_"), "changes": {}}
        options = {"devices": [film], "seed": int(self.pixel)}
        options.update(self.sim_overrides)
        return options

    def run_metadata(self):
        from .jvl import _light_meter_axis, _light_meter_optics

        meta = super().run_metadata()
        meta["spectrum_axis_nm"] = _light_meter_axis(self.instruments.light_meter)
        meta["spectrum_units"] = "W/(sr m^2 nm)"
        station = dict(meta.get("station") or {})
        optics = _light_meter_optics(self, self.instruments.light_meter, None)  # a film: no pixel
        if optics is not None:
            station["light_meter_optics"] = optics
        station["excitation"] = {
            "wavelength_nm": self.excitation_wavelength_nm,
            "power_density_mW_cm2": self.excitation_power_density_mW_cm2,
            "atmosphere": self.atmosphere,
            "relative_humidity_percent": self.relative_humidity_percent,
            "temperature_K": self.temperature_K, "controlled_by_procedure": False,
            "time_origin": "start of the first measurement (shutter opened with logging)"}
        meta["station"] = station
        return meta

    def outputs_off(self) -> None:
        """Nothing to switch off: the excitation is not ours."""

    def execute(self):
        meter = self.instruments.light_meter
        if hasattr(meter, "read_spectrum"):
            meter.read_spectrum = True
        self.log_event("info", f"logging PL under {self.excitation_wavelength_nm:g} nm, "
                       f"{self.excitation_power_density_mW_cm2:g} mW/cm², {self.atmosphere}, "
                       f"RH {self.relative_humidity_percent:g} %, every {self.interval_s:g} s")
        t_first = None
        first = None
        k = 0
        while not self.should_stop():
            start = self.clock.time()
            if t_first is None:
                t_first = start
            reading = meter.measure()
            wl = np.asarray(reading.wavelength_nm, float)
            spectrum = np.asarray(reading.spectral_radiance_W_sr_m2_nm, float)
            total = float(np.trapezoid(spectrum, wl)) if spectrum.size > 1 else math.nan
            if first is None and math.isfinite(total):
                first = total        # a reading the meter flagged (NaN) is no reference
            ratio = total / first if first and first > 0 else math.nan
            t = start - t_first
            row = {"time_s": t, "integrated_radiance_W_sr_m2": total,
                   "relative_intensity_ratio": ratio, "luminance_cd_m2": reading.luminance_cd_m2,
                   "cie_x": reading.x, "cie_y": reading.y}
            if spectrum.size:
                row["spectrum"] = spectrum
            self.emit("results", row)
            self.emit("progress", min(100.0, 100.0 * t / self.duration_s))
            if self.stop_fraction > 0 and ratio <= self.stop_fraction:
                self.log_event("info", f"integrated PL at {100 * ratio:.1f} % of the initial "
                               f"value ≤ {100 * self.stop_fraction:g} % after {t:.0f} s: stop")
                return
            k += 1
            due = t_first + k * self.interval_s
            if due - t_first > self.duration_s:
                self.log_event("info", f"duration {self.duration_s:g} s reached: stop")
                return
            now = self.clock.time()
            if due > now:
                self.wait(due - now)
            elif now - due > self.interval_s:
                # measurement longer than the interval: keep the schedule, skip slots
                k = int((now - t_first) // self.interval_s) + 1
                self.wait(t_first + k * self.interval_s - now)


#: (station, interval s, duration s, stop fraction, time scale)
