"""SCLC runs: analysis of a stored run and its report page (``analysis.dispatch`` kind ``sclc``).

``analyze_run(run) -> dict`` reads each sweep branch of a run written by
``procedures.sclc.SCLCProcedure`` with :func:`analysis.sclc.analyze_sclc`, compares the up
and down branches (:func:`analysis.sclc.sweep_hysteresis`) and, for a simulated device,
the truth. ``write_run_report(run, out_dir) -> Path`` writes a Markdown/HTML page with the
log-log J-V and slope figures.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from reports import figures
from reports.page import (Page, fmt, pixel_device_truth, relative_deviation,
                             report_folder, run_parameter, run_stem, truth_row)
from analysis.sclc import HYSTERESIS_THRESHOLD_FRACTION, analyze_sclc, log_log_slope, \
    sweep_hysteresis

__all__ = ["run_branches", "analyze_run", "write_run_report", "device_truth"]

BRANCHES = (("up", +1, +1), ("down", -1, +1), ("negative_up", +1, -1),
            ("negative_down", -1, -1))
_STYLE = {"up": dict(linestyle="-", marker="o", markersize=3),
          "down": dict(linestyle="--", marker="s", markersize=3, markerfacecolor="none"),
          "negative_up": dict(linestyle="-", marker="^", markersize=3),
          "negative_down": dict(linestyle="--", marker="v", markersize=3,
                                markerfacecolor="none")}


def run_branches(run) -> dict:
    """``name -> (voltage_V, current_density_mA_cm2)`` of each branch present in ``run``.

    Branches: ``up`` (0 → +V_max), ``down`` (+V_max → 0), ``negative_up``,
    ``negative_down``, from the ``direction`` column and the sign of the set voltage.
    """
    d = run.data
    for col in ("voltage_V", "current_density_mA_cm2", "direction"):
        if col not in d.columns:
            raise ValueError(f"run has no {col!r} column: not an SCLC run")
    v = d["voltage_V"].to_numpy(float)
    vset = d["set_voltage_V"].to_numpy(float) if "set_voltage_V" in d.columns else v
    j = d["current_density_mA_cm2"].to_numpy(float)
    direction = d["direction"].to_numpy(float)
    out = {}
    for name, dirn, sign in BRANCHES:
        mask = (np.sign(direction) == dirn) & (np.sign(vset) == sign)
        if mask.sum():
            out[name] = (v[mask], j[mask])
    return out


def device_truth(run) -> dict | None:
    """The single-carrier device's truth dict of a simulated run (None otherwise)."""
    return pixel_device_truth(run, "single_carrier")


def analyze_run(run) -> dict:
    """JSON-able SCLC results of one stored run.

    Keys: ``device_type``, ``mode``, ``thickness_nm``, ``eps_r``, one dict per branch
    (:class:`analysis.sclc.SCLCResult` fields), ``hysteresis`` (when up and down are both
    there), ``warnings`` (list of str) and ``truth`` (simulated runs: true n_t, μ, V_TFL and
    the relative deviations of the up branch).
    """
    thickness = run_parameter(run, "thickness_nm")
    eps = run_parameter(run, "eps_r")
    if thickness is None or eps is None:
        raise ValueError("run has no thickness_nm / eps_r parameters: not an SCLC run")
    branches = run_branches(run)
    if not branches:
        raise ValueError("run holds no sweep points")
    result = {"device_type": run_parameter(run, "device_type", ""),
              "mode": run_parameter(run, "mode", ""), "thickness_nm": float(thickness),
              "eps_r": float(eps)}
    warnings = []
    for name, (v, j) in branches.items():
        try:
            r = analyze_sclc(v, j, thickness, eps).to_dict()
        except ValueError as exc:
            r = {"notes": [str(exc)]}
        result[name] = r
        warnings += [f"{name}: {n}" for n in r.get("notes", [])]
    if "up" in branches and "down" in branches:
        try:
            h = sweep_hysteresis(branches["up"], branches["down"], thickness, eps,
                                 threshold_fraction=HYSTERESIS_THRESHOLD_FRACTION)
        except ValueError as exc:
            h = {"warning": None, "error": str(exc)}
        result["hysteresis"] = h
        if h.get("warning"):
            warnings.append(h["warning"])
    truth = device_truth(run)
    if truth is not None and "up" in result:
        up = result["up"]
        t = {"trap_density_cm3": truth.get("trap_density_cm3"),
             "mobility_cm2_Vs": truth.get("mobility_cm2_Vs"),
             "v_tfl_V": truth.get("v_tfl_V"), "v_tfl_up_V": truth.get("v_tfl_up_V")}
        for key in ("trap_density_cm3", "mobility_cm2_Vs", "v_tfl_V"):
            t[f"{key}_relative_error"] = relative_deviation(up.get(key, math.nan), t[key])
        result["truth"] = t
    result["warnings"] = warnings
    return result


