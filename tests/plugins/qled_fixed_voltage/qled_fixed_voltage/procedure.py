"""The procedure: hold a pixel at a fixed voltage, log J and the photodiode luminance."""
from __future__ import annotations

from pymeasure.experiment import FloatParameter

from procedures.base import LIMITS, SAMPLE, STRESS, QledProcedure
from procedures.jvl import PhotodiodeRoute


class FixedVoltageProcedure(PhotodiodeRoute, QledProcedure):
    """Luminance at a fixed voltage vs time (photodiode route)."""

    area_cm2 = FloatParameter("Pixel area", units="cm^2", minimum=1e-4, maximum=10.0,
                              default=0.04)
    voltage_V = FloatParameter("Held voltage", units="V", minimum=0.0, maximum=20.0,
                               default=3.0)
    duration_s = FloatParameter("Duration", units="s", minimum=0.1, maximum=1e6, default=60.0)
    interval_s = FloatParameter("Log interval", units="s", minimum=0.01, maximum=3600.0,
                                default=1.0)
    compliance_mA = FloatParameter("Current compliance", units="mA", minimum=1e-6,
                                   maximum=1050.0, default=100.0)

    light_route = "photodiode"
    REQUIRED_ROLES = ("smu", "photodiode")
    PARAMETER_GROUPS = {**QledProcedure.PARAMETER_GROUPS, "area_cm2": SAMPLE,
                        "voltage_V": STRESS, "duration_s": STRESS, "interval_s": STRESS,
                        "compliance_mA": LIMITS}
    DATA_COLUMNS = ["time_s", "voltage_V", "current_A", "current_density_mA_cm2",
                    "luminance_cd_m2"]

    def validate(self):
        self.require(self.interval_s <= self.duration_s,
                     f"interval_s = {self.interval_s:g} is out of range: allowed ≤ duration_s "
                     f"= {self.duration_s:g} s")

    def startup(self):
        super().startup()
        self.smu = self.instruments.smu
        self.photodiode = self.instruments.photodiode
        self.reference = self._photodiode_reference()

    def execute(self):
        smu = self.smu
        smu.configure_voltage_source(self.compliance_mA * 1e-3)
        smu.set_voltage(self.voltage_V)
        smu.output_on()
        t0 = self.clock.time()
        n = 0
        while not self.should_stop():
            t = self.clock.time() - t0
            if t > self.duration_s:
                break
            reading = smu.source_voltage_and_measure(self.voltage_V)
            luminance, _ = self._photodiode_reading(self.photodiode)
            self.emit("results", {
                "time_s": t, "voltage_V": reading.voltage_V, "current_A": reading.current_A,
                "current_density_mA_cm2": reading.current_A * 1e3 / self.area_cm2,
                "luminance_cd_m2": luminance})
            self.emit("progress", min(100.0, 100.0 * t / self.duration_s))
            n += 1
            self.clock.sleep(max(0.0, t0 + n * self.interval_s - self.clock.time()))
        smu.output_off()

    def outputs_off(self):
        smu = getattr(self, "smu", None)
        if smu is not None:
            smu.output_off()
