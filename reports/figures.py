"""Publication-style figures of J-V-L runs and batches (matplotlib, no display needed).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so no
global backend or GUI state is touched and figures are freed with their last reference.
Axes carry units; current density and luminance are on log axes; forward sweeps are solid
lines, reverse sweeps dashed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib import cm, colors

from analysis.jvl import JVLCurves

FORWARD_STYLE = dict(linestyle="-", marker="o", markersize=3)
REVERSE_STYLE = dict(linestyle="--", marker="s", markersize=3, markerfacecolor="none")
J_COLOUR = "#1f3b73"
L_COLOUR = "#2e8b3a"


def save_png(fig: Figure, path, dpi: int = 150) -> Path:
    """Write ``fig`` as PNG and return the path."""
    path = Path(path)
    # constrained layout already fits labels; bbox_inches="tight" would draw everything twice
    fig.savefig(path, dpi=dpi, format="png")
    return path


def _branches(direction):
    d = np.asarray(direction)
    for mask, style, name in ((d > 0, FORWARD_STYLE, "forward"), (d < 0, REVERSE_STYLE, "reverse")):
        if mask.any():
            yield mask, style, name


def _positive(y):
    y = np.asarray(y, dtype=float)
    return np.where(y > 0, y, np.nan)


def plot_jvl(curves: JVLCurves, title: str | None = None) -> Figure:
    """J-V (left, log) and L-V (right, log) of both sweep directions."""
    fig = Figure(figsize=(6.0, 4.2), layout="constrained")
    ax_j = fig.add_subplot()
    ax_l = ax_j.twinx()
    handles = []
    for mask, style, name in _branches(curves.direction):
        v = curves.voltage_V[mask]
        handles += ax_j.plot(v, _positive(curves.current_density_mA_cm2[mask]), color=J_COLOUR,
                             label=f"J, {name}", **style)
        handles += ax_l.plot(v, _positive(curves.luminance_cd_m2[mask]), color=L_COLOUR,
                             label=f"L, {name}", **style)
    ax_j.set_yscale("log")
    ax_l.set_yscale("log")
    ax_j.set_xlabel("Voltage (V)")
    ax_j.set_ylabel("Current density (mA cm$^{-2}$)", color=J_COLOUR)
    ax_l.set_ylabel("Luminance (cd m$^{-2}$)", color=L_COLOUR)
    ax_j.tick_params(axis="y", colors=J_COLOUR)
    ax_l.tick_params(axis="y", colors=L_COLOUR)
    ax_j.grid(True, which="major", alpha=0.3)
    ax_j.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
    if title:
        ax_j.set_title(title, fontsize=10)
    return fig


def plot_efficiency(curves: JVLCurves, title: str | None = None) -> Figure:
    """(a) current efficiency and (b) EQE vs current density, points above the noise floor."""
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax_ce, ax_eqe = fig.subplots(1, 2)
    for mask, style, name in _branches(curves.direction):
        m = mask & curves.above_noise_floor & (curves.current_density_mA_cm2 > 0)
        j = curves.current_density_mA_cm2[m]
        ax_ce.plot(j, curves.current_efficiency_cd_A[m], color="k", label=name, **style)
        if np.isfinite(curves.eqe_percent[m]).any():
            ax_eqe.plot(j, curves.eqe_percent[m], color="#b03a2e", label=name, **style)
    ax_ce.set_ylabel("Current efficiency (cd A$^{-1}$)")
    ax_eqe.set_ylabel("EQE (%)")
    for ax, tag in ((ax_ce, "(a)"), (ax_eqe, "(b)")):
        ax.set_xscale("log")
        ax.set_xlabel("Current density (mA cm$^{-2}$)")
        ax.set_ylim(bottom=0)
        ax.grid(True, which="major", alpha=0.3)
        ax.text(0.02, 0.96, tag, transform=ax.transAxes, va="top", fontweight="bold")
        if ax.lines:
            ax.legend(loc="upper right", fontsize=8, frameon=False)
    if not np.isfinite(curves.eqe_percent).any():
        ax_eqe.text(0.5, 0.5, "no EL spectrum: EQE not determined", transform=ax_eqe.transAxes,
                    ha="center", va="center", color="0.4")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_el_spectra(wavelength_nm, spectra, voltage_V, *, mask=None,
                    title: str | None = None) -> Figure:
    """Peak-normalised EL spectra coloured by drive voltage.

    ``mask`` selects rows (e.g. forward sweep, measured, above the noise floor); rows of NaN
    are skipped.
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    sp = np.asarray(spectra, dtype=float)
    v = np.asarray(voltage_V, dtype=float)
    rows = np.all(np.isfinite(sp), axis=1)
    if mask is not None:
        rows &= np.asarray(mask, bool)
    idx = np.flatnonzero(rows)
    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    if idx.size:
        norm = colors.Normalize(vmin=v[idx].min(), vmax=max(v[idx].max(), v[idx].min() + 1e-9))
        cmap = cm.viridis
        for i in idx:
            peak = np.max(sp[i])
            if peak > 0:
                ax.plot(wl, sp[i] / peak, color=cmap(norm(v[i])), linewidth=1.0)
        fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="Voltage (V)")
        core = wl[np.any(sp[idx] > 0.02 * np.max(sp[idx], axis=1, keepdims=True), axis=0)]
        if core.size:
            pad = max(10.0, 0.3 * (core[-1] - core[0]))
            ax.set_xlim(max(wl[0], core[0] - pad), min(wl[-1], core[-1] + pad))
    else:
        ax.text(0.5, 0.5, "no EL spectra recorded", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlabel("Wavelength (nm)")
    ax.set_ylabel("Normalised EL intensity (a.u.)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_cie1931(points, title: str | None = None) -> Figure:
    """CIE 1931 chromaticity diagram (colour-science) with labelled (x, y) points.

    ``points`` is a sequence of ``(x, y, label)``; NaN points are skipped.
    """
    import colour.plotting  # heavy import (~2 s), only when a diagram is drawn

    fig = Figure(figsize=(5.2, 5.2), layout="constrained")
    ax = fig.add_subplot()
    colour.plotting.plot_chromaticity_diagram_CIE1931(axes=ax, show=False, title=None)
    markers = "*DPX^sv"  # unlike the round wavelength ticks on the locus
    seen = {}
    for x, y, label in points:
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        first = label not in seen
        k = seen.setdefault(label, len(seen))
        marker = markers[k % len(markers)]
        ax.plot(x, y, linestyle="none", marker=marker, markersize=14 if marker == "*" else 10,
                markeredgecolor="white", markeredgewidth=0.8, markerfacecolor=f"C{k}",
                label=label if first else None, zorder=10)
    ax.set_xlim(-0.1, 0.8)
    ax.set_ylim(-0.05, 0.9)
    ax.set_xlabel("CIE x")
    ax.set_ylabel("CIE y")
    ax.set_aspect("equal")
    if seen:
        ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_batch_metrics(pixel_table, metrics=None) -> Figure:
    """Per-pixel values of the main figures of merit, grouped by sample, with mean ± sd.

    ``pixel_table`` is :func:`analysis.compare.pixel_table` output (index sample, pixel).
    """
    from analysis.compare import TABLE_S1_METRICS

    metrics = metrics or ["max_eqe_percent", "max_current_efficiency_cd_A",
                          "max_luminance_cd_m2", "turn_on_voltage_V"]
    samples = list(dict.fromkeys(pixel_table.index.get_level_values("sample")))
    fig = Figure(figsize=(3.0 * len(metrics), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    rng = np.random.default_rng(0)  # fixed jitter: reproducible figures
    for ax, m in zip(axes, metrics):
        label, unit, _ = TABLE_S1_METRICS.get(m, (m, "", 2))
        for k, s in enumerate(samples):
            vals = pixel_table.xs(s, level="sample")[m].to_numpy(dtype=float)
            vals = vals[np.isfinite(vals)]
            if vals.size:
                ax.plot(k + rng.uniform(-0.12, 0.12, vals.size), vals, "o", color=f"C{k}",
                        alpha=0.8, markersize=5)
                sd = vals.std(ddof=1) if vals.size > 1 else 0.0
                ax.errorbar(k + 0.3, vals.mean(), yerr=sd, fmt="_", color="k", capsize=4,
                            markersize=12)
        ax.set_xticks(range(len(samples)), samples, rotation=20, ha="right")
        ax.set_xlim(-0.6, len(samples) - 0.4)
        ax.set_ylabel(f"{label} ({unit})" if unit else label)
        if m == "max_luminance_cd_m2":
            ax.set_yscale("log")
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle("Pixels (dots) and mean ± sd (bars) per sample", fontsize=10)
    return fig


def plot_batch_curves(labelled_curves) -> Figure:
    """(a) J-V-L and (b) EQE-J of many runs, forward sweeps, coloured by sample.

    ``labelled_curves`` is a sequence of ``(sample, pixel, JVLCurves)``.
    """
    fig = Figure(figsize=(10.0, 4.0), layout="constrained")
    ax_l, ax_eqe = fig.subplots(1, 2)
    samples = sorted(dict.fromkeys(s for s, _, _ in labelled_curves))  # same order as the metrics
    labelled = set()
    for sample, _pixel, c in labelled_curves:
        k = samples.index(sample)
        fwd = c.direction > 0
        lab = sample if sample not in labelled else None
        labelled.add(sample)
        ax_l.plot(c.voltage_V[fwd], _positive(c.luminance_cd_m2[fwd]), color=f"C{k}", label=lab,
                  linewidth=1.2)
        m = fwd & c.above_noise_floor
        ax_eqe.plot(c.current_density_mA_cm2[m], c.eqe_percent[m], color=f"C{k}", label=lab,
                    linewidth=1.2)
    ax_l.set_yscale("log")
    ax_l.set_xlabel("Voltage (V)")
    ax_l.set_ylabel("Luminance (cd m$^{-2}$)")
    ax_eqe.set_xscale("log")
    ax_eqe.set_xlabel("Current density (mA cm$^{-2}$)")
    ax_eqe.set_ylabel("EQE (%)")
    ax_eqe.set_ylim(bottom=0)
    for ax, tag in ((ax_l, "(a)"), (ax_eqe, "(b)")):
        ax.grid(True, alpha=0.3)
        ax.text(0.02, 0.96, tag, transform=ax.transAxes, va="top", fontweight="bold")
        ax.legend(loc="lower right" if ax is ax_l else "upper right", fontsize=8, frameon=False)
    fig.suptitle("Forward sweeps, one line per pixel", fontsize=10)
    return fig
