"""Readable reports of J-V-L runs and batches: a Markdown (and HTML) page with PNG figures.

Input is a loaded run as :func:`acquisition.store.load_run` returns it, used by duck
typing: ``attrs`` (dict), ``parameters`` (name → value, ``(value, units)`` or
``{"value", "units"}``), ``data`` (DataFrame with ``voltage_V``, ``current_density_mA_cm2``
or ``current_A`` + parameter ``area_cm2``, ``luminance_cd_m2``, optional ``direction``),
``spectra`` / ``wavelength_nm`` (or None), ``events`` (DataFrame), ``truth`` (dict or
None) and optionally ``path``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from reports import figures
from analysis.compare import TABLE_S1_METRICS, compare_samples, format_table_s1, pixel_table
from analysis.jvl import JVLCurves, JVLSummary, jvl_curves, summarize_jvl

from .dark_current import corrected_luminance, dark_paragraph, dark_summary
from .page import (flatten_tree, fmt, run_label, Page, param_value, report_folder,
                   run_stem, truth_row)

#: Rows of the figures-of-merit table: summary key → (label, unit, format).
SUMMARY_ROWS = {
    "turn_on_voltage_V": ("Turn-on voltage (at threshold)", "V", ".3f"),
    "turn_on_threshold_cd_m2": ("Turn-on threshold", "cd/m²", "g"),
    "max_luminance_cd_m2": ("Maximum luminance", "cd/m²", ".4g"),
    "voltage_at_max_luminance_V": ("… at voltage", "V", ".3f"),
    "max_current_efficiency_cd_A": ("Maximum current efficiency", "cd/A", ".4g"),
    "max_power_efficiency_lm_W": ("Maximum power efficiency (Lambertian)", "lm/W", ".4g"),
    "max_eqe_percent": ("Maximum EQE (Lambertian)", "%", ".4g"),
    "voltage_at_max_eqe_V": ("… at voltage", "V", ".3f"),
    "current_density_at_max_eqe_mA_cm2": ("… at current density", "mA/cm²", ".4g"),
    "luminance_at_max_eqe_cd_m2": ("… at luminance", "cd/m²", ".4g"),
    "eqe_at_100_cd_m2_percent": ("EQE at 100 cd/m²", "%", ".4g"),
    "eqe_at_1000_cd_m2_percent": ("EQE at 1000 cd/m²", "%", ".4g"),
    "rolloff_current_density_mA_cm2": ("Roll-off J (EQE = max/2)", "mA/cm²", ".4g"),
    "el_peak_nm": ("EL peak (at max EQE)", "nm", ".2f"),
    "el_fwhm_nm": ("EL FWHM", "nm", ".2f"),
    "el_fwhm_meV": ("EL FWHM", "meV", ".1f"),
    "el_peak_shift_nm": ("EL peak shift over the forward sweep", "nm", ".2f"),
    "cie_x": ("CIE 1931 x", "", ".4f"),
    "cie_y": ("CIE 1931 y", "", ".4f"),
    "dominant_wavelength_nm": ("Dominant wavelength", "nm", ".1f"),
    "hysteresis_turn_on_difference_V": ("Hysteresis: V_on(reverse) − V_on(forward)", "V", ".3f"),
    "hysteresis_max_relative_current_density_difference": (
        "Hysteresis: max |ΔJ|/J at equal V", "fraction", ".3g"),
    "hysteresis_max_relative_luminance_difference": (
        "Hysteresis: max |ΔL|/L at equal V", "fraction", ".3g"),
}

#: Keys a truth dict may use for summary quantities (besides the summary's own names).
TRUTH_ALIASES = {
    "eqe_max_percent": "max_eqe_percent",
    "peak_eqe_percent": "max_eqe_percent",
    "ce_max_cd_A": "max_current_efficiency_cd_A",
    "power_efficiency_max_lm_W": "max_power_efficiency_lm_W",
    "current_efficiency_max_cd_A": "max_current_efficiency_cd_A",
    "pe_max_lm_W": "max_power_efficiency_lm_W",
    "v_on_V": "turn_on_voltage_V",
    "peak_wavelength_nm": "el_peak_nm",
    "emission_peak_nm": "el_peak_nm",
    "fwhm_nm": "el_fwhm_nm",
}

_REQUIRED = ("voltage_V", "luminance_cd_m2")


def is_jvl_run(run) -> bool:
    """True when the run's data hold a voltage and a luminance column."""
    data = getattr(run, "data", None)
    return data is not None and all(c in data.columns for c in _REQUIRED)


