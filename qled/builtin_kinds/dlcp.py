"""The DLCP and C-V kinds: drive-level capacitance profiling and Mott-Schottky C-V."""
from __future__ import annotations

from procedures.cv import CVProcedure
from procedures.dlcp import DLCPProcedure

from qled.gui.presets import PRESETS
from qled.kinds import Kind

__all__ = ["KIND", "CV_KIND"]


# reports.dlcp imports matplotlib: loaded when a run is analysed or reported, not for --help.
def analyze_dlcp(run) -> dict:
    from reports.dlcp import analyze_dlcp_run

    return analyze_dlcp_run(run)


def report_dlcp(run, out_dir, **options):
    from reports.dlcp import write_dlcp_report

    return write_dlcp_report(run, out_dir, **options)


def analyze_cv(run) -> dict:
    from reports.dlcp import analyze_cv_run

    return analyze_cv_run(run)


def report_cv(run, out_dir, **options):
    from reports.dlcp import write_cv_report

    return write_cv_report(run, out_dir, **options)


def demo(out_dir, *, progress=print):
    """DLCP and C-V on a pristine and a passivated simulated device (noise on, seeded).

    100 Hz, 1 kHz, 10 kHz, 100 kHz (spanning the ≈3 kHz trap cutoff), V_max = −1, −0.5, 0 V,
    ten levels 0.02–0.2 V rms; then a C-V sweep −2 … 0.5 V at 100 kHz and 20 mV rms.
    The bench runs at ``time_scale = 1000`` (junction capacitance has no slow dynamics in the
    model, so only the meter's aperture time is compressed).
    """
    from pathlib import Path

    from acquisition.runner import run_procedure

    from procedures.base import build_procedure
    from procedures.cv import CVProcedure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for preset in ("pristine", "passivated"):
        for cls, values in (
                (DLCPProcedure, {"station": f"sim:{preset}", "sample": preset, "eps_r": 25.0,
                                 "settle_s": 0.05}),
                (CVProcedure, {"station": f"sim:{preset}", "sample": preset, "eps_r": 25.0,
                               "settle_s": 0.05})):
            proc = build_procedure(cls, values)
            proc.sim_overrides = {"time_scale": 1000.0}
            result = run_procedure(proc, out)
            progress(f"{cls.__name__.replace('Procedure', '')} {preset}: {result.status} "
                     f"({result.rows} rows) → {result.path}")
            if result.path is not None:
                paths.append(Path(result.path))
    return paths


KIND = Kind(
    name="dlcp", procedure=DLCPProcedure, analyze=analyze_dlcp, report=report_dlcp,
    gui_preset=PRESETS["dlcp"], demo=demo,
    metrics=("n_dl_cm3.0", "n_dl_cm3.-1", "trap_cutoff_frequency_Hz"),
    headlines=(("n_dl_cm3.0", "N_DL lowest f cm-3", ".3g"),
               ("n_dl_cm3.-1", "N_DL highest f cm-3", ".3g"),
               ("trap_cutoff_frequency_Hz", "trap cutoff Hz", ".0f")))

#: C-V runs: their demo runs come with the DLCP kind's (same devices, same session).
CV_KIND = Kind(
    name="cv", procedure=CVProcedure, analyze=analyze_cv, report=report_cv,
    gui_preset=PRESETS["cv"],
    headlines=(("per_frequency.0.median_n_cv_reverse_cm3", "N_CV median (reverse) cm-3",
                ".3g"),))
