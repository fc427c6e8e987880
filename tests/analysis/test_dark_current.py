"""analysis.dark_current against independent computations: interpolation, subtraction,
the luminance of the corrected photocurrent, the drift and its warning."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import dark_current as dc


def test_dark_current_is_linear_between_readings_and_held_outside():
    t = np.array([-5.0, 0.0, 5.0, 10.0, 20.0, 30.0])
    got = dc.dark_current_at_A(t, [0.0, 10.0, 30.0], [1e-11, 3e-11, 2e-11])
    np.testing.assert_allclose(got, [1e-11, 1e-11, 2e-11, 3e-11, 2.5e-11, 2e-11], rtol=1e-12)
    # readings out of order and NaN readings (an end that could not be measured) are fine
    got2 = dc.dark_current_at_A(t, [30.0, math.nan, 0.0, 10.0], [2e-11, 5e-9, 1e-11, 3e-11])
    np.testing.assert_allclose(got2, got, rtol=1e-12)
    assert np.all(dc.dark_current_at_A(t, [], []) == 0.0)       # nothing to subtract
    with pytest.raises(ValueError, match="same length"):
        dc.dark_current_at_A(t, [0.0, 1.0], [1e-11])


def test_subtraction_recovers_a_signal_under_a_drifting_offset():
    t = np.linspace(0.0, 100.0, 101)
    signal = 1e-10 * np.exp(t / 25.0)                       # 0.1 nA … 5 nA
    dark = 2e-9 + 1e-11 * t                                 # 2 nA drifting to 3 nA
    read = signal + dark
    corr = dc.corrected_photocurrent_A(read, t, [0.0, 100.0], [2e-9, 3e-9])
    np.testing.assert_allclose(corr, signal, rtol=1e-9)
    # start-only subtraction (the live value) is off by the drift at the dim end
    live = read - 2e-9
    assert abs(live[-1] - signal[-1]) == pytest.approx(1e-9, rel=1e-9)
    assert np.isnan(dc.corrected_photocurrent_A([math.nan], [1.0], [0.0], [1e-9])).all()


def test_luminance_rescaled_by_the_run_constant():
    k = 3.3e9                                                # cd/m² per A (calibration)
    i_read = np.array([math.nan, 2.0e-9, 2.5e-9, 5e-9, 1e-7])
    live_dark = np.full(5, 2.1e-9)                           # the start reading
    lum_live = k * np.maximum(i_read - live_dark, 0.0)      # what the procedure stored
    lum_live[0] = math.nan
    corr = i_read - np.array([0, 1.9e-9, 2.0e-9, 2.1e-9, 2.2e-9])
    got = dc.rescale_luminance_cd_m2(lum_live, i_read, live_dark, corr)
    expect = k * np.maximum(corr, 0.0)
    expect[0] = math.nan
    np.testing.assert_allclose(got, expect, rtol=1e-9)
    # rows at or below the live dark (L = 0) are recovered as well: k is the run's constant
    assert lum_live[1] == 0.0 and got[1] == pytest.approx(k * 0.1e-9, rel=1e-9)
    # nothing to take k from: unchanged
    np.testing.assert_array_equal(dc.rescale_luminance_cd_m2([0.0], [1e-9], [2e-9], [0.5e-9]),
                                  [0.0])


def test_drift_figures_and_warning():
    corr = np.array([math.nan, -1e-12, 4e-10, 1e-8])
    d = dc.dark_drift([0.0, 50.0], [2e-11, 6e-11], corr)
    assert d["dark_current_drift_A"] == pytest.approx(4e-11, rel=1e-12)
    assert d["smallest_photocurrent_A"] == pytest.approx(4e-10)
    assert d["dark_drift_fraction"] == pytest.approx(0.1, rel=1e-9)
    assert d["dark_readings"] == 2 and "10 %" in d["dark_drift_warning"]
    quiet = dc.dark_drift([0.0, 50.0], [2e-11, 2.1e-11], corr)
    assert quiet["dark_drift_fraction"] == pytest.approx(0.0025) and \
        quiet["dark_drift_warning"] is None
    one = dc.dark_drift([0.0], [2e-11], corr)               # one reading: no drift
    assert math.isnan(one["dark_current_drift_A"]) and one["dark_drift_warning"] is None


def test_no_warning_for_a_drift_within_the_noise_or_against_noise_points():
    """A drift below twice its standard error is noise, and corrected photocurrents within
    3σ of one dark reading are not the run's smallest signal (a noise point would make any
    drift look large)."""
    corr = np.array([5.7e-14, -2e-12, 3e-11, 1e-8])        # the first two: noise points
    d = dc.dark_drift([0.0, 40.0], [1.888e-11, 1.905e-11], corr, dark_std_A=[1.8e-12, 1.8e-12],
                      dark_n=[10, 10])
    assert d["smallest_photocurrent_A"] == pytest.approx(3e-11)
    assert d["dark_drift_uncertainty_A"] == pytest.approx(math.sqrt(2 * 1.8e-12 ** 2 / 10))
    assert d["dark_drift_fraction"] == pytest.approx(1.7e-13 / 3e-11, rel=1e-6)
    assert d["dark_drift_warning"] is None                  # 0.17 pA ± 0.8 pA: noise
    big = dc.dark_drift([0.0, 40.0], [1.888e-11, 2.5e-11], corr, dark_std_A=[1.8e-12, 1.8e-12],
                        dark_n=[10, 10])
    assert big["dark_drift_warning"] and "± 8e-13 A" in big["dark_drift_warning"]
    with pytest.raises(ValueError, match="one value per reading"):
        dc.dark_drift([0.0, 1.0], [1e-11, 1e-11], corr, dark_std_A=[1e-12])
