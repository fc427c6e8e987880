"""Lifetime runs: ``analyze_run(run) -> dict`` (``qled analyze``) and
``write_run_report(run, out_dir) -> Path`` (``qled report``), with figures.

A lifetime file holds one channel (one pixel). The report page of a run also shows the
acceleration law of its sample: every finished lifetime run of the same sample in the same
folder contributes its (L0, T50), n is fitted in log-log and T50 is extrapolated to
100 cd/m² with the fitted n (and its uncertainty). An acceleration exponent the operator
assumes (``qled report DIR --assumed-acceleration-n N``) is tested against the fitted one;
the page carries a warning when the data contradict it or cannot test it.
"""
from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from analysis import lifetime as lt
from reports.environment import plot_temperature, run_environment
from reports.dark_current import corrected_luminance, dark_paragraph, dark_summary
from reports.page import fmt, run_label, run_page, truth_row

__all__ = ["analyze_run", "write_run_report", "sample_acceleration", "plot_decay",
           "plot_voltage", "plot_acceleration", "check_assumed_n"]

HOUR_S = 3600.0
#: L0 to which the report extrapolates T50 (the display luminance reviewers ask about).
REPORT_L0_CD_M2 = 100.0
#: Largest assumed acceleration exponent accepted (OLED and PeLED values lie near 1–3).
MAX_ASSUMED_N = 10.0


def check_assumed_n(value) -> float | None:
    """An assumed acceleration exponent as a float (None stays None); one-line ValueError."""
    if value is None:
        return None
    try:
        n = float(value)
    except (TypeError, ValueError):
        n = math.nan
    if not (math.isfinite(n) and 0.0 < n <= MAX_ASSUMED_N):
        raise ValueError(f"assumed_acceleration_n = {value!r} is out of range: allowed "
                         f"0 < n ≤ {MAX_ASSUMED_N:g}")
    return n


def _arrays(run):
    d = run.data
    need = ("time_s", "luminance_cd_m2")
    missing = [c for c in need if c not in d.columns]
    if missing:
        raise ValueError(f"run has no lifetime data: columns {list(d.columns)} lack {missing}")
    t = d["time_s"].to_numpy(float)
    lum = corrected_luminance(run)        # photodiode dark current interpolated in time
    v = d["voltage_V"].to_numpy(float) if "voltage_V" in d.columns else None
    order = np.argsort(t, kind="stable")
    return t[order], lum[order], None if v is None else v[order]


_DISCONTINUITY = re.compile(r"^discontinuity at t = ([-+0-9.eE]+) s")


def discontinuity_s(run) -> float | None:
    """Stress time [s] of the first recorded discontinuity (a resume accepted with
    ``--accept-discontinuity``: the data after it are another stress history), or None."""
    ev = getattr(run, "events", None)
    if ev is None or not len(ev) or "message" not in ev:
        return None
    for msg in ev["message"].tolist():
        m = _DISCONTINUITY.match(str(msg))
        if m:
            return float(m.group(1))
    return None


def _stop_reason(run) -> str:
    ev = getattr(run, "events", None)
    if ev is None or not len(ev):
        return ""
    for msg in reversed(ev["message"].tolist()):
        if "stopped safely" in msg or ": done" in msg or "duration cap" in msg:
            return msg
    return ""


def _hours(x):
    return x / HOUR_S if isinstance(x, float) and math.isfinite(x) else None