def _sweep_arrays(run):
    data = run.data
    if not is_jvl_run(run):
        raise ValueError(f"run has no J-V-L data: columns {list(data.columns)} lack {_REQUIRED}")
    if "current_density_mA_cm2" in data.columns:
        j = data["current_density_mA_cm2"].to_numpy(float)
    elif "current_A" in data.columns and "area_cm2" in (run.parameters or {}):
        area = float(param_value(run.parameters["area_cm2"]))
        j = data["current_A"].to_numpy(float) * 1e3 / area
    else:
        raise ValueError("run has neither current_density_mA_cm2 nor current_A with area_cm2")
    direction = data["direction"].to_numpy(float) if "direction" in data.columns else None
    spectra = getattr(run, "spectra", None)
    wl = getattr(run, "wavelength_nm", None)
    reference = None
    if spectra is None or wl is None or np.size(spectra) == 0:
        spectra = wl = None
        ref = _reference_spectrum(run)
        if ref is not None:
            wl, reference = ref
    return dict(voltage_V=data["voltage_V"].to_numpy(float), current_density_mA_cm2=j,
                luminance_cd_m2=corrected_luminance(run),     # dark current interpolated
                direction=direction, spectra=spectra, wavelength_nm=wl,
                reference_spectrum=reference)


def _reference_spectrum(run):
    """The EL spectrum a photodiode-route sweep converted its photocurrent with (stored in
    the station record by the J-V-L procedure), as ``(wavelength_nm, spectrum)`` or None."""
    station = (getattr(run, "attrs", {}) or {}).get("station")
    if isinstance(station, str):
        try:
            station = json.loads(station)
        except ValueError:
            return None
    ref = ((station or {}).get("sweep") or {}).get("reference_spectrum")
    if not isinstance(ref, Mapping) or "wavelength_nm" not in ref:
        return None
    return np.asarray(ref["wavelength_nm"], float), np.asarray(ref["spectrum"], float)


def run_curves(run, **kwargs) -> JVLCurves:
    """Per-point efficiencies of a loaded run (kwargs as in :func:`analysis.jvl.jvl_curves`)."""
    a = _sweep_arrays(run)
    return jvl_curves(a["voltage_V"], a["current_density_mA_cm2"], a["luminance_cd_m2"],
                      wavelength_nm=a["wavelength_nm"], spectra=a["spectra"],
                      reference_spectrum=a["reference_spectrum"],   # photodiode route's EQE
                      direction=a["direction"], **kwargs)


def run_summary(run, **kwargs) -> JVLSummary:
    """:func:`analysis.jvl.summarize_jvl` of a loaded run."""
    a = _sweep_arrays(run)
    return summarize_jvl(a.pop("voltage_V"), a.pop("current_density_mA_cm2"),
                         a.pop("luminance_cd_m2"), **a, **kwargs)


def _stem(run):
    return run_stem(run, "jvl")


# ------------------------------------------------------------------ truth
def truth_rows(summary: Mapping, truth: Mapping | None, pixel: str | None = None):
    """(label, truth, measured, unit, relative error) for summary keys present in ``truth``.

    A truth key matches when its last dotted component is a summary key or one of
    :data:`TRUTH_ALIASES`; when several match (e.g. one per pixel), the one whose path
    contains ``pixel`` wins.
    """
    if not truth:
        return []
    found = {}
    for path, value in flatten_tree(truth):
        leaf = path.rsplit(".", 1)[-1]
        key = TRUTH_ALIASES.get(leaf, leaf)
        if key not in SUMMARY_ROWS or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        on_pixel = pixel is not None and pixel in path.split(".")
        if key not in found or (on_pixel and not found[key][1]):
            found[key] = (float(value), on_pixel)
    rows = []
    for key in SUMMARY_ROWS:
        if key in found:
            label, unit, spec = SUMMARY_ROWS[key]
            m = summary.get(key)
            rows.append(truth_row(label, found[key][0], math.nan if m is None else float(m),
                                  unit, spec))
    return rows


