"""DLCP and C-V runs: analysis of a stored run (JSON-able dict) and its report page.

``analyze_dlcp_run`` / ``analyze_cv_run`` read the record (area, ε_r, the amplitude
convention, the columns) and call the pure functions of :mod:`analysis.dlcp`;
``write_dlcp_report`` / ``write_cv_report`` write a Markdown + HTML page with PNG figures in
the look of :mod:`analysis.report`. When the run holds the simulated device's truth, the
measured densities are compared with the true N_free(x) + g(f)·N_trap(x) recomputed here from
the stored profile nodes (not from the simulator's code).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from analysis import dlcp
from reports.page import fmt, run_label, pixel_device_truth, run_page, run_parameter, truth_row

__all__ = ["analyze_dlcp_run", "write_dlcp_report", "analyze_cv_run", "write_cv_report",
           "junction_truth", "true_density_cm3"]


# ------------------------------------------------------------------------------- record
def _param(run, name, required=True):
    value = run_parameter(run, name)
    if value is None and required:
        raise ValueError(f"the run does not record '{name}': allowed runs written by the "
                         "DLCP / C-V procedures (area_cm2, eps_r, amplitude_convention stored)")
    return value


def _column(run, name):
    data = run.data
    if name not in data.columns:
        raise ValueError(f"the run has no column '{name}': allowed DLCP/C-V runs")
    return np.asarray(data[name], dtype=float)


def junction_truth(run) -> dict | None:
    """The ``junction`` block of the simulated LED pixel's truth (or of a truth dict that is
    one device's), or None."""
    device = pixel_device_truth(run, "led") or getattr(run, "truth", None) or {}
    junction = device.get("junction") if isinstance(device, dict) else None
    if not junction:
        return None
    return {**junction, "area_cm2": device.get("area_cm2")}


def true_density_cm3(junction: dict, x_nm, frequency_Hz):
    """N_free(x) + g(f)·N_trap(x) [cm⁻³] from stored truth (profile nodes, linear between,
    constant beyond; g = 1/(1 + (f/f_c)²))."""
    depth = np.asarray(junction["profile_depth_nm"], float)
    nf = np.interp(x_nm, depth, np.asarray(junction["free_carrier_density_cm3"], float))
    nt = np.interp(x_nm, depth, np.asarray(junction["trap_density_cm3"], float))
    g = dlcp.trap_response_fraction(frequency_Hz, junction["trap_cutoff_frequency_Hz"])
    return nf + g * nt


def status_column(run):
    """The per-point ``lcr_status`` (0 where the run has none: runs recorded before it)."""
    if "lcr_status" not in run.data.columns:
        return np.zeros(len(run.data))
    return np.nan_to_num(np.asarray(run.data["lcr_status"], dtype=float), nan=0.0)


def status_codes(run) -> dict:
    """``{"+1": "overload", …}`` the run recorded for its meter (empty if none)."""
    station = (getattr(run, "attrs", None) or {}).get("station") or {}
    measurement = station.get("measurement") if isinstance(station, dict) else None
    codes = (measurement or {}).get("lcr_status_codes") if isinstance(measurement, dict) \
        else None
    return dict(codes) if isinstance(codes, dict) else {}


def excluded_summary(run, status) -> dict:
    """How many points the meter flagged and were left out of the fits, by status."""
    codes = status_codes(run)
    flagged = status[status != 0]
    by_status = {}
    for code in sorted(set(flagged.astype(int))):
        key = f"{code:+d}"
        by_status[f"{key} {codes.get(key, '')}".rstrip()] = int(np.sum(flagged == code))
    return {"excluded_points": int(flagged.size), "total_points": int(status.size),
            "excluded_by_status": by_status}


def excluded_sentence(summary: dict) -> str:
    """The report's sentence on the points left out (empty when none were)."""
    if not summary["excluded_points"]:
        return ""
    why = ", ".join(f"{n} × {k}" for k, n in summary["excluded_by_status"].items())
    return (f"{summary['excluded_points']} of {summary['total_points']} points were flagged by "
            f"the LCR meter (:FETCh? status ≠ 0: {why}) and left out of the fits; they are "
            "stored with their lcr_status.")


def _finite_list(a):
    return [float(v) if math.isfinite(v) else None for v in np.asarray(a, float).ravel()]