def analyze_run(run) -> dict:
    """Lifetime figures of one stored run (JSON-able).

    Keys: ``l0_cd_m2`` (t = 0 reading), ``l0_max_cd_m2``, ``t95_h`` … ``t50_h`` (L0 = t = 0
    value), ``t<x>_extrapolated``, ``t<x>_stderr_h``, the same with L0 = maximum under
    ``max_l0``, ``tau_h``, ``beta`` with standard errors, ``voltage_rise_at_t95_V``,
    ``voltage_rise_at_t50_V``, ``duration_h``, ``stress_current_density_mA_cm2``,
    ``stop_reason`` and, for a simulated device, ``truth_t50_h`` (true T50 at the true L0 of
    the stress current).
    """
    t, lum, v = _arrays(run)
    cut = discontinuity_s(run)
    if cut is not None:                # T_x from one stress history: the segment before
        keep = t <= cut * (1 + 1e-8) + 1e-9   # the event prints 9 digits: keep the last row
        t, lum, v = t[keep], lum[keep], None if v is None else v[keep]
    s = lt.lifetime_summary(t, lum, v)
    ini, mx = s["initial"], s["max"]
    out = {"l0_cd_m2": ini["l0_cd_m2"], "l0_max_cd_m2": mx["l0_cd_m2"],
           "l0_max_time_h": mx["l0_time_s"] / HOUR_S,
           "duration_h": s["duration_s"] / HOUR_S, "n_points": s["n_points"],
           "final_relative": ini["final_relative"]}
    for x in ("95", "90", "80", "50"):
        out[f"t{x}_h"] = _hours(ini[f"t{x}_s"])
        out[f"t{x}_extrapolated"] = ini[f"t{x}_extrapolated"]
        out[f"t{x}_stderr_h"] = _hours(ini[f"t{x}_stderr_s"])
        out[f"t{x}_note"] = ini[f"t{x}_note"]
    out["max_l0"] = {f"t{x}_h": _hours(mx[f"t{x}_s"]) for x in ("95", "90", "80", "50")}
    out["max_l0"].update({f"t{x}_extrapolated": mx[f"t{x}_extrapolated"]
                          for x in ("95", "90", "80", "50")})
    fit = ini["fit"]
    if "tau_s" in fit:
        out.update(tau_h=fit["tau_s"] / HOUR_S, tau_stderr_h=fit["tau_stderr_s"] / HOUR_S,
                   beta=fit["beta"], beta_stderr=fit["beta_stderr"],
                   fit_rms_residual=fit["rms_residual"])
    else:
        out["fit_error"] = fit["error"]
    out["voltage_rise_at_t95_V"] = _num(s.get("voltage_rise_at_t95_V"))
    out["voltage_rise_at_t50_V"] = _num(s.get("voltage_rise_at_t50_V"))
    d = run.data
    if "current_density_mA_cm2" in d.columns and len(d):
        out["stress_current_density_mA_cm2"] = float(np.nanmedian(
            d["current_density_mA_cm2"].to_numpy(float)))
    out["stop_reason"] = _stop_reason(run)
    if cut is not None:
        out["discontinuity_at_h"] = cut / HOUR_S
        out["segment_note"] = (f"T_x and the fit use the data up to the discontinuity at "
                               f"t = {cut / HOUR_S:.4g} h (resume accepted on a pixel that did "
                               "not continue the stored run); later rows are not one stress "
                               "history with them")
    out.update(_truth(run))
    out["environment"] = run_environment(run)
    out.update(dark_summary(run))
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in out.items()}


def _num(x):
    return float(x) if x is not None and math.isfinite(float(x)) else None


def _truth(run) -> dict:
    """True L0 and T50 of a simulated pixel at the run's stress current.

    From ``/truth/lifetime_stress`` (written by ``procedures.lifetime`` from the simulated
    device: fresh L0, τ and T50 on a grid of stress currents, interpolated in log-log at the
    stored ``source_current_A``) and the search damage D0 the procedure logged at t = 0:
    L0 is then measured on exp(−D0^β), and exp(−(D0 + t/τ)^β) = ½·exp(−D0^β) gives
    T50 = τ·[(ln 2 + D0^β)^(1/β) − D0] (stretched exponential with Miner's-rule damage,
    Féry et al., APL 87, 213502 (2005)). Empty for a measured run.
    """
    table = (getattr(run, "truth", None) or {}).get("lifetime_stress")
    if not table or "source_current_A" not in run.data.columns:
        return {}
    stress = run.data["source_current_A"].dropna()
    grid = np.log(np.asarray(table["current_A"], float))
    if not len(stress) or not grid[0] <= math.log(float(stress.iloc[0])) <= grid[-1]:
        return {}
    log_i = math.log(float(stress.iloc[0]))

    def at(key):
        return math.exp(float(np.interp(log_i, grid, np.log(np.asarray(table[key], float)))))

    l0, t50_fresh = at("l0_fresh_cd_m2"), at("t50_fresh_s")
    out = {"truth_l0_cd_m2": l0, "truth_t50_h": t50_fresh / HOUR_S,
           "truth_acceleration_exponent": float(table["acceleration_exponent"])}
    found = run.events["message"].str.extract(r"equivalent age D0 = ([0-9.eE+-]+)")[0].dropna()
    if len(found) and not table["brightening_fraction"]:
        d0, beta = float(found.iloc[0]), float(table["stretch_exponent"])
        t50 = at("tau_s") * ((math.log(2.0) + d0 ** beta) ** (1.0 / beta) - d0)
        out.update(truth_t50_h=t50 / HOUR_S, truth_search_damage=d0,
                   truth_t50_fresh_h=t50_fresh / HOUR_S)
    return out


