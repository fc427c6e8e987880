"""The PL-stability kind: spectra and integrated PL of a film under constant excitation."""
from __future__ import annotations

import math
from pathlib import Path

from procedures.pl_stability import PLStabilityProcedure

from qled.gui.presets import PRESETS
from qled.kinds import Kind

__all__ = ["KIND"]


# The report modules import matplotlib and colour: loaded when a run is analysed or reported,
# not for `qled --help`.
def analyze(run) -> dict:
    from reports.pl_stability import analyze_run

    return analyze_run(run)


def report(run, out_dir, **options):
    from reports.pl_stability import write_run_report

    return write_run_report(run, out_dir, **options)

DEMO_FILMS = (("pl_pristine", 300.0, 14400.0, 0.4, 3600.0),
              ("pl_passivated", 900.0, 28800.0, 0.0, 10800.0))


def demo(out_dir: Path, *, progress=print) -> list[Path]:
    """One PL-stability log per film (pristine, passivated), 365 nm, ambient air, RH 40 %.

    Noise on (seeded). ``time_scale`` 3600 (pristine, a spectrum every 5 min until 40 % of
    the initial PL) and 10800 (passivated, every 15 min for 8 h): one CS-2000 exchange of
    ~40 ms wall then spans ≤ 45 % of an interval on the film's clock.
    """
    from acquisition.runner import run_procedure
    from procedures.base import build_procedure
    from qled.actions import analyze_file

    out_dir = Path(out_dir)
    paths = []
    for film, interval, duration, stop, scale in DEMO_FILMS:
        proc = build_procedure(PLStabilityProcedure, {
            "station": f"sim:{film}", "sample": film.replace("_", "-"), "interval_s": interval,
            "duration_s": duration, "stop_fraction": stop})
        proc.sim_overrides = {"time_scale": scale, "noise": True}
        result = run_procedure(proc, out_dir, handle_signals=False)
        if result.path is None:
            progress(f"pl-stability {film}: {result.status} {result.message}")
            continue
        a = analyze_file(result.path) or {}
        progress(f"pl-stability {film:14s} T80 = {a.get('t80_s', math.nan) / 3600:.3g} h, "
                 f"T50 = {a.get('t50_s', math.nan) / 3600:.3g} h "
                 f"({result.rows} spectra)")
        paths.append(Path(result.path))
    return paths


KIND = Kind(
    name="pl-stability", procedure=PLStabilityProcedure, analyze=analyze,
    report=report, gui_preset=PRESETS.get("plstability"), demo=demo,
    headlines=(("t80_s", "T80 s", ".4g"), ("t50_s", "T50 s", ".4g"),
               ("peak_shift_nm", "peak shift nm", ".2f")))