# ---------------------------------------------------------------------------- figures
def plot_sclc(branches: dict, analysis: dict, title: str | None = None) -> Figure:
    """log|J| vs log|V| of every branch with the ohmic line, the TFL tangent and the
    Mott-Gurney fit of the up branch; the smoothed log-log slope below."""
    fig = Figure(figsize=(6.0, 6.0), layout="constrained")
    ax, ax_s = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1])
    for name, (v, j) in branches.items():
        keep = np.isfinite(v) & np.isfinite(j) & (v != 0) & (j != 0)
        if keep.sum() < 2:
            continue
        ax.plot(np.abs(v[keep]), np.abs(j[keep]), color=figures.J_COLOUR, label=name,
                **_STYLE[name])
        try:
            vs, s = log_log_slope(v, j)
            ax_s.plot(vs, s, color=figures.J_COLOUR, **_STYLE[name])
        except ValueError:
            pass
    up = analysis.get("up", {})
    if "up" in branches and math.isfinite(up.get("v_tfl_V", math.nan)):
        v = np.abs(branches["up"][0])
        vv = np.geomspace(max(np.nanmin(v[v > 0]), 1e-6), np.nanmax(v), 200)
        g = up["ohmic_conductance_mS_cm2"]
        ax.plot(vv, g * vv, color="0.5", lw=1, label="ohmic J = G·V")
        vt, s_star = up["v_tfl_V"], up["max_slope"]
        vk = np.geomspace(vt / 1.5, min(up["voltage_at_max_slope_V"] * 1.5, vv[-1]), 30)
        ax.plot(vk, g * vt * (vk / vt) ** s_star, color="#b03a2e", lw=1,
                label=f"tangent at steepest point (slope {s_star:.2f})")
        ax.axvline(vt, color="#b03a2e", lw=1, ls=":", label=f"V_TFL = {vt:.3g} V")
    if "up" in branches and math.isfinite(up.get("mobility_cm2_Vs", math.nan)):
        lo, hi = up["mott_gurney_range_V"]
        vv = np.geomspace(lo / 2, hi, 50)
        from analysis.sclc import mott_gurney_current_density_mA_cm2
        ax.plot(vv, mott_gurney_current_density_mA_cm2(vv, up["mobility_cm2_Vs"],
                                                       up["thickness_nm"], up["eps_r"]),
                color=figures.L_COLOUR, lw=1.2,
                label=f"Mott-Gurney μ = {up['mobility_cm2_Vs']:.3g} cm²/(V·s)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("|J| (mA cm$^{-2}$)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    for level in (1.0, 2.0):
        ax_s.axhline(level, color="0.6", lw=0.8, ls=":")
    ax_s.set_ylabel("d ln J / d ln V")
    ax_s.set_xlabel("|V| (V)")
    ax_s.grid(True, which="major", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


# ---------------------------------------------------------------------------- report
_ROWS = (("v_tfl_V", "V_TFL (ohmic line ∩ tangent at steepest point)", "V", ".4g"),
         ("trap_density_cm3", "Trap density n_t", "cm⁻³", ".4g"),
         ("mobility_cm2_Vs", "Mott-Gurney mobility μ", "cm²/(V·s)", ".4g"),
         ("ohmic_slope", "Ohmic-region slope (free fit)", "", ".3f"),
         ("max_slope", "Maximum log-log slope", "", ".3f"),
         ("mott_gurney_slope", "Mott-Gurney-region slope (free fit)", "", ".3f"),
         ("ohmic_conductance_mS_cm2", "Ohmic conductance G", "mS/cm²", ".4g"))


def write_run_report(run, out_dir, *, html_too: bool = True) -> Path:
    """Write the SCLC page and figure of ``run`` into ``out_dir``; return the Markdown path."""
    out = report_folder(out_dir)
    stem = run_stem(run, "sclc")
    sample = (getattr(run, "attrs", {}) or {}).get("sample", "sample")
    a = analyze_run(run)
    page = Page.for_run(run, f"SCLC — {sample} ({a['device_type']}, {a['mode']})",
                         [("thickness L", f"{a['thickness_nm']:g} nm"),
                          ("ε_r", f"{a['eps_r']:g}")])
    names = [b for b, _, _ in BRANCHES if b in a]
    page.heading("Results")
    page.table(["Quantity", *names, "Unit"],
               [(label, *(fmt(a[b].get(k), spec) for b in names), unit)
                for k, label, unit, spec in _ROWS])
    page.para("Method: " + a[names[0]].get("method", "") + ". Slope 2 is the Mott-Gurney "
              "(trap-free, drift) law; Child's law (slope 3/2) does not apply to solids. "
              "n_t from V_TFL is an upper bound when the layer is thin and its ε_r low "
              "(Le Corre et al. 2021).")
    h = a.get("hysteresis")
    if h:
        page.para(f"Up vs down sweep: V_TFL {fmt(h.get('v_tfl_up_V'), '.4g')} V vs "
                  f"{fmt(h.get('v_tfl_down_V'), '.4g')} V (relative difference "
                  f"{fmt(h.get('v_tfl_relative_difference'), '.3g')}; warning above "
                  f"{h.get('threshold_fraction', math.nan):g}); max |log10 J_up/J_down| = "
                  f"{fmt(h.get('max_abs_log10_current_ratio'), '.3g')}.")
    if a["warnings"]:
        page.heading("Warnings")
        for w in a["warnings"]:
            page.para("⚠ " + w)
    t = a.get("truth")
    if t:
        page.truth_table([truth_row(label, t.get(key), a["up"].get(key), unit,
                                    relative=t.get(f"{key}_relative_error", math.nan))
                          for key, label, unit in (("trap_density_cm3", "n_t", "cm⁻³"),
                                                   ("mobility_cm2_Vs", "μ", "cm²/(V·s)"),
                                                   ("v_tfl_V", "V_TFL", "V"))],
                         "simulated device, up branch")
    page.heading("Figures")
    page.add_figures(out, stem, [
        ("loglog", plot_sclc(run_branches(run), a, f"{sample}: {a['device_type']}, {a['mode']}"),
         "log-log J-V and slope")])
    page.run_details(run)
    return page.write(out, stem, html_too)
