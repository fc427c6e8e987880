"""Drive-level capacitance profiling (DLCP): amplitude sweeps at fixed maximum excursion.

For each test frequency and each maximum forward excursion V_max, the oscillator level is
stepped through a list while the DC bias follows V_DC = V_max − δV_pp/2 (δV_pp = 2√2·V_rms),
so the charge probed sits at a fixed depth while δV grows (Heath, Cohen & Shafarman,
J. Appl. Phys. 95, 1000 (2004), doi:10.1063/1.1633982). The fit C(δV) = C0 + C1·δV + C2·δV²
then gives N_DL = −C0³/(2qεA²C1) at ⟨x⟩ = εA/C0 (``analysis.dlcp``); the test frequency
selects which traps respond.

The LCR meter sets its level in **V rms**: the record stores ``level_Vrms``, the derived
``delta_v_pp_V`` and the parameter ``amplitude_convention = "rms"``, so no analysis has to
guess (rms taken for peak-to-peak makes N_DL 2.83× too low).

DC bias comes from the meter when it has the range (E4980A/4284A option 001: ±40 V) or from
the station's SMU through a bias tee (``[lcr] bias_source = "smu"``); the station decides.
The bias is switched off at the end and on every exit path.
"""
from __future__ import annotations


from pymeasure.experiment import (Parameter)

from .lcr_base import FREQUENCY_RANGE_HZ, LEVEL_RANGE_VRMS, SQRT8, LCRProcedure, parse_list

__all__ = ["DLCPProcedure"]


class DLCPProcedure(LCRProcedure):
    """DLCP: C vs oscillator level at fixed V_DC + δV_pp/2 = V_max, per frequency and V_max."""

    frequencies_Hz = Parameter("Test frequencies, comma-separated (20 Hz … 2 MHz)",
                               default="100,1000,10000,100000")
    v_max_V = Parameter("Maximum forward excursions V_max, comma-separated (−40 … 40 V)",
                        default="-1,-0.5,0")
    levels_Vrms = Parameter("Oscillator levels, comma-separated (V rms; 0 < level ≤ 2, or 20 "
                            "with option 001)",
                            default="0.02,0.04,0.06,0.08,0.1,0.12,0.14,0.16,0.18,0.2")

    DATA_COLUMNS = ["time_s", "frequency_Hz", "v_max_V", "bias_V", "level_Vrms",
                    "delta_v_pp_V", "capacitance_F", "capacitance_std_F", "conductance_S",
                    "dissipation", "lcr_status"]
    COLUMN_UNITS = {"level_Vrms": "V rms", "delta_v_pp_V": "V (peak-to-peak, 2*sqrt(2)*V rms)",
                    "dissipation": "1 (D = G/(2*pi*f*Cp))",
                    "lcr_status": LCRProcedure.STATUS_UNITS}

    def validate(self):
        super().validate()
        self._frequencies = parse_list("frequencies_Hz", self.frequencies_Hz,
                                       *FREQUENCY_RANGE_HZ, "Hz")
        self._v_max = parse_list("v_max_V", self.v_max_V, -40.0, 40.0, "V")
        self._levels = sorted(parse_list("levels_Vrms", self.levels_Vrms, *LEVEL_RANGE_VRMS,
                                         "V rms", min_len=3, exclusive_lo=True))
        for vm in self._v_max:
            lowest = vm - SQRT8 * self._levels[-1] / 2.0
            self.require(lowest >= -40.0, f"v_max_V = {vm:g} with level {self._levels[-1]:g} "
                         f"V rms needs a DC bias of {lowest:g} V: allowed ≥ −40 V")

    def planned_frequencies_Hz(self):
        return self._frequencies

    def planned_levels_Vrms(self):
        return self._levels

    def planned_biases_V(self):
        return [vm - SQRT8 * lv / 2.0 for vm in self._v_max for lv in self._levels]

    def execute(self):
        try:
            self._sweep()
        finally:
            self.note_flagged_points()

    def _sweep(self):
        lcr = self.lcr
        self.apply_correction()
        n_total = len(self._frequencies) * len(self._v_max) * len(self._levels)
        done = 0
        self.log_event("info", f"DLCP: {len(self._frequencies)} frequencies × "
                       f"{len(self._v_max)} V_max × {len(self._levels)} levels, bias from "
                       f"{lcr.bias_source} source")
        level_now = self._levels[0]
        lcr.configure(function=self.function, frequency_Hz=self._frequencies[0],
                      level_Vrms=level_now, aperture=self.aperture, averages=self.averages,
                      alc=bool(self.alc))
        for f in self._frequencies:
            for vm in self._v_max:
                for lv in self._levels:
                    if self.should_stop():
                        self.log_event("warning", "abort requested: stopping the DLCP sweep")
                        return
                    bias = vm - SQRT8 * lv / 2.0
                    # Never let V_DC + δV_pp/2 pass V_max in between: a growing level
                    # follows the bias down, a shrinking one leads it.
                    if lv >= level_now:
                        lcr.set_bias(bias)
                        self._set_level(f, lv)
                    else:
                        self._set_level(f, lv)
                        lcr.set_bias(bias)
                    level_now = lv
                    point = self.measure_point(f)
                    self.emit("results", {
                        "time_s": self.elapsed_s(), "frequency_Hz": f, "v_max_V": vm,
                        "bias_V": bias, "level_Vrms": lv, "delta_v_pp_V": SQRT8 * lv, **point})
                    done += 1
                    self.emit("progress", 100.0 * done / n_total)
        self.end_bias()

    def _set_level(self, frequency_Hz, level_Vrms):
        lcr = self.lcr
        if lcr.frequency_Hz != frequency_Hz:
            lcr.configure(function=self.function, frequency_Hz=frequency_Hz,
                          level_Vrms=level_Vrms, aperture=self.aperture,
                          averages=self.averages, alc=bool(self.alc))
        elif lcr.level_Vrms != level_Vrms:
            lcr.set_level(level_Vrms)


# ------------------------------------------------------------------------------- demo