# ------------------------------------------------------------------ acceleration (sample)
def sample_acceleration(runs_with_results, *, assumed_n: float | None = None) -> dict | None:
    """Fit n over (L0, T50) of several runs of one sample; T50 at 100 cd/m².

    ``runs_with_results`` is a list of analysis dicts (``analyze_run`` output). Runs whose
    T50 is missing are left out. Returns None with fewer than 2 distinct L0 values.
    ``assumed_n`` (optional) is tested against the fitted n
    (:func:`analysis.lifetime.check_assumed_exponent`, 2σ): ``assumed_check`` holds the
    verdict and a contradiction (or an untestable n) is among ``warnings``.
    """
    assumed_n = check_assumed_n(assumed_n)
    pts = [(r["l0_cd_m2"], r["t50_h"], bool(r.get("t50_extrapolated")))
           for r in runs_with_results if r.get("t50_h") and r.get("l0_cd_m2")]
    if len({round(p[0], 6) for p in pts}) < 2:
        return None
    l0 = np.array([p[0] for p in pts])
    t50 = np.array([p[1] for p in pts])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", lt.LifetimeWarning)
        fit = lt.fit_acceleration_law(l0, t50)
        check = None
        if assumed_n is not None:
            check = lt.check_assumed_exponent(assumed_n, fit.n, fit.n_stderr)
    return {"fit": fit, "points": pts, "n": fit.n, "n_stderr": fit.n_stderr,
            "t50_at_100_cd_m2_h": float(fit.lifetime_at(REPORT_L0_CD_M2)),
            "t50_at_100_cd_m2_stderr_h": float(fit.lifetime_stderr_at(REPORT_L0_CD_M2)),
            "assumed_check": check, "warnings": [str(w.message) for w in caught]}


