"""Live buffers, record feed, decimation and derived columns (no Qt)."""
from __future__ import annotations

import numpy as np
import pytest

from qled.gui.live import (DecimatedSeries, GrowingArray, RecordFeed, RunData,
                                 decimate_minmax)
from qled.gui.presets import jvl_eqe_deriver, relative_to_first_deriver


def brute_minmax(y, k):
    """Independent reference: per bucket of k samples, the argmin and argmax, sorted."""
    out = []
    for start in range(0, len(y), k):
        b = y[start:start + k]
        out += sorted({start + int(np.nanargmin(b)), start + int(np.nanargmax(b))})
    return np.asarray(out)


def test_decimation_keeps_every_bucket_extreme_and_the_peaks():
    rng = np.random.default_rng(1)
    y = rng.normal(size=1_000_003)
    y[123_457] = 50.0     # a one-sample spike must survive
    y[900_001] = -60.0
    x = np.arange(len(y), dtype=float)
    xd, yd = decimate_minmax(x, y, 4000)
    assert 2000 < len(yd) <= 4000
    assert yd.max() == 50.0 and yd.min() == -60.0
    k = 512  # smallest power of two with 2*ceil(n/k) <= 4000
    np.testing.assert_array_equal(xd.astype(int), brute_minmax(y, k))
    np.testing.assert_array_equal(yd, y[xd.astype(int)])


def test_decimation_small_input_is_untouched_and_bad_input_refused():
    x = np.arange(10.0)
    xd, yd = decimate_minmax(x, x ** 2, 4000)
    np.testing.assert_array_equal(yd, x ** 2)
    with pytest.raises(ValueError, match="max_points"):
        decimate_minmax(x, x, 2)
    with pytest.raises(ValueError, match="equal length"):
        decimate_minmax(x, x[:5], 100)


def test_decimation_nan_loses_to_numbers_and_all_nan_bucket_stays_a_gap():
    y = np.arange(64.0)
    y[:8] = np.nan          # first bucket (k=8 for 64 points, 16 max) all NaN
    y[9] = np.nan
    xd, yd = decimate_minmax(np.arange(64.0), y, 16)
    assert np.isnan(yd[0])
    assert 8.0 in yd and 15.0 in yd and not np.isnan(yd[2:]).any()


def test_incremental_series_equals_one_shot_decimation():
    rng = np.random.default_rng(2)
    y = np.cumsum(rng.normal(size=300_001))
    x = np.linspace(0, 1, len(y))
    s = DecimatedSeries(max_points=2000)
    done = 0
    for size in (7, 1000, 5, 99_000, 1, 200_000 - 7 - 1000 - 5 - 99_000 - 1, 100_001):
        s.extend(x[done:done + size], y[done:done + size])
        done += size
        xd, yd = s.display()
        xr, yr = decimate_minmax(x[:done], y[:done], 2000)
        np.testing.assert_array_equal(xd, xr)
        np.testing.assert_array_equal(yd, yr)
    assert done == len(y) and len(s) == len(y)


def test_growing_array_amortised_and_2d():
    g = GrowingArray(capacity=2)
    for i in range(1000):
        g.extend([i])
    np.testing.assert_array_equal(g.values, np.arange(1000.0))
    g2 = GrowingArray(width=3, capacity=1)
    g2.extend(np.ones((5, 3)))
    assert g2.values.shape == (5, 3)


def test_feed_groups_rows_keeps_batches_and_events():
    feed = RecordFeed()
    feed.put("results", {"voltage_V": 1.0, "current_A": 1e-3, "spectrum": np.ones(3)})
    feed.put("results", {"voltage_V": 2.0, "current_A": 2e-3})
    feed.put("progress", 50.0)  # not data: ignored
    feed.put("event", {"level": "info", "message": "hi"})
    feed.put("batch results", {"voltage_V": np.array([3.0, 4.0]),
                               "current_A": np.array([3e-3, 4e-3])})
    chunks, events = feed.drain()
    assert [len(c["voltage_V"]) for c in chunks] == [2, 2]
    np.testing.assert_array_equal(chunks[0]["spectrum"][0], np.ones(3))
    assert np.isnan(chunks[0]["spectrum"][1]).all()
    assert events == [{"level": "info", "message": "hi"}]
    assert feed.drain() == ([], [])


def test_run_data_fills_missing_columns_with_nan_and_checks_lengths():
    d = RunData(["a_V", "b_A"])
    d.ingest({"a_V": [1.0, 2.0]})
    d.ingest({"a_V": [3.0], "b_A": [5.0]})
    np.testing.assert_array_equal(d.column("a_V"), [1, 2, 3])
    np.testing.assert_array_equal(d.column("b_A"), [np.nan, np.nan, 5.0])
    assert d.n_rows == 3 and list(d.frame().columns) == ["a_V", "b_A"]
    with pytest.raises(ValueError, match="b_A"):
        d.ingest({"a_V": [1.0, 2.0], "b_A": [1.0]})


def test_eqe_deriver_uses_row_spectrum_then_carries_it_forward():
    from analysis.photometry import eqe_percent

    wl = np.arange(380.0, 781.0, 1.0)
    green = np.exp(-0.5 * ((wl - 517) / 8) ** 2)
    red = np.exp(-0.5 * ((wl - 650) / 10) ** 2)
    d = RunData(["luminance_cd_m2", "current_density_mA_cm2"], [jvl_eqe_deriver],
                wavelength_nm=wl)
    nan = np.full(len(wl), np.nan)
    out1 = d.ingest({"luminance_cd_m2": np.array([np.nan, 100.0, 200.0]),
                     "current_density_mA_cm2": np.array([1e-5, 1.0, 2.0]),
                     "spectrum": np.array([nan, green, nan])})
    out2 = d.ingest({"luminance_cd_m2": np.array([300.0, 400.0]),
                     "current_density_mA_cm2": np.array([3.0, -4.0]),
                     "spectrum": np.array([nan, red])})
    assert np.isnan(out1["eqe_percent"][0])          # no light, no spectrum yet
    assert out1["eqe_percent"][1] == pytest.approx(eqe_percent(100.0, 1.0, wl, green))
    assert out1["eqe_percent"][2] == pytest.approx(eqe_percent(200.0, 2.0, wl, green))
    assert out2["eqe_percent"][0] == pytest.approx(eqe_percent(300.0, 3.0, wl, green))
    assert np.isnan(out2["eqe_percent"][1])           # J < 0: no injection
    # independent magnitude check: 100 cd/m² at 1 mA/cm² of 517 nm light is CE = 10 cd/A,
    # i.e. EQE = π·e·L·(photons per lumen)/J ≈ 3 % for a narrow green line (V ≈ 0.6)
    assert 2.5 < out1["eqe_percent"][1] < 3.5


def test_relative_deriver_per_group():
    d = RunData(["luminance_cd_m2", "channel"],
                [relative_to_first_deriver("luminance_cd_m2", "channel")])
    d.ingest({"luminance_cd_m2": [100.0, 200.0, 90.0], "channel": [1, 2, 1]})
    out = d.ingest({"luminance_cd_m2": [50.0, 100.0], "channel": [1, 2]})
    np.testing.assert_allclose(d.column("luminance_cd_m2_rel"), [1, 1, 0.9, 0.5, 0.5])
    np.testing.assert_allclose(out["luminance_cd_m2_rel"], [0.5, 0.5])
