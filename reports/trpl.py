"""The page of one PL-decay fit: decay, fitted model, IRF and weighted residuals."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from . import figures
from .page import Page, report_folder

__all__ = ["plot_decay_fit", "write_trpl_report"]


def plot_decay_fit(fit, irf=None, title: str | None = None) -> Figure:
    """Counts (log) with the fitted model and the scaled IRF; Pearson residuals below."""
    fig = Figure(figsize=(6.0, 5.0), layout="constrained")
    ax, ax_r = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    t = fit.time_ns
    ax.plot(t, np.where(fit.counts > 0, fit.counts, np.nan), ".", ms=2, color="0.55",
            label="counts")
    if irf is not None:
        scale = np.max(fit.counts) / max(np.max(irf), 1e-12)
        ax.plot(t, np.where(irf > 0, irf * scale, np.nan), color="#7d3c98", lw=0.8,
                label="IRF (scaled)")
    ax.plot(t[fit.fitted], fit.model[fit.fitted], color=figures.J_COLOUR, lw=1.3,
            label=f"{fit.n_components}-exp. {fit.method} fit")
    ax.set_yscale("log")
    ax.set_ylim(bottom=max(0.5, 0.5 * np.min(fit.counts[fit.counts > 0])))
    ax.set_ylabel("Counts")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(True, alpha=0.3)
    ax_r.plot(t, fit.weighted_residuals, lw=0.6, color=figures.J_COLOUR)
    ax_r.axhline(0, color="0.4", lw=0.8)
    ax_r.set_ylabel("(y − m)/√m")
    ax_r.set_xlabel("Time (ns)")
    ax_r.grid(True, alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def write_trpl_report(fit, out_dir, stem: str, *, source: str = "", irf_name=None,
                      irf=None) -> Path:
    """Markdown page + PNG of one decay fit in ``out_dir``; returns the Markdown path."""
    out = report_folder(out_dir)
    page = Page(f"PL decay — {source or stem}")
    page.para(f"Fit: {fit.n_components} exponential(s) + background, {fit.method}"
              + (f" with IRF {irf_name} (fitted shift {fit.shift_ns:.4g} ± "
                 f"{fit.shift_err_ns:.2g} ns)" if irf_name else
                 " from the channel after the peak (t = 0 at the peak)")
              + f", Poisson maximum likelihood over {fit.fit_range_ns[0]:.4g}–"
              f"{fit.fit_range_ns[1]:.4g} ns ({fit.n_points} channels); reduced χ² "
              f"{fit.reduced_chi2:.3f}. Uncertainties are 1σ from the Fisher information.")
    rows = [(f"τ_{i}", f"{t:.4g} ± {e:.2g}", f"{a:.4g} ± {ae:.2g}", f"{f:.3f}", f"{al:.3f}")
            for i, (t, e, a, ae, f, al) in enumerate(zip(
                fit.taus_ns, fit.taus_err_ns, fit.amplitudes, fit.amplitudes_err,
                fit.intensity_fractions, fit.amplitude_fractions), start=1)]
    page.table(["Component", "τ (ns)", "A (counts/channel)", "f = Aτ/ΣAτ", "α = A/ΣA"], rows)
    page.table(["Average lifetime", "Value (ns)", "Definition"], [
        ("τ_amp", f"{fit.tau_amp_ns:.4g} ± {fit.tau_amp_err_ns:.2g}", "ΣA_iτ_i / ΣA_i"),
        ("τ_int", f"{fit.tau_int_ns:.4g} ± {fit.tau_int_err_ns:.2g}", "ΣA_iτ_i² / ΣA_iτ_i")])
    page.para(f"Background {fit.background:.4g} ± {fit.background_err:.2g} counts/channel. "
              "τ_amp and τ_int differ for a multi-exponential decay: state which one is "
              "quoted (Lakowicz, Principles of Fluorescence Spectroscopy, ch. 4).")
    page.add_figures(out, stem, [("decay", plot_decay_fit(fit, irf, source or stem),
                                  "PL decay, fit and residuals")])
    return page.write(out, stem, html_too=False)
