"""``qled demo``: a full simulated session, as a lab would run it on a new batch.

Every procedure module that defines ``demo_runs(out_dir, progress=...)`` contributes its
measurements (pristine and passivated devices on the simulated bench); then every run is
analysed into its ``/analysis`` group, the reports are written and a summary is printed.
"""
from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

#: Modules whose ``demo_runs`` make up the session, in the order a lab would measure.
DEMO_MODULES = ("procedures.jvl", "procedures.lifetime", "procedures.dlcp", "procedures.cv",
                "procedures.sclc", "procedures.pl_stability")


def _say(text: str) -> None:
    print(text, flush=True)


def run_demo(out: Path, *, pixels: int = 3) -> int:
    from acquisition.store import load_run
    from analysis.commands import write_index_report
    from analysis.dispatch import run_kind

    if pixels < 1 or pixels > 16:
        raise ValueError(f"--pixels = {pixels} is out of range: allowed 1 … 16")
    if out.exists() and any(out.glob("*.h5")):
        raise FileExistsError(f"--out {out} already holds run files: choose a new folder "
                              "(runs are never overwritten)")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    _say(f"qled demo: simulated session → {out.resolve()}")
    paths: list[Path] = []
    for name in DEMO_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        demo = getattr(module, "demo_runs", None)
        if demo is None:
            continue
        t = time.perf_counter()
        kwargs = {"pixels": pixels} if name == "procedures.jvl" else {}
        new = [Path(p) for p in demo(out, progress=_say, **kwargs) if p is not None]
        paths += new
        _say(f"{name.split('.')[-1]}: {len(new)} runs in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    index = write_index_report(paths, out / "report")
    _say(f"reports written in {time.perf_counter() - t:.1f} s")
    _print_summary([load_run(p) for p in paths], run_kind)
    _say(f"\n{len(paths)} run files in {out.resolve()}")
    _say(f"report: {index.resolve()}")
    jvl_page = out / "report" / "jvl" / "batch_report.html"
    if jvl_page.exists():
        _say(f"J-V-L batch page: {jvl_page.resolve()}")
    _say(f"demo finished in {time.perf_counter() - t0:.1f} s")
    return 0


def _print_summary(runs, run_kind) -> None:
    """One line per run with its headline figures (from its /analysis group)."""
    headline = {
        "jvl": [("max_eqe_percent", "EQE_max %", ".2f"), ("max_current_efficiency_cd_A",
                 "CE_max cd/A", ".1f"), ("turn_on_voltage_V", "V_on V", ".2f"),
                ("max_luminance_cd_m2", "L_max cd/m2", ".0f"), ("el_peak_nm", "EL nm", ".1f")],
        "lifetime": [("l0_cd_m2", "L0 cd/m2", ".0f"), ("t50_h", "T50 h", ".3g"),
                     ("t50_extrapolated", "extrap.", "")],
        "sclc": [("trap_density_cm3", "n_t cm-3", ".3g"), ("mobility_cm2_Vs", "mu cm2/Vs",
                                                             ".3g")],
    }
    _say("\nsummary")
    for run in runs:
        kind = run_kind(run)
        result = (run.analysis or {}).get(kind) or {}
        label = f"{kind:11s} {run.attrs.get('sample', ''):12s} px {run.attrs.get('pixel', ''):3s}"
        fields = []
        for key, title, spec in headline.get(kind, []):
            value = result.get(key)
            if value is None:
                continue
            fields.append(f"{title} {format(value, spec) if spec else value}")
        if not fields:
            fields = [f"{k} {v:.4g}" for k, v in list(result.items())[:4]
                      if isinstance(v, (int, float)) and not isinstance(v, bool)]
        _say(f"  {label} " + "  ".join(fields))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_demo(Path("qled-demo")))