# ------------------------------------------------------------------ reports
def write_run_report(run, out_dir, *, html_too: bool = True, **summary_kwargs) -> Path:
    """Write one run's report page and figures into ``out_dir``; return the Markdown path.

    Parameters
    ----------
    run : Run-like
        A loaded run (see the module docstring).
    out_dir : str or Path
        Folder for ``<stem>.md`` (and ``.html``) and ``<stem>_*.png``; created if needed.
    html_too : bool, default True
        Also write a standalone HTML page.
    **summary_kwargs
        Passed to :func:`analysis.jvl.summarize_jvl` (e.g. ``turn_on_threshold_cd_m2``).
    """
    out = report_folder(out_dir)
    stem = _stem(run)
    sample, pixel = run_label(run)
    attrs = getattr(run, "attrs", {}) or {}
    page = Page.for_run(run, f"{attrs.get('procedure', 'Run')} — {sample} / {pixel}")
    if not is_jvl_run(run):
        page.para("This run holds no J-V-L data (no voltage and luminance columns); "
                  "only its metadata are reported.")
        page.run_details(run)
        return page.write(out, stem, html_too)

    s = run_summary(run, **summary_kwargs)
    d = s.to_dict()
    c = run_curves(run, luminance_noise_floor_cd_m2=s.luminance_noise_floor_cd_m2,
                   angular_factor=s.angular_factor_sr)
    page.heading("Figures of merit")
    page.table(["Quantity", "Value", "Unit"],
               [(label, fmt(d.get(k), spec), unit) for k, (label, unit, spec) in SUMMARY_ROWS.items()])
    page.para(
        f"Method: EQE and power efficiency assume Lambertian emission (angular factor "
        f"{s.angular_factor_sr:.4g} sr); photopic V(λ) is CIE 1924, chromaticity CIE 1931 2°. "
        f"EQE spectrum: {s.eqe_spectrum_source} ({s.n_spectra_measured} spectra measured over "
        f"{s.n_points} points). Efficiency maxima exclude points below the luminance noise floor "
        f"of {s.luminance_noise_floor_cd_m2:g} cd/m²; turn-on, maxima and roll-off are from the "
        f"forward sweep. Dominant wavelength relative to illuminant "
        f"{s.dominant_wavelength_white_point}.")
    dark = dark_paragraph(dark_summary(run))
    if dark:
        page.para(dark)
    page.truth_table(truth_rows(d, getattr(run, "truth", None), pixel))

    page.heading("Figures")
    title = f"{sample} / {pixel}"
    figs = [("jvl", figures.plot_jvl(c, title), "J-V-L, both sweep directions"),
            ("efficiency", figures.plot_efficiency(c, title), "Current efficiency and EQE vs J")]
    a = _sweep_arrays(run)
    if a["spectra"] is not None:
        keep = np.isfinite(a["voltage_V"]) & np.isfinite(a["current_density_mA_cm2"]) & \
            np.isfinite(a["luminance_cd_m2"])
        sp = np.asarray(a["spectra"], float)[keep]
        figs.append(("el_spectra", figures.plot_el_spectra(
            a["wavelength_nm"], sp, c.voltage_V, mask=(c.direction > 0) & c.above_noise_floor,
            title=f"{title}: forward sweep, above noise floor"), "EL spectra vs voltage"))
    figs.append(("cie", figures.plot_cie1931([(s.cie_x, s.cie_y, f"{sample} / {pixel}")],
                                             title="CIE 1931 at max EQE"), "CIE 1931 chromaticity"))
    page.add_figures(out, stem, figs)
    page.run_details(run)
    return page.write(out, stem, html_too)