def _rel(measured, truth):
    m, t = np.asarray(measured, float), np.asarray(truth, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (m - t) / t


# ------------------------------------------------------------------------------- DLCP
def _dlcp_inputs(run):
    area = float(_param(run, "area_cm2"))
    eps_r = float(_param(run, "eps_r"))
    convention = str(_param(run, "amplitude_convention"))
    level = _column(run, "level_Vrms")
    dv_pp = np.asarray(dlcp.delta_v_pp_V(level, convention), float)
    if "delta_v_pp_V" in run.data.columns:
        stored = _column(run, "delta_v_pp_V")
        ok = np.isfinite(stored) & np.isfinite(dv_pp)
        if not np.allclose(stored[ok], dv_pp[ok], rtol=1e-6, atol=0):
            raise ValueError(f"delta_v_pp_V disagrees with level_Vrms under amplitude_convention "
                             f"= {convention!r}: allowed records where δV_pp = 2√2·V_rms")
    profiles = dlcp.dlcp_profiles(_column(run, "frequency_Hz"), _column(run, "v_max_V"), dv_pp,
                                  _column(run, "capacitance_F"), area_cm2=area, eps_r=eps_r,
                                  valid=status_column(run) == 0)
    return area, eps_r, convention, profiles


def _cutoffs(profiles):
    """f_c per V_max and their inverse-variance mean in ln f (None if not locatable)."""
    per = []
    for vm in np.unique(profiles.v_max_V):
        sel = profiles.v_max_V == vm
        try:
            fit = dlcp.trap_cutoff_frequency(profiles.frequency_Hz[sel], profiles.n_dl_cm3[sel],
                                             profiles.n_dl_std_cm3[sel])
        except ValueError:
            continue
        per.append((float(vm), fit))
    good = [(vm, f) for vm, f in per if f.located and f.cutoff_frequency_std_Hz > 0]
    if not good:
        return per, None, None
    ln = np.array([math.log(f.cutoff_frequency_Hz) for _, f in good])
    s = np.array([f.cutoff_frequency_std_Hz / f.cutoff_frequency_Hz for _, f in good])
    w = 1.0 / s ** 2
    mean = float(np.sum(w * ln) / np.sum(w))
    fc = math.exp(mean)
    return per, fc, fc * math.sqrt(1.0 / np.sum(w))


def analyze_dlcp_run(run) -> dict:
    """N_DL per (frequency, V_max), the shallowest point per frequency, trap cutoff, deep
    states and (simulated runs) truth comparison; JSON-able.

    Keys include ``frequencies_Hz`` and ``n_dl_cm3`` (one per frequency at its shallowest
    ⟨x⟩), ``profile_x_nm`` / ``profile_n_dl_cm3`` with ``profile_frequency_Hz`` /
    ``profile_v_max_V`` (one per curve), ``trap_cutoff_frequency_Hz`` (± std), and
    ``deep_state_density_cm3`` at ``deep_state_x_nm``.
    """
    area, eps_r, convention, p = _dlcp_inputs(run)
    freqs, n_sh, x_sh = p.shallowest()
    out = {
        "method": "C(dV) = C0 + C1*dV + C2*dV^2 least squares per (frequency, V_max), dV "
                  "peak-to-peak = 2*sqrt(2)*V_rms; N_DL = -C0^3/(2 q eps_r eps0 A^2 C1), "
                  "<x> = eps_r eps0 A/C0 (Heath, Cohen & Shafarman, JAP 95, 1000 (2004))",
        "area_cm2": area, "eps_r": eps_r, "amplitude_convention": convention,
        "frequencies_Hz": _finite_list(freqs), "n_dl_cm3": _finite_list(n_sh),
        "x_nm": _finite_list(x_sh),
        "profile_frequency_Hz": _finite_list(p.frequency_Hz),
        "profile_v_max_V": _finite_list(p.v_max_V),
        "profile_x_nm": _finite_list(p.x_nm),
        "profile_n_dl_cm3": _finite_list(p.n_dl_cm3),
        "profile_n_dl_std_cm3": _finite_list(p.n_dl_std_cm3),
        "profile_c0_F": _finite_list(p.c0_F),
        "profile_c1_F_per_V": _finite_list(p.c1_F_per_V),
        "profile_c2_F_per_V2": _finite_list(p.c2_F_per_V2),
        "profile_rms_residual_F": _finite_list(p.rms_residual_F),
        "profile_n_points": [int(v) for v in p.n_points],
        "profile_n_excluded": [int(v) for v in p.n_excluded],
        **excluded_summary(run, status_column(run)),
    }
    per, fc, fc_std = _cutoffs(p)
    out["trap_cutoff_frequency_Hz"] = fc
    out["trap_cutoff_frequency_std_Hz"] = fc_std
    out["trap_cutoff_per_v_max"] = [{"v_max_V": vm, **f.to_dict()} for vm, f in per]
    if freqs.size >= 2:
        deep = dlcp.deep_state_density(p)
        out.update(deep_state_x_nm=_finite_list(deep["x_nm"]),
                   deep_state_density_cm3=_finite_list(deep["n_deep_cm3"]),
                   deep_state_frequencies_Hz=[deep["low_frequency_Hz"],
                                              deep["high_frequency_Hz"]],
                   high_frequency_x_range_nm=list(deep["x_high_nm"]))
    junction = junction_truth(run)
    if junction:
        true_n = true_density_cm3(junction, p.x_nm, p.frequency_Hz)
        rel = _rel(p.n_dl_cm3, true_n)
        truth = {"eps_r": junction.get("epsilon_r"),
                 "profile_n_true_cm3": _finite_list(true_n),
                 "profile_relative_error": _finite_list(rel),
                 "max_abs_relative_error": float(np.nanmax(np.abs(rel))),
                 "trap_cutoff_frequency_Hz": junction["trap_cutoff_frequency_Hz"]}
        if fc is not None:
            truth["trap_cutoff_relative_error"] = fc / junction["trap_cutoff_frequency_Hz"] - 1
        if "deep_state_x_nm" in out:
            x = np.asarray(out["deep_state_x_nm"], float)
            f_lo, f_hi = out["deep_state_frequencies_Hz"]
            nt = np.interp(x, junction["profile_depth_nm"], junction["trap_density_cm3"])
            fc_t = junction["trap_cutoff_frequency_Hz"]
            window = (dlcp.trap_response_fraction(f_lo, fc_t)
                      - dlcp.trap_response_fraction(f_hi, fc_t)) * nt
            truth["deep_state_density_true_cm3"] = _finite_list(window)
            truth["deep_state_relative_error"] = _finite_list(
                _rel(out["deep_state_density_cm3"], window))
        out["truth"] = truth
    return out


# ------------------------------------------------------------------------------- figures
def _colours(n):
    from matplotlib import colormaps
    cmap = colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.0, 0.85, max(n, 1))]


