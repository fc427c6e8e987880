"""Per-procedure plot presets: which live plots a window shows, with labels and units.

A window is built generically from a procedure class (its parameters become the inputs,
its ``DATA_COLUMNS`` the plottable columns); a :class:`Preset` only says which columns to
plot against which, on which axes, grouped by which column (one curve per channel or per
frequency), and which derived columns to compute per row (EQE for J-V-L). A procedure
without a preset gets one plot per measured column against the first column.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["PlotSpec", "Preset", "PRESETS", "preset_for", "jvl_eqe_deriver",
           "relative_to_first_deriver"]


@dataclass(frozen=True)
class PlotSpec:
    """One live plot.

    ``x``/``y`` are column names (data or derived); ``*_label`` include the units shown on
    the axis; ``group_by`` a column whose distinct values get one curve each (legend
    ``group_label.format(value)``); ``y_abs`` plots |y| (current density on a log axis).
    """
    title: str
    x: str
    y: str
    x_label: str
    y_label: str
    x_log: bool = False
    y_log: bool = False
    y_abs: bool = False
    group_by: str | None = None
    group_label: str = "{:g}"
    symbols: bool = True


@dataclass(frozen=True)
class Preset:
    plots: tuple[PlotSpec, ...]
    derivers: tuple[Callable, ...] = field(default=())
    #: Parameters shown as columns of the run browser.
    displays: tuple[str, ...] = ("sample", "pixel")


# -- derived columns ------------------------------------------------------------------------
def jvl_eqe_deriver(chunk: dict, data) -> dict:
    """EQE [%] per J-V-L point from its luminance, current density and EL spectrum.

    A point without its own spectrum (``spectrum_every`` > 1) uses the last spectrum
    measured before it; before the first one, EQE is NaN. Formula and Lambertian angular
    factor: :func:`analysis.photometry.eqe_percent` (Forrest, Bradley & Thompson, Adv.
    Mater. 15, 1043 (2003), doi:10.1002/adma.200302151).
    """
    from analysis.photometry import eqe_percent

    lum = chunk.get("luminance_cd_m2")
    j = chunk.get("current_density_mA_cm2")
    if lum is None or j is None:
        return {}
    n = len(j)
    eqe = np.full(n, np.nan)
    wl = data.wavelength_nm
    spectra = chunk.get("spectrum")
    last = data.state.get("last_spectrum")
    if wl is None:
        return {"eqe_percent": eqe}
    if spectra is None or spectra.shape[1] != len(wl):
        spectra = np.full((n, len(wl)), np.nan)
    have = np.isfinite(spectra).all(axis=1) & (np.nansum(spectra, axis=1) > 0)
    # forward fill: index of the latest row ≤ i with a spectrum (-1: use the carried one)
    src = np.where(have, np.arange(n), -1)
    src = np.maximum.accumulate(src)
    use = np.empty_like(spectra)
    use[src >= 0] = spectra[src[src >= 0]]
    if last is not None:
        use[src < 0] = last
    ok = (src >= 0) | (last is not None)
    ok &= np.isfinite(lum) & np.isfinite(j) & (j > 0)
    if ok.any():
        eqe[ok] = eqe_percent(lum[ok], j[ok], wl, use[ok])
    if have.any():
        data.state["last_spectrum"] = spectra[np.flatnonzero(have)[-1]].copy()
    return {"eqe_percent": eqe}


def relative_to_first_deriver(column: str, group: str | None = None) -> Callable:
    """Deriver of ``<column>_rel``: the column divided by its first finite value (per
    ``group`` value, e.g. per channel) — L/L0 of a lifetime test."""
    def derive(chunk: dict, data) -> dict:
        values = chunk.get(column)
        if values is None:
            return {}
        first = data.state.setdefault(f"first:{column}", {})
        keys = chunk.get(group) if group else np.zeros(len(values))
        keys = np.zeros(len(values)) if keys is None else keys
        rel = np.full(len(values), np.nan)
        for key in np.unique(keys[np.isfinite(keys)]):
            sel = keys == key
            v = values[sel]
            if key not in first:
                finite = v[np.isfinite(v) & (v != 0)]
                if finite.size == 0:
                    continue
                first[key] = float(finite[0])
            rel[sel] = v / first[key]
        return {f"{column}_rel": rel}
    return derive


# -- the presets --------------------------------------------------------------------------
_J_LABEL = "|J| (mA/cm²)"

PRESETS: dict[str, Preset] = {
    "jvl": Preset(plots=(
        PlotSpec("J-V", "voltage_V", "current_density_mA_cm2", "Voltage (V)", _J_LABEL,
                 y_log=True, y_abs=True),
        PlotSpec("L-V", "voltage_V", "luminance_cd_m2", "Voltage (V)", "Luminance (cd/m²)",
                 y_log=True),
        PlotSpec("EQE-J", "current_density_mA_cm2", "eqe_percent", "J (mA/cm²)", "EQE (%)",
                 x_log=True),
    ), derivers=(jvl_eqe_deriver,), displays=("sample", "pixel", "area_cm2")),
    "lifetime": Preset(plots=(
        PlotSpec("L/L0-t", "time_s", "relative_luminance_fraction", "Time (s)", "L/L0",
                 group_by="channel", group_label="ch {:g}", symbols=False),
        PlotSpec("V-t", "time_s", "voltage_V", "Time (s)", "Voltage (V)",
                 group_by="channel", group_label="ch {:g}", symbols=False),
    )),
    "dlcp": Preset(plots=(
        PlotSpec("C-δV", "delta_v_pp_V", "capacitance_F", "δV (V peak-to-peak)",
                 "Capacitance (F)", group_by="frequency_Hz", group_label="{:g} Hz"),
    )),
    "cv": Preset(plots=(
        PlotSpec("C-V", "bias_V", "capacitance_F", "Bias (V)", "Capacitance (F)",
                 group_by="frequency_Hz", group_label="{:g} Hz"),
    )),
    "sclc": Preset(plots=(
        PlotSpec("J-V", "voltage_V", "current_density_mA_cm2", "Voltage (V)", _J_LABEL,
                 x_log=False, y_log=True, y_abs=True),
    ), displays=("sample", "pixel", "device_type")),
}


def preset_for(cls, preset: Preset | None = None) -> Preset:
    """``preset`` (a kind's GUI preset) adapted to the columns of procedure class ``cls``.

    Plots whose columns the class does not record (and cannot derive) are dropped and a
    ``group_by`` column it lacks is ignored, so a preset written ahead of a procedure
    still gives a working window; with nothing left, every measured column is plotted
    against the first.
    """
    import dataclasses

    columns = list(getattr(cls, "DATA_COLUMNS", []))
    derived = {"eqe_percent"} | {f"{c}_rel" for c in columns}
    params = set(cls().parameter_objects())
    if preset is not None:
        plots = []
        for p in preset.plots:
            if {p.x, p.y} <= set(columns) | derived:
                if p.group_by is not None and p.group_by not in columns:
                    p = dataclasses.replace(p, group_by=None)
                plots.append(p)
        if plots:
            return dataclasses.replace(
                preset, plots=tuple(plots),
                displays=tuple(d for d in preset.displays if d in params))
    x = columns[0] if columns else "time_s"
    plots = tuple(PlotSpec(c, x, c, _axis_label(x), _axis_label(c), symbols=False)
                  for c in columns[1:4])
    return Preset(plots=plots, displays=tuple(d for d in ("sample", "pixel") if d in params))


def _axis_label(column: str, overrides=None) -> str:
    """``current_density_mA_cm2`` → ``current density (mA/cm^2)`` (generic plots only)."""
    from acquisition.store import UNIT_SUFFIXES, units_for_column

    try:
        units = units_for_column(column, overrides)
    except ValueError:
        return column.replace("_", " ")
    tokens = column.split("_")
    for k in range(min(4, len(tokens) - 1), 0, -1):
        if "_".join(tokens[-k:]) in UNIT_SUFFIXES:
            tokens = tokens[:-k]
            break
    words = " ".join(tokens)
    return f"{words} ({units})" if units not in ("", "1") else words


def group_text(spec: PlotSpec, value: float) -> str:
    try:
        return spec.group_label.format(value)
    except (ValueError, TypeError):
        return str(value) if not math.isnan(value) else "—"