def write_batch_report(runs_or_summaries: Iterable, out_dir, *, html_too: bool = True,
                       per_run_reports: bool = True, run_pages: Mapping | None = None,
                       **summary_kwargs) -> Path:
    """Write a batch comparison page (Table S1 style, statistics over pixels) with figures.

    Parameters
    ----------
    runs_or_summaries : iterable
        Loaded runs (non-J-V-L runs are listed and skipped) and/or summary dicts /
        ``JVLSummary``-likes carrying ``sample`` and ``pixel``.
    out_dir : str or Path
        Folder for ``batch_report.md`` (and ``.html``), figures and, with
        ``per_run_reports``, one report per run under ``runs/``.
    html_too : bool, default True
        Also write standalone HTML pages.
    per_run_reports : bool, default True
        Also write each run's own report.
    run_pages : mapping, optional
        Run stem → path of a run report already written (e.g. in parallel); linked
        instead of writing the run's report again.
    **summary_kwargs
        Passed to :func:`analysis.jvl.summarize_jvl`.

    Returns
    -------
    pathlib.Path
        Path of ``batch_report.md``.
    """
    out = report_folder(out_dir)
    summaries, curves, links, skipped = [], [], [], []
    for item in runs_or_summaries:
        if hasattr(item, "data"):
            sample, pixel = run_label(item)
            if not is_jvl_run(item):
                skipped.append((_stem(item), (getattr(item, "attrs", {}) or {}).get("procedure", "?")))
                continue
            s = run_summary(item, **summary_kwargs)
            summaries.append({**s.to_dict(), "sample": sample, "pixel": pixel})
            curves.append((sample, pixel, run_curves(
                item, luminance_noise_floor_cd_m2=s.luminance_noise_floor_cd_m2,
                angular_factor=s.angular_factor_sr)))
            link = ""
            if run_pages is not None and _stem(item) in run_pages:
                md = Path(run_pages[_stem(item)])
                link = f"[{md.stem}]({md.relative_to(out).as_posix()})"
            elif per_run_reports:
                md = write_run_report(item, out / "runs", html_too=html_too, **summary_kwargs)
                link = f"[{md.stem}]({md.relative_to(out).as_posix()})"
            links.append(link)
        else:
            d = item.to_dict() if hasattr(item, "to_dict") else dict(item)
            summaries.append(d)
            links.append("")
    if not summaries:
        raise ValueError("runs_or_summaries holds no J-V-L run or summary")

    stats = compare_samples(summaries)
    px = pixel_table(summaries)
    page = Page("J-V-L batch comparison")
    page.para(f"{len(summaries)} runs, {len(px)} pixels, {len(stats)} samples. Values are "
              "mean ± sample standard deviation over pixels (repeated runs of one pixel are "
              "averaged first); n counts pixels with a determined value.")
    page.heading("Summary (Table S1 style)")
    table = format_table_s1(stats)
    page.table(["Sample", *table.columns], [(i, *r) for i, r in zip(table.index, table.to_numpy())])
    page.heading("Best pixel per sample")
    page.table(["Sample", *[_col(m) for m in TABLE_S1_METRICS]],
               [(smp, *[fmt(stats.loc[smp, (m, "best")], "." + str(TABLE_S1_METRICS[m][2]) + "f")
                        for m in TABLE_S1_METRICS]) for smp in stats.index])
    page.heading("Runs")
    page.table(["Sample", "Pixel", *[_col(m) for m in TABLE_S1_METRICS], "Report"],
               [(d["sample"], d["pixel"],
                 *[fmt(_num(d.get(m)), "." + str(TABLE_S1_METRICS[m][2]) + "f")
                   for m in TABLE_S1_METRICS], link) for d, link in zip(summaries, links)])
    if skipped:
        page.para("Not J-V-L runs (not compared): " +
                  ", ".join(f"{name} ({proc})" for name, proc in skipped) + ".")

    page.heading("Figures")
    # sorted by sample so each sample keeps its colour across the batch figures
    cie_points = sorted(((_num(d.get("cie_x")), _num(d.get("cie_y")), str(d["sample"]))
                         for d in summaries), key=lambda p: p[2])
    figs = [("batch_metrics", figures.plot_batch_metrics(px), "Figures of merit per pixel"),
            ("batch_cie", figures.plot_cie1931(cie_points, title="CIE 1931 at max EQE, all pixels"),
             "CIE 1931 chromaticity of all pixels")]
    if curves:
        figs.insert(0, ("batch_curves", figures.plot_batch_curves(curves), "L-V and EQE-J overlays"))
    page.add_figures(out, None, figs)
    return page.write(out, "batch_report", html_too)


def _col(metric):
    label, unit, _ = TABLE_S1_METRICS[metric]
    return f"{label} ({unit})" if unit else label


def _num(x):
    try:
        return math.nan if x is None else float(x)
    except (TypeError, ValueError):
        return math.nan


def analyze_jvl_run(run, **summary_kwargs) -> dict:
    """``qled analyze`` of a J-V-L run: :func:`run_summary` as a JSON-able dict, with the
    photodiode dark-current figures (:func:`reports.dark_current.dark_summary`)."""
    return {**run_summary(run, **summary_kwargs).to_dict(), **dark_summary(run)}
