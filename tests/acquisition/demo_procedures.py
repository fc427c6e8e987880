"""A small Procedure following the runner protocol, for runner tests (importable by path)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter, Parameter, Procedure

WAVELENGTHS_NM = np.linspace(450.0, 650.0, 41)
CALLS: list[str] = []  # startup/execute/shutdown order, for in-process tests


class RampProcedure(Procedure):
    """Ramps a voltage and "measures" I = slope·V; every 5th point has a spectrum."""

    n_points = IntegerParameter("Points", default=20)
    slope_A_V = FloatParameter("Slope", units="A/V", default=1e-3)
    dwell_s = FloatParameter("Dwell", units="s", default=0.0)
    fail_at = IntegerParameter("Fail at point", default=-1)
    resume_points = IntegerParameter("Points after resume", default=10)
    marker = Parameter("Shutdown marker file", default="")

    DATA_COLUMNS = ["time_s", "voltage_V", "current_A"]

    def startup(self):
        CALLS.append("startup")
        self.start_index = getattr(self, "start_index", 0)
        self.end_index = getattr(self, "end_index", self.n_points)
        self.emit("event", {"level": "info", "message": "startup done"})

    def run_metadata(self):
        return {"sample": "demo QD#1", "pixel": "A2", "operator": "tester", "simulated": True,
                "station": {"smu": "sim"}, "instruments": {"smu": "SIM,2400,0,1"},
                "truth": {"slope_A_V": self.slope_A_V}, "spectrum_axis_nm": WAVELENGTHS_NM}

    def execute(self):
        CALLS.append("execute")
        for i in range(self.start_index, self.end_index):
            if self.should_stop():
                break
            if i == self.fail_at:
                raise RuntimeError(f"instrument fault at point {i}")
            v = 0.01 * i
            row = {"time_s": 0.1 * i, "voltage_V": v, "current_A": self.slope_A_V * v}
            if i % 5 == 0:
                row["spectrum"] = np.exp(-((WAVELENGTHS_NM - 520.0) / 20.0) ** 2) * v
            self.emit("results", row)
            self.emit("progress", 100.0 * (i + 1) / self.end_index)
            if self.dwell_s:
                time.sleep(self.dwell_s)

    def shutdown(self):
        CALLS.append("shutdown")
        if self.marker:
            Path(self.marker).write_text("shutdown ran")

    def resume_from(self, run):
        self.start_index = len(run.data)
        self.end_index = self.start_index + self.resume_points
        return True


if __name__ == "__main__":  # python demo_procedures.py OUT MARKER N DWELL: run, print path
    import sys

    from acquisition.runner import run_procedure
    from demo_procedures import RampProcedure  # stored by import path, not as __main__
    out, marker, n, dwell = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    proc = RampProcedure(n_points=n, dwell_s=dwell, marker=marker)
    result = run_procedure(proc, out, flush_interval_s=0.05,
                           on_emit=lambda t, r: t == "results" and r["voltage_V"] == 0.0
                           and print("STARTED", flush=True))
    print(f"RESULT {result.status} {result.path}", flush=True)
