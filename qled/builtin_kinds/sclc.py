"""The SCLC kind: single-carrier J-V sweeps → trap-filled-limit voltage, trap density, mobility."""
from __future__ import annotations

import math
from pathlib import Path

from procedures.sclc import SCLCProcedure

from qled.gui.presets import PRESETS
from qled.kinds import Kind

__all__ = ["KIND"]


# The report modules import matplotlib and colour: loaded when a run is analysed or reported,
# not for `qled --help`.
def analyze(run) -> dict:
    from reports.sclc import analyze_run

    return analyze_run(run)


def report(run, out_dir, **options):
    from reports.sclc import write_run_report

    return write_run_report(run, out_dir, **options)

#: (station preset, device type, thickness nm, ε_r, max |V|): the seed paper's pairs.
DEMO_DEVICES = (
    ("electron_only_pristine", "electron-only", 50.0, 25.0, 12.0),
    ("electron_only", "electron-only", 50.0, 25.0, 6.0),
    ("hole_only_pristine", "hole-only", 35.0, 25.0, 18.0),
    ("hole_only", "hole-only", 35.0, 25.0, 9.0),
)


def demo(out_dir: Path, *, progress=print) -> list[Path]:
    """Electron-only and hole-only devices, pristine and passivated: DC up+down sweeps.

    Noise on (seeded), ``time_scale`` 200 (a 0.1 s dwell takes 0.5 ms of wall time: the
    device has no time-dependent physics, so the sweep is the same at any scale); area
    0.01 cm² keeps the Mott-Gurney region (≈ 4–6 × V_TFL) under the 2400's 1 A range.
    """
    from acquisition.runner import run_procedure
    from procedures.base import build_procedure
    from qled.actions import analyze_file

    out_dir = Path(out_dir)
    paths = []
    for preset, dtype, thickness, eps, vmax in DEMO_DEVICES:
        proc = build_procedure(SCLCProcedure, {
            "station": f"sim:{preset}", "sample": f"sclc-{preset}", "device_type": dtype,
            "thickness_nm": thickness, "eps_r": eps, "area_cm2": 0.01, "max_voltage_V": vmax,
            "points_per_decade": 20, "dwell_s": 0.1, "nplc": 1.0, "compliance_mA": 1000.0,
            "sweep": "up+down"})
        proc.sim_overrides = {"time_scale": 200.0, "noise": True}
        result = run_procedure(proc, out_dir, handle_signals=False)
        if result.path is None:
            progress(f"sclc {preset}: {result.status} {result.message}")
            continue
        analysis = analyze_file(result.path) or {}
        up = analysis.get("up", {})
        progress(f"sclc {preset:24s} n_t = {up.get('trap_density_cm3', math.nan):.3g} cm⁻³, "
                 f"μ = {up.get('mobility_cm2_Vs', math.nan):.3g} cm²/(V·s)")
        paths.append(Path(result.path))
    return paths


KIND = Kind(
    name="sclc", procedure=SCLCProcedure, analyze=analyze, report=report,
    gui_preset=PRESETS["sclc"], demo=demo,
    headlines=(("up.v_tfl_V", "V_TFL V", ".3g"), ("up.trap_density_cm3", "n_t cm-3", ".3g"),
               ("up.mobility_cm2_Vs", "mu cm2/(V s)", ".3g")))
