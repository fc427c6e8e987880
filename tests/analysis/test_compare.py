"""Batch comparison: statistics over pixels checked against the statistics module."""

import math
import statistics

import numpy as np
import pytest

from analysis.compare import compare_samples, format_table_s1, pixel_table


def run(sample, pixel, eqe, v_on, ce=None):
    return {"sample": sample, "pixel": pixel, "max_eqe_percent": eqe, "turn_on_voltage_V": v_on,
            "max_current_efficiency_cd_A": ce, "cie_x": 0.1, "cie_y": 0.75}


RUNS = [
    run("pristine", "A1", 2.5, 2.90, 8.0),
    run("pristine", "A2", 2.9, 2.85, 9.5),
    run("pristine", "A3", 3.1, 2.80, 10.1),
    run("passivated", "B1", 8.1, 2.80, 22.0),
    run("passivated", "B2", 9.3, 2.75, 25.1),
    run("passivated", "B2", 9.7, 2.77, 25.5),  # repeated run of one pixel
    run("passivated", "B3", None, 2.85, None),  # EQE not determined (no spectrum)
]


def test_mean_sd_n_over_pixels_with_repeats_averaged_first():
    stats = compare_samples(RUNS)
    p = stats.loc["pristine"]
    assert p[("max_eqe_percent", "mean")] == pytest.approx(statistics.mean([2.5, 2.9, 3.1]))
    assert p[("max_eqe_percent", "sd")] == pytest.approx(statistics.stdev([2.5, 2.9, 3.1]))
    assert p[("max_eqe_percent", "n")] == 3 and p[("n_pixels", "")] == 3
    b = stats.loc["passivated"]
    eqe_pixels = [8.1, (9.3 + 9.7) / 2]  # B2 averaged, B3 missing
    assert b[("max_eqe_percent", "mean")] == pytest.approx(statistics.mean(eqe_pixels))
    assert b[("max_eqe_percent", "sd")] == pytest.approx(statistics.stdev(eqe_pixels))
    assert b[("max_eqe_percent", "n")] == 2 and b[("n_pixels", "")] == 3
    assert b[("turn_on_voltage_V", "best")] == pytest.approx(2.76)  # lowest V_on is best
    assert b[("max_eqe_percent", "best")] == pytest.approx(9.5)


def test_pixel_table_counts_runs():
    px = pixel_table(RUNS)
    assert px.loc[("passivated", "B2"), "n_runs"] == 2
    assert math.isnan(px.loc[("passivated", "B3"), "max_eqe_percent"])


def test_single_pixel_has_nan_sd_and_display_table():
    stats = compare_samples(RUNS + [run("control", "C1", 1.0, 3.1, 3.0)])
    assert math.isnan(stats.loc["control", ("max_eqe_percent", "sd")])
    table = format_table_s1(stats)
    assert table.loc["pristine", "EQE_max (%)"] == "2.83 ± 0.31 (n=3)"
    assert table.loc["control", "EQE_max (%)"] == "1.00 (n=1)"
    assert table.loc["control", "L_max (cd/m²)"] == "–"
    assert "V_on (V)" in table.columns and "CIE x" in table.columns


def test_accepts_objects_with_to_dict():
    class S:
        def __init__(self, d):
            self.d = d

        def to_dict(self):
            return self.d

    stats = compare_samples([S(r) for r in RUNS[:3]])
    assert list(stats.index) == ["pristine"]
    assert np.isclose(stats.loc["pristine", ("cie_y", "mean")], 0.75)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="'pixel'"):
        compare_samples([{"sample": "a", "max_eqe_percent": 1.0}])
    with pytest.raises(ValueError, match="empty"):
        compare_samples([])
    with pytest.raises(ValueError, match=r"summaries\[0\]"):
        compare_samples([3.0])
