"""Batch comparison of J-V-L runs: per-pixel table and statistics over pixels per sample.

Input is a list of per-run summary dicts (``JVLSummary.to_dict()`` plus ``sample`` and
``pixel``); output is a pandas DataFrame in the layout of an LED paper's summary table
(Table S1 style: V_on, L_max, CE, EQE, PE, EL peak, CIE). Statistics follow the
reporting advice of Anaya et al. (2019): mean, sample standard deviation and the number
of pixels behind them, so a champion pixel is never presented as typical.

References
----------
.. [1] M. Anaya et al., "Best practices for measuring emerging light-emitting diode
   technologies", Nat. Photonics 13, 818 (2019). DOI: 10.1038/s41566-019-0543-y
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

#: Table S1 columns: summary key -> (column label, unit, decimals for display).
TABLE_S1_METRICS = {
    "turn_on_voltage_V": ("V_on", "V", 2),
    "max_luminance_cd_m2": ("L_max", "cd/m²", 0),
    "max_current_efficiency_cd_A": ("CE_max", "cd/A", 2),
    "max_eqe_percent": ("EQE_max", "%", 2),
    "max_power_efficiency_lm_W": ("PE_max", "lm/W", 2),
    "el_peak_nm": ("EL peak", "nm", 1),
    "el_fwhm_nm": ("FWHM", "nm", 1),
    "cie_x": ("CIE x", "", 4),
    "cie_y": ("CIE y", "", 4),
}


def _summary_dicts(summaries):
    out = []
    for i, s in enumerate(summaries):
        d = s.to_dict() if hasattr(s, "to_dict") else s
        if not isinstance(d, Mapping):
            raise ValueError(f"summaries[{i}] must be a dict or have to_dict(), got {type(s).__name__}")
        missing = [k for k in ("sample", "pixel") if k not in d]
        if missing:
            raise ValueError(f"summaries[{i}] lacks {missing}: each summary needs 'sample' and 'pixel'")
        out.append(d)
    return out


def _as_float(x):
    if x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def pixel_table(summaries: Iterable, metrics=tuple(TABLE_S1_METRICS)) -> pd.DataFrame:
    """One row per (sample, pixel): repeated runs of a pixel are averaged.

    Parameters
    ----------
    summaries : iterable of dict or JVLSummary-like
        Per-run summaries with ``sample`` and ``pixel`` keys and the metric keys
        (``None`` or missing values count as NaN).
    metrics : sequence of str
        Summary keys to keep, default :data:`TABLE_S1_METRICS`.

    Returns
    -------
    pandas.DataFrame
        Index (sample, pixel), one column per metric plus ``n_runs``.
    """
    dicts = _summary_dicts(summaries)
    if not dicts:
        raise ValueError("summaries is empty: give at least one run summary")
    rows = [{"sample": str(d["sample"]), "pixel": str(d["pixel"]),
             **{m: _as_float(d.get(m)) for m in metrics}} for d in dicts]
    df = pd.DataFrame(rows)
    grouped = df.groupby(["sample", "pixel"], sort=True)
    table = grouped[list(metrics)].mean()
    table["n_runs"] = grouped.size()
    return table


def compare_samples(summaries: Iterable, metrics=tuple(TABLE_S1_METRICS)) -> pd.DataFrame:
    """Statistics over pixels per sample: mean, sample standard deviation and n.

    Parameters
    ----------
    summaries : iterable of dict or JVLSummary-like
        Per-run summaries with ``sample`` and ``pixel`` keys.
    metrics : sequence of str
        Summary keys to compare, default :data:`TABLE_S1_METRICS`.

    Returns
    -------
    pandas.DataFrame
        Index ``sample``; columns a MultiIndex (metric, stat) with stat in
        ``mean``, ``sd`` (ddof = 1, NaN for a single pixel), ``n`` (pixels with a finite
        value), ``best`` (maximum, or minimum for the turn-on voltage); plus ``("n_pixels", "")``.

    References
    ----------
    .. [1] Anaya et al., Nat. Photonics 13, 818 (2019). DOI: 10.1038/s41566-019-0543-y
    """
    px = pixel_table(summaries, metrics)
    grouped = px.groupby(level="sample", sort=True)
    parts = {}
    for m in metrics:
        g = grouped[m]
        best = g.min() if m == "turn_on_voltage_V" else g.max()
        parts[m] = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.count(),
                                 "best": best})
    out = pd.concat(parts, axis=1)
    out[("n_pixels", "")] = grouped.size()
    return out


def format_table_s1(stats: pd.DataFrame, metrics=None) -> pd.DataFrame:
    """Display table "mean ± sd (n)" per sample with units in the column labels.

    Parameters
    ----------
    stats : pandas.DataFrame
        Output of :func:`compare_samples`.
    metrics : sequence of str, optional
        Metrics to show, default those of :data:`TABLE_S1_METRICS` present in ``stats``.

    Returns
    -------
    pandas.DataFrame of str
        Index ``sample``; columns like ``"EQE_max (%)"``.
    """
    if metrics is None:
        metrics = [m for m in TABLE_S1_METRICS if m in stats.columns.get_level_values(0)]
    cols = {}
    for m in metrics:
        label, unit, dec = TABLE_S1_METRICS.get(m, (m, "", 3))
        name = f"{label} ({unit})" if unit else label
        cells = []
        for sample in stats.index:
            mean, sd, n = (stats.loc[sample, (m, k)] for k in ("mean", "sd", "n"))
            if n == 0 or not np.isfinite(mean):
                cells.append("–")
            elif n == 1 or not np.isfinite(sd):
                cells.append(f"{mean:.{dec}f} (n=1)")
            else:
                cells.append(f"{mean:.{dec}f} ± {sd:.{dec}f} (n={int(n)})")
        cols[name] = cells
    return pd.DataFrame(cols, index=stats.index)
