"""Test helper: one quick, analysed run of every built-in kind on the simulated bench
(J-V-L, lifetime, DLCP, C-V, SCLC, PL stability) — for the catalogue and schema-fit tests."""
from __future__ import annotations

from pathlib import Path

#: kind label → (procedure "module:Class", parameter values, simulator overrides).
QUICK = {
    "jvl": ("procedures.jvl:JVLProcedure",
            {"station": "sim", "start_voltage_V": 2.0, "stop_voltage_V": 4.0,
             "step_voltage_V": 0.2, "dwell_s": 0.0, "nplc": 0.1, "directions": "forward",
             "light_route": "photodiode", "spectrum_every": 0},
            {"time_scale": 500.0, "noise": False}),
    "lifetime": ("procedures.lifetime:LifetimeProcedure",
                 {"station": "sim:pristine", "l0_cd_m2": 1000.0, "log_interval_s": 2.0,
                  "max_hours": 0.05},
                 {"time_scale": 1500.0, "noise": False}),
    "dlcp": ("procedures.dlcp:DLCPProcedure",
             {"station": "sim", "eps_r": 25.0, "frequencies_Hz": "1000,10000"},
             {"time_scale": 1e4}),
    "cv": ("procedures.cv:CVProcedure", {"station": "sim", "eps_r": 25.0},
           {"time_scale": 1e4}),
    "sclc": ("procedures.sclc:SCLCProcedure",
             {"station": "sim:electron_only", "thickness_nm": 50.0, "eps_r": 25.0,
              "area_cm2": 0.01, "dwell_s": 0.05, "points_per_decade": 6,
              "max_voltage_V": 8.0},
             {"time_scale": 500.0, "noise": False}),
    "pl-stability": ("procedures.pl_stability:PLStabilityProcedure",
                     {"station": "sim:pl_pristine", "interval_s": 300.0,
                      "duration_s": 6000.0},
                     {"time_scale": 3600.0, "noise": False}),
}


def quick_run(label: str, out_dir: Path, **values) -> Path:
    """Run the quick ``label`` run into ``out_dir`` and analyse it; returns its path."""
    import importlib

    from acquisition.runner import run_procedure
    from procedures.base import build_procedure
    from qled.actions import analyze_file

    target, base, overrides = QUICK[label]
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    proc = build_procedure(cls, {**base, **values})
    proc.sim_overrides = dict(overrides)
    result = run_procedure(proc, out_dir, flush_interval_s=0.2, handle_signals=False)
    assert result.status == "finished", (label, result.message)
    analyze_file(result.path)
    return result.path
