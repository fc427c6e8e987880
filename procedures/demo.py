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
    _analyse_missing(paths, run_kind)
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


def _analyse_missing(paths, run_kind) -> None:
    """Record the analysis in every run file whose procedure's demo did not already."""
    from acquisition.store import load_run

    from .commands import analyze_file

    for path in paths:
        run = load_run(path)
        if len(run.data) and run_kind(run) not in (run.analysis or {}):
            analyze_file(path)


def _lookup(result: dict, key: str):
    """``result[key]`` where ``key`` may index into nested results: ``up.v_tfl_V``,
    ``n_dl_cm3.0`` (first item), ``per_frequency.-1.median_n_cv_reverse_cm3``."""
    value = result
    for part in key.split("."):
        try:
            value = value[int(part)] if isinstance(value, list) else value.get(part)
        except (ValueError, IndexError, AttributeError):
            return None
        if value is None:
            return None
    return value


#: Headline figures per run kind for the closing summary: (key in /analysis, title, format).
HEADLINES = {
    "jvl": [("max_eqe_percent", "EQE_max %", ".2f"),
            ("max_current_efficiency_cd_A", "CE_max cd/A", ".1f"),
            ("turn_on_voltage_V", "V_on V", ".2f"),
            ("max_luminance_cd_m2", "L_max cd/m2", ".0f"), ("el_peak_nm", "EL nm", ".1f")],
    "lifetime": [("l0_cd_m2", "L0 cd/m2", ".0f"), ("t50_h", "T50 h", ".3g"),
                 ("t50_extrapolated", "extrap.", "")],
    "dlcp": [("n_dl_cm3.0", "N_DL lowest f cm-3", ".3g"),
             ("n_dl_cm3.-1", "N_DL highest f cm-3", ".3g"),
             ("trap_cutoff_frequency_Hz", "trap cutoff Hz", ".0f")],
    "cv": [("per_frequency.0.median_n_cv_reverse_cm3", "N_CV median (reverse) cm-3", ".3g")],
    "sclc": [("up.v_tfl_V", "V_TFL V", ".3g"), ("up.trap_density_cm3", "n_t cm-3", ".3g"),
             ("up.mobility_cm2_Vs", "mu cm2/(V s)", ".3g")],
    "plstability": [("t80_s", "T80 s", ".4g"), ("t50_s", "T50 s", ".4g"),
                    ("peak_shift_nm", "peak shift nm", ".2f")],
}


def _print_summary(runs, run_kind) -> None:
    """One line per run with its headline figures (from its /analysis group)."""
    _say("\nsummary")
    for run in runs:
        kind = run_kind(run)
        result = (run.analysis or {}).get(kind) or {}
        label = f"{kind:11s} {run.attrs.get('sample', ''):12s} px {run.attrs.get('pixel', ''):3s}"
        fields = []
        for key, title, spec in HEADLINES.get(kind, []):
            value = _lookup(result, key)
            if value is None:
                continue
            fields.append(f"{title} {format(value, spec) if spec else value}")
        if not result:
            fields = ["no analysis (see the report index)"]
        _say(f"  {label} " + "  ".join(fields))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_demo(Path("qled-demo")))
