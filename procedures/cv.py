"""C-V profiling: DC bias sweep at a fixed small oscillator level, one or more frequencies.

N_CV = C³/(qεA²·dC/dV) at x = εA/C (forward-positive bias; ``analysis.dlcp.cv_profile``).
The level should be small against the bias step so that C is the small-signal dQ/dV; it is
recorded in V rms (``amplitude_convention = "rms"``). Bias source, corrections, ε_r, area,
temperature and safe bias-off are shared with DLCP (:class:`procedures.dlcp.LCRProcedure`).
"""
from __future__ import annotations

from pymeasure.experiment import FloatParameter, ListParameter, Parameter

from .lcr_base import FREQUENCY_RANGE_HZ, LCRProcedure, parse_list
from .jvl import checked_sweep_V

__all__ = ["CVProcedure"]


class CVProcedure(LCRProcedure):
    """C-V: capacitance vs DC bias at fixed level and frequency (Mott-Schottky profiling)."""

    frequencies_Hz = Parameter("Test frequencies, comma-separated (20 Hz … 2 MHz)",
                               default="100000")
    level_Vrms = FloatParameter("Oscillator level", units="V rms", minimum=0.001, maximum=20.0,
                                default=0.02)
    start_bias_V = FloatParameter("Start bias", units="V", minimum=-40.0, maximum=40.0,
                                  default=-2.0)
    stop_bias_V = FloatParameter("Stop bias", units="V", minimum=-40.0, maximum=40.0,
                                 default=0.5)
    step_bias_V = FloatParameter("Bias step", units="V", minimum=0.001, maximum=10.0,
                                 default=0.05)
    directions = ListParameter("Sweep directions", choices=("forward", "forward+reverse"),
                               default="forward")

    DATA_COLUMNS = ["time_s", "frequency_Hz", "bias_V", "level_Vrms", "capacitance_F",
                    "capacitance_std_F", "conductance_S", "dissipation", "direction",
                    "lcr_status"]
    COLUMN_UNITS = {"level_Vrms": "V rms", "dissipation": "1 (D = G/(2*pi*f*Cp))",
                    "direction": "1 (+1 towards stop_bias_V, -1 back)",
                    "lcr_status": LCRProcedure.STATUS_UNITS}

    def validate(self):
        super().validate()
        self._frequencies = parse_list("frequencies_Hz", self.frequencies_Hz,
                                       *FREQUENCY_RANGE_HZ, "Hz")
        self._biases = checked_sweep_V(
            self.start_bias_V, self.stop_bias_V, self.step_bias_V, max_points=10_000,
            names=("start_bias_V", "stop_bias_V", "step_bias_V")).tolist()

    def planned_frequencies_Hz(self):
        return self._frequencies

    def planned_levels_Vrms(self):
        return [self.level_Vrms]

    def planned_biases_V(self):
        return self._biases

    def execute(self):
        try:
            self._sweep()
        finally:
            self.note_flagged_points()

    def _sweep(self):
        lcr = self.lcr
        self.apply_correction()
        legs = [(self._biases, 1.0)]
        if self.directions == "forward+reverse":
            legs.append((self._biases[::-1][1:], -1.0))
        n_total = len(self._frequencies) * sum(len(b) for b, _ in legs)
        done = 0
        self.log_event("info", f"C-V: {self._biases[0]:g} → {self._biases[-1]:g} V in "
                       f"{self.step_bias_V:g} V steps at {len(self._frequencies)} "
                       f"frequencies, {self.level_Vrms:g} V rms, bias from {lcr.bias_source}")
        for f in self._frequencies:
            lcr.configure(function=self.function, frequency_Hz=f, level_Vrms=self.level_Vrms,
                          aperture=self.aperture, averages=self.averages,
                          alc=bool(self.alc))
            for biases, direction in legs:
                for v in biases:
                    if self.should_stop():
                        self.log_event("warning", "abort requested: stopping the C-V sweep")
                        return
                    lcr.set_bias(v)
                    point = self.measure_point(f)
                    self.emit("results", {
                        "time_s": self.elapsed_s(), "frequency_Hz": f, "bias_V": v,
                        "level_Vrms": self.level_Vrms, **point, "direction": direction})
                    done += 1
                    self.emit("progress", 100.0 * done / n_total)
        self.end_bias()
