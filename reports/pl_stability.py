"""PL-stability runs: analysis and report page (``analysis.dispatch`` kind ``plstability``).

``analyze_run(run) -> dict`` applies :func:`analysis.pl_stability.summarize_pl_stability` to
the integrated PL (and the spectra) of a run written by
``procedures.pl_stability.PLStabilityProcedure``; ``write_run_report(run, out_dir)`` writes
the Markdown/HTML page with the decay, spectral-drift and spectra figures.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from reports import figures
from analysis.pl_stability import spectral_peak_and_fwhm_nm, summarize_pl_stability
from reports.page import (fmt, param_value, pixel_device_truth, relative_deviation,
                             run_page, truth_row)

__all__ = ["analyze_run", "write_run_report", "film_truth"]

_EXCITATION = ("excitation_wavelength_nm", "excitation_power_density_mW_cm2", "atmosphere",
               "relative_humidity_percent", "temperature_K")


def film_truth(run) -> dict | None:
    """The simulated PL film's truth dict of a simulated run (None otherwise)."""
    return pixel_device_truth(run, "pl_film")


def _series(run):
    d = run.data
    if "time_s" not in d.columns or "integrated_radiance_W_sr_m2" not in d.columns:
        raise ValueError("run has no time_s / integrated_radiance_W_sr_m2 columns: not a "
                         "PL-stability run")
    return d["time_s"].to_numpy(float), d["integrated_radiance_W_sr_m2"].to_numpy(float)


def analyze_run(run) -> dict:
    """JSON-able PL-stability results: T80/T50 (L0 = first and = maximum), drift, truth."""
    t, y = _series(run)
    spectra = getattr(run, "spectra", None)
    wl = getattr(run, "wavelength_nm", None)
    result = summarize_pl_stability(t, y, wl, spectra)
    params = getattr(run, "parameters", None) or {}
    result["excitation"] = {k: param_value(params[k]) for k in _EXCITATION if k in params}
    result["intensity"] = "integrated spectral radiance ∫L_e,λ dλ [W/(sr m^2)]"
    truth = film_truth(run)
    if truth is not None:
        t_rel = {}
        for key in ("t80_s", "t50_s", "t80_from_max_s", "t50_from_max_s"):
            tv = truth.get(key)
            t_rel[key] = tv
            t_rel[f"{key}_relative_error"] = relative_deviation(result.get(key, math.nan), tv)
        result["truth"] = t_rel
    return result


def _plot(run, a, title):
    t, y = _series(run)
    hours = (t - t[0]) / 3600.0
    fig = Figure(figsize=(6.0, 6.4), layout="constrained")
    ax, ax_s = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1.2])
    ax.plot(hours, y / y[0], "o-", ms=3, color=figures.L_COLOUR, label="integrated PL / first")
    for key, ls in (("t80_s", ":"), ("t50_s", "--")):
        if math.isfinite(a.get(key, math.nan)):
            ax.axvline(a[key] / 3600, color="0.4", ls=ls, lw=1,
                       label=f"{key[:3].upper()} = {a[key] / 3600:.3g} h")
    for level in (0.8, 0.5):
        ax.axhline(level, color="0.7", lw=0.8)
    ax.set_ylabel("PL / PL(0)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    if run.spectra is not None and run.wavelength_nm is not None:
        peaks, fwhm = spectral_peak_and_fwhm_nm(run.wavelength_nm, run.spectra)
        ax_s.plot(hours, peaks - peaks[0], "o-", ms=3, color=figures.J_COLOUR,
                  label="peak shift")
        ax_s.plot(hours, fwhm - fwhm[0], "s--", ms=3, color="#b03a2e", mfc="none",
                  label="FWHM change")
        ax_s.legend(fontsize=8, frameon=False)
    ax_s.set_ylabel("Δλ (nm)")
    ax_s.set_xlabel("Exposure time (h)")
    ax_s.grid(True, alpha=0.3)
    ax.set_title(title, fontsize=10)
    return fig


def _plot_spectra(run, title):
    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    t, _ = _series(run)
    picks = np.unique(np.linspace(0, len(t) - 1, min(6, len(t))).astype(int))
    cmap = figures.cm.viridis
    for n, k in enumerate(picks):
        ax.plot(run.wavelength_nm, run.spectra[k], color=cmap(n / max(len(picks) - 1, 1)),
                label=f"{(t[k] - t[0]) / 3600:.2g} h")
    ax.set_xlabel("Wavelength (nm)")
    ax.set_ylabel("L$_{e,λ}$ (W sr$^{-1}$ m$^{-2}$ nm$^{-1}$)")
    ax.legend(fontsize=8, frameon=False, title="exposure", title_fontsize=8)
    ax.grid(True, alpha=0.3)
    ax.set_title(title, fontsize=10)
    return fig


_ROWS = (("t80_s", "T80 (L0 = first value)", 3600, "h"),
         ("t50_s", "T50 (L0 = first value)", 3600, "h"),
         ("t80_from_max_s", "T80 (L0 = maximum)", 3600, "h"),
         ("t50_from_max_s", "T50 (L0 = maximum)", 3600, "h"),
         ("time_of_max_s", "Time of maximum PL", 3600, "h"),
         ("max_relative_intensity", "Maximum / first", 1, ""),
         ("final_relative_intensity", "Last / first", 1, ""),
         ("duration_s", "Record length", 3600, "h"),
         ("peak_initial_nm", "PL peak at start", 1, "nm"),
         ("peak_shift_nm", "Peak shift (last − first)", 1, "nm"),
         ("fwhm_initial_nm", "FWHM at start", 1, "nm"),
         ("fwhm_change_nm", "FWHM change (last − first)", 1, "nm"))


def write_run_report(run, out_dir, *, html_too: bool = True) -> Path:
    """Write the PL-stability page and figures of ``run``; return the Markdown path."""
    out, stem, page = run_page(run, out_dir, "pl_stability", "PL stability — {sample}")
    sample = (getattr(run, "attrs", {}) or {}).get("sample", "sample")
    a = analyze_run(run)
    ex = a["excitation"]
    page.para(f"Excitation (not controlled by the procedure): "
              f"{ex.get('excitation_wavelength_nm', '?')} nm, "
              f"{ex.get('excitation_power_density_mW_cm2', '?')} mW/cm², "
              f"{ex.get('atmosphere', '?')}, RH {ex.get('relative_humidity_percent', '?')} %, "
              f"{ex.get('temperature_K', '?')} K. Signal: {a['intensity']}; T_x by linear "
              "interpolation at the first crossing after the reference; NaN = not reached "
              "within the record.")
    page.table(["Quantity", "Value", "Unit"],
               [(label, fmt(a.get(k, math.nan) / scale if a.get(k) is not None else None,
                             ".4g"), unit) for k, label, scale, unit in _ROWS])
    t = a.get("truth")
    if t:
        page.truth_table([truth_row(label, t.get(k) / scale if t.get(k) else None,
                                    a.get(k, math.nan) / scale, unit,
                                    relative=t.get(f"{k}_relative_error", math.nan))
                          for k, label, scale, unit in _ROWS[:4]], "simulated film")
    page.heading("Figures")
    figs = [("decay", _plot(run, a, str(sample)),
             "PL vs exposure time, peak shift and FWHM change")]
    if run.spectra is not None and run.wavelength_nm is not None:
        figs.append(("spectra", _plot_spectra(run, str(sample)), "PL spectra over the exposure"))
    page.add_figures(out, stem, figs)
    page.run_details(run)
    return page.write(out, stem, html_too)
