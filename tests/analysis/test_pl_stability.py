"""analysis.pl_stability against hand values, closed forms and the PL film model."""
import math

import numpy as np
import pytest

from analysis.pl_stability import (integrated_intensity, spectral_peak_and_fwhm_nm,
                                   summarize_pl_stability, time_to_fraction_s)
from simulators.pl_film import PLFilm, PLFilmParameters


def test_tx_by_hand_interpolation():
    t = [0.0, 10.0, 20.0, 30.0]
    y = [100.0, 90.0, 70.0, 40.0]
    # 80 lies halfway between 90 (t=10) and 70 (t=20)
    assert time_to_fraction_s(t, y, 0.8) == pytest.approx(15.0)
    # 50 lies 2/3 of the way from 70 (t=20) to 40 (t=30)
    assert time_to_fraction_s(t, y, 0.5) == pytest.approx(20.0 + 10.0 * 20 / 30)
    assert math.isnan(time_to_fraction_s(t, y, 0.3))


def test_reference_max_after_brightening():
    t = [0.0, 1.0, 2.0, 3.0, 4.0]
    y = [100.0, 120.0, 110.0, 90.0, 50.0]
    assert time_to_fraction_s(t, y, 0.8, "initial") == pytest.approx(3.0 + 10 / 40)
    # L0 = 120 → 96 crossed between t=2 (110) and t=3 (90)
    assert time_to_fraction_s(t, y, 0.8, "max") == pytest.approx(2.0 + 14 / 20)


def test_stretched_exponential_closed_form():
    tau, beta = 5000.0, 0.7
    t = np.linspace(0, 40000, 4001)
    y = np.exp(-(t / tau) ** beta)
    for f in (0.8, 0.5):
        assert time_to_fraction_s(t, y, f) == pytest.approx(tau * (-math.log(f)) ** (1 / beta),
                                                             rel=1e-4)


@pytest.mark.parametrize("args, word", [
    (([0, 1], [1, 1], 1.2), "fraction"), (([0, 1], [1, 1], 0.5, "peak"), "reference"),
    (([1, 0], [1, 1], 0.5), "increasing"), (([0, 1, 2], [0, 1, 1], 0.5), "first intensity"),
    (([0], [1], 0.5), "at least 2"), (([0, 1], [1], 0.5), "length")])
def test_bad_input(args, word):
    with pytest.raises(ValueError, match=word):
        time_to_fraction_s(*args)


def test_peak_and_fwhm_of_a_gaussian_and_its_area():
    wl = np.arange(380.0, 781.0, 1.0)
    sigma = 20.0 / (2 * math.sqrt(2 * math.log(2)))
    s = 3.0 * np.exp(-0.5 * ((wl - 516.3) / sigma) ** 2)
    peaks, fwhm = spectral_peak_and_fwhm_nm(wl, s)
    assert peaks[0] == pytest.approx(516.3, abs=0.02)
    assert fwhm[0] == pytest.approx(20.0, abs=0.05)
    assert integrated_intensity(wl, s)[0] == pytest.approx(3.0 * sigma * math.sqrt(2 * math.pi),
                                                           rel=1e-6)
    p0, w0 = spectral_peak_and_fwhm_nm(wl, np.zeros_like(wl))
    assert math.isnan(p0[0]) and math.isnan(w0[0])


def test_film_model_truth_and_summary():
    film = PLFilm(PLFilmParameters.pristine(brightening_fraction=0.0))
    p = film.params
    assert film.tx_s(0.5) == pytest.approx(p.tau_s * math.log(2) ** (1 / p.beta), rel=1e-9)
    film = PLFilm(PLFilmParameters.pristine())
    truth = film.truth()
    assert truth["max_relative_intensity"] > 1 and truth["time_of_max_s"] > 0
    t = np.linspace(0, 4 * truth["t50_s"], 800)
    wl = np.arange(380.0, 781.0, 1.0)
    spectra = np.array([film.spectral_radiance_at(wl, x) for x in t])
    s = summarize_pl_stability(t, integrated_intensity(wl, spectra), wl, spectra)
    for key in ("t80_s", "t50_s", "t80_from_max_s", "t50_from_max_s"):
        assert s[key] == pytest.approx(truth[key], rel=2e-3)
    # the line's area follows I(t)/I(0): broadening does not change the integrated PL
    np.testing.assert_allclose(integrated_intensity(wl, spectra) /
                               integrated_intensity(wl, spectra[0]),
                               film.relative_intensity(t), rtol=1e-6)
    assert s["peak_shift_nm"] == pytest.approx(float(film.peak_nm(t[-1]) - p.peak_nm), abs=0.05)
    assert s["fwhm_change_nm"] == pytest.approx(float(film.fwhm_nm(t[-1]) - p.fwhm_nm), abs=0.1)