def plot_dlcp_fits(p: dlcp.DLCPProfiles, title: str = "") -> Figure:
    """C vs δV_pp per frequency (one panel each), points and the quadratic fits."""
    freqs = np.unique(p.frequency_Hz)
    ncol = min(len(freqs), 3)
    nrow = int(math.ceil(len(freqs) / ncol))
    fig = Figure(figsize=(3.4 * ncol, 2.9 * nrow), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    vms = np.unique(p.v_max_V)
    cols = dict(zip(vms, _colours(len(vms))))
    for ax, f in zip(axes, freqs):
        for j in np.nonzero(p.frequency_Hz == f)[0]:
            dv, c = p.delta_v_pp_V[j], p.capacitance_F[j]
            finite = np.isfinite(dv) & np.isfinite(c)
            ok = finite & p.valid[j]
            col = cols[p.v_max_V[j]]
            ax.plot(dv[ok], c[ok] * 1e9, "o", ms=3, color=col,
                    label=f"V_max {p.v_max_V[j]:g} V")
            flagged = finite & ~p.valid[j]
            if flagged.any():
                ax.plot(dv[flagged], c[flagged] * 1e9, "x", ms=5, color=col,
                        label="flagged by the meter (not fitted)")
            grid = np.linspace(0.0, np.nanmax(dv), 50)
            fit = np.polyval(p.fit.coefficients[j][::-1], grid)
            ax.plot(grid, fit * 1e9, "-", lw=1, color=col)
        ax.set_title(f"{f:g} Hz", fontsize=9)
        ax.set_xlabel("δV peak-to-peak [V]")
        ax.set_ylabel("C [nF]")
    for ax in axes[len(freqs):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_dlcp_frequency(p: dlcp.DLCPProfiles, cutoff_Hz=None, title: str = "") -> Figure:
    """N_DL vs frequency per V_max (the seeds' "DOS vs frequency"), cutoff marked."""
    fig = Figure(figsize=(5.2, 3.8), layout="constrained")
    ax = fig.add_subplot()
    vms = np.unique(p.v_max_V)
    for vm, col in zip(vms, _colours(len(vms))):
        sel = p.v_max_V == vm
        o = np.argsort(p.frequency_Hz[sel])
        ax.errorbar(p.frequency_Hz[sel][o], p.n_dl_cm3[sel][o], yerr=p.n_dl_std_cm3[sel][o],
                    marker="o", ms=4, capsize=2, color=col, label=f"V_max {vm:g} V")
    if cutoff_Hz:
        ax.axvline(cutoff_Hz, color="0.4", ls="--", lw=1, label=f"f_c = {cutoff_Hz:.3g} Hz")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Frequency [Hz]")
    ax.set_ylabel("N_DL [cm⁻³]")
    ax.legend(fontsize=7)
    ax.set_title(title or "Drive-level density vs frequency", fontsize=10)
    return fig


def plot_profiles(x_groups, title: str, ylabel: str) -> Figure:
    """N vs x for labelled groups ``[(label, x_nm, n_cm3), …]`` (log N)."""
    fig = Figure(figsize=(5.2, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for (label, x, n), col in zip(x_groups, _colours(len(x_groups))):
        o = np.argsort(x)
        ax.plot(np.asarray(x)[o], np.asarray(n)[o], "o-", ms=4, color=col, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("Profiling distance x [nm]")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    return fig


def write_dlcp_report(run, out_dir, *, html_too: bool = True) -> Path:
    """DLCP report: N_DL table per frequency, cutoff, deep states, truth; three figures."""
    out, stem, page = run_page(run, out_dir, "dlcp", "DLCP — {sample} / {pixel}")
    sample, pixel = run_label(run)
    a = analyze_dlcp_run(run)
    _, _, _, p = _dlcp_inputs(run)
    page.para(f"ε_r = {a['eps_r']:g} (static), A = {a['area_cm2']:g} cm², oscillator level "
              f"recorded in V {a['amplitude_convention']} and converted to δV peak-to-peak. "
              + a["method"] + ".")
    if a["excluded_points"]:
        page.para(excluded_sentence(a))
    page.heading("N_DL at the shallowest profile point")
    page.table(["Frequency [Hz]", "⟨x⟩ [nm]", "N_DL [cm⁻³]"],
               [(fmt(f, "g"), fmt(x, ".1f"), fmt(n)) for f, x, n in
                zip(a["frequencies_Hz"], a["x_nm"], a["n_dl_cm3"])])
    fc = a["trap_cutoff_frequency_Hz"]
    page.para("Trap cutoff frequency (step N_high + ΔN/(1+(f/f_c)²) fitted per V_max, "
              "inverse-variance mean): " + (f"{fc:.4g} ± {a['trap_cutoff_frequency_std_Hz']:.2g}"
                                             " Hz" if fc else "not located (the frequencies do "
                                             "not bracket a step)") + ".")
    if "deep_state_density_cm3" in a:
        lo, hi = a["deep_state_frequencies_Hz"]
        page.heading(f"Deep states: N_DL({lo:g} Hz) − N_DL({hi:g} Hz)")
        page.table(["⟨x⟩ [nm]", "N_deep [cm⁻³]"],
                   [(fmt(x, ".1f"), fmt(n)) for x, n in
                    zip(a["deep_state_x_nm"], a["deep_state_density_cm3"])])
    if "truth" in a:
        t = a["truth"]
        page.truth_table([
            truth_row("ε_r (static)", t["eps_r"], a["eps_r"], "", "g"),
            truth_row("trap cutoff", t["trap_cutoff_frequency_Hz"], fc, "Hz",
                      relative=t.get("trap_cutoff_relative_error", math.nan)),
            ("N_DL, worst curve", "N_free(x) + g(f)·N_trap(x)", "", "cm⁻³",
             fmt(100 * t["max_abs_relative_error"], ".2f") + " % (max |dev|)")])
    page.heading("Figures")
    title = f"{sample} / {pixel}"
    groups = []
    for f in np.unique(p.frequency_Hz):
        sel = p.frequency_Hz == f
        groups.append((f"{f:g} Hz", p.x_nm[sel], p.n_dl_cm3[sel]))
    figs = [("fits", plot_dlcp_fits(p, title), "C vs δV per frequency with quadratic fits"),
            ("frequency", plot_dlcp_frequency(p, fc, title), "N_DL vs frequency"),
            ("profile", plot_profiles(groups, f"{title}: DLCP profiles", "N_DL [cm⁻³]"),
             "N_DL vs ⟨x⟩ per frequency")]
    page.add_figures(out, stem, figs)
    page.run_details(run)
    return page.write(out, stem, html_too)


# ------------------------------------------------------------------------------- C-V
def _cv_profiles(run, smooth_points=0):
    area = float(_param(run, "area_cm2"))
    eps_r = float(_param(run, "eps_r"))
    f = _column(run, "frequency_Hz")
    v = _column(run, "bias_V")
    c = _column(run, "capacitance_F")
    direction = _column(run, "direction") if "direction" in run.data.columns \
        else np.ones_like(v)
    good = status_column(run) == 0
    result = []
    for fv in np.unique(f[np.isfinite(f)]):
        sel = (f == fv) & (direction > 0)
        result.append((float(fv), dlcp.cv_profile(v[sel], c[sel], area_cm2=area, eps_r=eps_r,
                                                  smooth_points=smooth_points,
                                                  valid=good[sel])))
    if not result:
        raise ValueError("the run holds no C-V rows")
    return area, eps_r, result


def analyze_cv_run(run, *, smooth_points: int = 0) -> dict:
    """N_CV(x) per frequency (forward leg), its median over reverse bias, truth comparison."""
    area, eps_r, profiles = _cv_profiles(run, smooth_points)
    junction = junction_truth(run)
    out = {"method": "N_CV = -2/(q eps_r eps0 A^2 d(C^-2)/dV), x = eps_r eps0 A/C, V forward "
                     "positive (Sze & Ng 2007, 3.2.4)",
           "area_cm2": area, "eps_r": eps_r, "frequencies_Hz": [], "per_frequency": [],
           **excluded_summary(run, status_column(run))}
    for fv, prof in profiles:
        rev = prof.bias_V <= 0.0
        entry = {"frequency_Hz": fv, "bias_V": _finite_list(prof.bias_V),
                 "x_nm": _finite_list(prof.x_nm), "n_cv_cm3": _finite_list(prof.n_cv_cm3),
                 "median_n_cv_reverse_cm3": float(np.nanmedian(prof.n_cv_cm3[rev]))
                 if np.any(rev) else None, "n_excluded": prof.n_excluded}
        if junction:
            true_n = true_density_cm3(junction, prof.x_nm, fv)
            rel = _rel(prof.n_cv_cm3, true_n)
            entry["truth"] = {"n_true_cm3": _finite_list(true_n),
                              "relative_error": _finite_list(rel),
                              "median_abs_relative_error_reverse":
                                  float(np.nanmedian(np.abs(rel[rev]))) if np.any(rev) else None}
        out["frequencies_Hz"].append(fv)
        out["per_frequency"].append(entry)
    return out


def plot_cv(profiles, title: str = "") -> Figure:
    """(a) C–V, (b) 1/C²–V, (c) N_CV vs x, one colour per frequency."""
    fig = Figure(figsize=(11.0, 3.6), layout="constrained")
    ax_c, ax_ms, ax_n = fig.subplots(1, 3)
    for (fv, prof), col in zip(profiles, _colours(len(profiles))):
        label = f"{fv:g} Hz"
        ax_c.plot(prof.bias_V, prof.capacitance_F * 1e9, "o-", ms=2, color=col, label=label)
        ax_ms.plot(prof.bias_V, prof.inverse_c2_per_F2, "o-", ms=2, color=col, label=label)
        ax_n.plot(prof.x_nm, prof.n_cv_cm3, "o-", ms=2, color=col, label=label)
    ax_c.set(xlabel="Bias [V]", ylabel="C [nF]", title="(a) C–V")
    ax_ms.set(xlabel="Bias [V]", ylabel="1/C² [F⁻²]", title="(b) Mott-Schottky")
    ax_n.set(xlabel="x = εA/C [nm]", ylabel="N_CV [cm⁻³]", title="(c) C-V profile")
    ax_n.set_yscale("log")
    ax_c.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def write_cv_report(run, out_dir, *, html_too: bool = True) -> Path:
    """C-V report: C–V, 1/C²–V and N_CV vs x figures; median N_CV; truth when simulated."""
    out, stem, page = run_page(run, out_dir, "cv", "C-V — {sample} / {pixel}")
    sample, pixel = run_label(run)
    a = analyze_cv_run(run)
    _, _, profiles = _cv_profiles(run)
    page.para(f"ε_r = {a['eps_r']:g} (static), A = {a['area_cm2']:g} cm². {a['method']}. "
              "N_CV counts interface charge too (N_CV ≥ N_DL on a real device).")
    if a["excluded_points"]:
        page.para(excluded_sentence(a))
    rows = []
    for e in a["per_frequency"]:
        t = e.get("truth", {}).get("median_abs_relative_error_reverse")
        rows.append((fmt(e["frequency_Hz"], "g"), fmt(e["median_n_cv_reverse_cm3"]),
                     "–" if t is None else f"{100 * t:.2f} %"))
    page.table(["Frequency [Hz]", "median N_CV, bias ≤ 0 [cm⁻³]",
                "median |dev| from truth"], rows)
    page.heading("Figures")
    page.add_figures(out, stem, [("cv", plot_cv(profiles, f"{sample} / {pixel}"),
                                  "C-V, Mott-Schottky and N_CV profile")])
    page.run_details(run)
    return page.write(out, stem, html_too)