# ------------------------------------------------------------------ figures
def plot_decay(time_s, luminance_cd_m2, title: str | None = None) -> Figure:
    """L/L0 (t = 0 convention) vs stress time on a log axis, the fit and the T_x levels."""
    t, rel, _ = lt.relative_luminance(time_s, luminance_cd_m2, "initial")
    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    pos = t > 0
    ax.plot(t[pos] / HOUR_S, rel[pos], ".", ms=3, color="#2e8b3a", label="measured")
    try:
        fit = lt.fit_stretched_exponential(t, rel)
        tt = np.geomspace(max(t[pos][0], 1e-3), t[-1] * 3, 300)
        ax.plot(tt / HOUR_S, fit.relative(tt), "-", color="k", lw=1,
                label=f"exp[−(t/τ)^β], τ = {fit.tau_s / HOUR_S:.3g} h, β = {fit.beta:.3f}")
    except ValueError:
        pass
    for x in lt.FRACTIONS:
        ax.axhline(x, color="0.7", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("Stress time (h)")
    ax.set_ylabel("L / L$_0$ (L$_0$ at t = 0)")
    ax.set_ylim(0, max(1.05, float(np.nanmax(rel)) * 1.02))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_voltage(time_s, voltage_V, title: str | None = None) -> Figure:
    """Drive voltage vs stress time at constant current."""
    fig = Figure(figsize=(6.0, 3.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(np.asarray(time_s, float) / HOUR_S, voltage_V, "-", color="#1f3b73", lw=1)
    ax.set_xlabel("Stress time (h)")
    ax.set_ylabel("Voltage (V)")
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_acceleration(acc: dict, title: str | None = None) -> Figure:
    """T50 vs L0 (log-log) with the fitted law, extended to 100 cd/m²."""
    fit = acc["fit"]
    fig = Figure(figsize=(5.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for l0, t50, extra in acc["points"]:
        ax.plot(l0, t50, "o", color="#b03a2e", mfc="none" if extra else "#b03a2e")
    lo = min(REPORT_L0_CD_M2, min(p[0] for p in acc["points"])) / 1.3
    hi = max(p[0] for p in acc["points"]) * 1.3
    ll = np.geomspace(lo, hi, 100)
    n_txt = f"{fit.n:.2f}" + (f" ± {fit.n_stderr:.2f}" if math.isfinite(fit.n_stderr) else
                              " (no uncertainty: 2 points)")
    ax.plot(ll, fit.lifetime_at(ll), "-", color="k", lw=1, label=f"L$_0^n$·T50 = const, n = "
            f"{n_txt}")
    ax.plot(REPORT_L0_CD_M2, acc["t50_at_100_cd_m2_h"], "s", color="k", mfc="none",
            label=f"extrapolated to {REPORT_L0_CD_M2:g} cd/m²: "
                  f"{acc['t50_at_100_cd_m2_h']:.3g} h")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Initial luminance L$_0$ (cd m$^{-2}$)")
    ax.set_ylabel("T50 (h)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


# ------------------------------------------------------------------ page
def _siblings(run) -> list[dict]:
    """Analysis of every lifetime run of the same sample in the run's folder."""
    from acquisition.store import load_run, procedure_short_name

    path = getattr(run, "path", None)
    if not path:
        return []
    sample = run.attrs.get("sample")
    found = []
    for p in sorted(Path(path).parent.glob("*.h5")):
        try:
            key = (str(Path(p).resolve()), Path(p).stat().st_mtime_ns)
            if key not in _SIBLING_CACHE:   # a report of N runs would analyse N² times
                other = run if Path(p) == Path(path) else load_run(p, spectra=False)
                kind = procedure_short_name(str(other.attrs.get("procedure", "")))
                _SIBLING_CACHE[key] = (other.attrs.get("sample"), analyze_run(other)) \
                    if kind == "lifetime" and len(other.data) else (None, None)
            other_sample, result = _SIBLING_CACHE[key]
            if result is not None and other_sample == sample:
                found.append(result)
        except (OSError, ValueError):
            continue
    return found


_SIBLING_CACHE: dict = {}


def write_run_report(run, out_dir, *, html_too: bool = True,
                     assumed_acceleration_n: float | None = None) -> Path:
    """One lifetime run's page (figures, T_x table, truth, acceleration of its sample).

    ``assumed_acceleration_n``: an acceleration exponent to test against the one fitted over
    the sample's runs (a warning on the page when the data contradict it or cannot test it).
    """
    assumed = check_assumed_n(assumed_acceleration_n)
    out, stem, page = run_page(run, out_dir, "lifetime",
                               "Operational lifetime — {sample} / pixel {pixel}")
    sample, pixel = run_label(run)
    if not len(run.data):
        page.para("This run holds no rows.")
        page.run_details(run)
        return page.write(out, stem, html_too)
    a = analyze_run(run)
    page.heading("Lifetime")
    page.para(f"Constant-current stress at {fmt(a.get('stress_current_density_mA_cm2'), '.4g')}"
              f" mA/cm²; L0 = {a['l0_cd_m2']:.4g} cd/m² (t = 0 reading), maximum "
              f"{a['l0_max_cd_m2']:.4g} cd/m² at {a['l0_max_time_h']:.3g} h. Test duration "
              f"{a['duration_h']:.4g} h. Stop: {a['stop_reason'] or '–'}")
    if a.get("segment_note"):
        page.para(f"**Discontinuity.** {a['segment_note']}.")
    env = a["environment"]
    if env.get("warning"):
        page.para(f"Warning: {env['warning']}.")
    if dark_paragraph(a):
        page.para(dark_paragraph(a))
    rows = []
    for x in ("95", "90", "80", "50"):
        err = a.get(f"t{x}_stderr_h")
        rows.append((f"T{x}", fmt(a[f"t{x}_h"], ".4g") + (f" ± {err:.2g}" if err else ""),
                     fmt(a["max_l0"][f"t{x}_h"], ".4g"), a[f"t{x}_note"]))
    page.table(["", "L0 = t = 0 value (h)", "L0 = maximum (h)", "How"], rows)
    page.para(f"Stretched-exponential fit L/L0 = exp[−(t/τ)^β] (Féry et al., APL 87, 213502, "
              f"2005): τ = {fmt(a.get('tau_h'), '.4g')} ± {fmt(a.get('tau_stderr_h'), '.2g')}"
              f" h, β = {fmt(a.get('beta'), '.4f')} ± {fmt(a.get('beta_stderr'), '.2g')}. "
              f"Extrapolations are bounded at {lt.MAX_EXTRAPOLATION_FACTOR:g}× the test "
              f"duration (IES TM-21-11). ΔV at T95 = {fmt(a['voltage_rise_at_t95_V'], '.3f')}"
              f" V, at T50 = {fmt(a['voltage_rise_at_t50_V'], '.3f')} V.")
    if "truth_t50_h" in a and a.get("t50_h"):
        page.truth_table([truth_row("L0", a["truth_l0_cd_m2"], a["l0_cd_m2"], "cd/m²"),
                          truth_row("T50", a["truth_t50_h"], a["t50_h"], "h")])
    page.heading("Figures")
    t, lum, v = _arrays(run)
    title = f"{sample} / pixel {pixel}"
    figs = [("decay", plot_decay(t, lum, title), "L/L0 vs stress time (log)")]
    if v is not None and np.isfinite(v).any():
        figs.append(("voltage", plot_voltage(t, v, title), "Voltage vs stress time"))
    if env.get("device", {}).get("n_valid"):
        d = run.data.sort_values("time_s", kind="stable")
        dev = env["device"]
        figs.append(("temperature", plot_temperature(
            d["time_s"], d["relative_luminance_fraction"], d["device_temperature_C"],
            d.get("ambient_temperature_C"), title),
            f"L/L0 and temperature vs stress time (device moved {dev['change_K']:.3g} K, "
            f"drift {dev['drift_K_per_h'] or 0:.3g} K/h)"))
    page.add_figures(out, stem, figs)
    acc = sample_acceleration(_siblings(run), assumed_n=assumed)
    if acc is None and assumed is not None:
        page.para(f"Warning: assumed n = {assumed:g} cannot be tested: this folder holds T50 "
                  f"values of sample {sample} at fewer than 2 initial luminances.")
    if acc is not None:
        page.heading(f"Acceleration law for sample {sample}")
        n_err = (f" ± {acc['n_stderr']:.3f}" if math.isfinite(acc["n_stderr"])
                 else " (uncertainty undefined with 2 L0 values)")
        truth_n = a.get("truth_acceleration_exponent")
        page.para(f"L0^n·T50 = const fitted over {len(acc['points'])} runs of this sample "
                  f"(least squares in log-log): n = {acc['n']:.3f}{n_err}"
                  + (f" (simulated truth {truth_n:g})" if truth_n else "")
                  + f". T50 extrapolated to {REPORT_L0_CD_M2:g} cd/m² with the fitted n: "
                  f"{acc['t50_at_100_cd_m2_h']:.4g} ± "
                  f"{fmt(acc['t50_at_100_cd_m2_stderr_h'], '.2g')} h. Open markers: T50 "
                  "extrapolated from a test stopped early.")
        check = acc["assumed_check"]
        if check is not None and check["consistent"]:
            page.para(f"Assumed acceleration exponent: {check['message']}.")
        for w in acc["warnings"]:
            page.para(f"Warning: {w}")
        page.add_figures(out, None, [(f"acceleration_{stem}",
                                      plot_acceleration(acc, f"sample {sample}"),
                                      "T50 vs L0 with the fitted acceleration law")])
    page.run_details(run)
    return page.write(out, stem, html_too)
