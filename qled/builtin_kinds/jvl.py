"""The J-V-L kind: voltage sweeps with luminance, colour and EL spectra per point."""
from __future__ import annotations

from procedures.jvl import JVLProcedure

from qled.gui.presets import PRESETS
from qled.kinds import Kind

__all__ = ["KIND"]


# The report modules import matplotlib and colour: loaded when a run is analysed or reported,
# not for `qled --help`.
def analyze(run) -> dict:
    from reports.jvl import analyze_jvl_run

    return analyze_jvl_run(run)


def report(run, out_dir, **options):
    from reports.jvl import write_run_report

    return write_run_report(run, out_dir, **options)


def demo(out_dir, *, progress=print, pixels: int = 3, time_scale: float = 300.0) -> list:
    """J-V-L sweeps of ``pixels`` pixels each of a pristine and a passivated device (simulated,
    noise on, seeded by pixel): the batch that ``qled demo`` compares. The clock runs
    ``time_scale`` × fast: the light meter's integration time dominates a point."""
    from pathlib import Path

    from qled.actions import run_one

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


def _metrics() -> tuple:
    """Every numeric figure of :class:`analysis.jvl.JVLSummary` (what a recipe ranks by)."""
    import dataclasses

    from analysis.jvl import JVLSummary

    return tuple(f.name for f in dataclasses.fields(JVLSummary) if f.type in ("float", "int"))


KIND = Kind(
    name="jvl", procedure=JVLProcedure, analyze=analyze, report=report,
    gui_preset=PRESETS["jvl"], demo=demo, metrics=_metrics(),
    headlines=(("max_eqe_percent", "EQE_max %", ".2f"),
               ("eqe_at_1000_cd_m2_percent", "EQE at 1000 cd/m2 %", ".2f"),
               ("max_current_efficiency_cd_A", "CE_max cd/A", ".1f"),
               ("turn_on_voltage_V", "V_on V", ".2f"),
               ("max_luminance_cd_m2", "L_max cd/m2", ".0f"), ("el_peak_nm", "EL nm", ".1f"),
               ("el_fwhm_nm", "EL FWHM nm", ".1f"), ("cie_x", "CIE x", ".4f"),
               ("cie_y", "CIE y", ".4f")))
