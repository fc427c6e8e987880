"""analysis.trpl: synthetic Poisson decays with known lifetimes, with and without an IRF.

The reconvolved data are generated from the closed-form convolution of a Gaussian IRF with
an exponential (exponentially modified Gaussian), not from the package's discrete model.
"""
import json

import numpy as np
import pytest
from scipy.special import erfc

import argparse

from qled.commands import trpl as trpl_commands
from analysis.trpl import (average_lifetimes_ns, fit_decay, parse_decay_table,
                           multiexp_decay)


def emg(t, amplitude, tau, mu, sigma):
    """Gaussian(mu, sigma) ⊛ amplitude·exp(−t/τ)·H(t), closed form."""
    return amplitude / 2 * np.exp(sigma ** 2 / (2 * tau ** 2) - (t - mu) / tau) * \
        erfc((sigma / tau - (t - mu) / sigma) / np.sqrt(2))


DT = 0.02
T = np.arange(0.0, 80.0, DT)


def reconvolved_data(seed, taus, amps, bg=5.0, mu=2.0, sigma=0.15, irf_offset=-0.1):
    rng = np.random.default_rng(seed)
    clean = bg + sum(emg(T, a, tau, mu, sigma) for a, tau in zip(amps, taus))
    g = np.exp(-(T - (mu + irf_offset)) ** 2 / (2 * sigma ** 2))
    irf = rng.poisson(5e4 * g / g.sum()).astype(float)
    return rng.poisson(clean).astype(float), irf


def test_lifetime_averages_by_hand():
    # A = (3000, 1000), τ = (2, 9) ns
    tau_amp, tau_int = average_lifetimes_ns([3000, 1000], [2.0, 9.0])
    assert tau_amp == pytest.approx((6000 + 9000) / 4000)
    assert tau_int == pytest.approx((3000 * 4 + 1000 * 81) / 15000)


def qled_trpl(argv):
    """``qled trpl …`` through the command's own parser (the CLI assembles the same)."""
    parser = argparse.ArgumentParser(prog="qled")
    trpl_commands.register(parser.add_subparsers())
    args = parser.parse_args(["trpl", *argv])
    return args.func(args)


def test_biexponential_reconvolution_recovers_lifetimes():
    y, irf = reconvolved_data(1, (2.0, 9.0), (3000.0, 1000.0))
    fit = fit_decay(T, y, 2, irf=irf)
    assert fit.method == "reconvolution"
    np.testing.assert_allclose(fit.taus_ns, [2.0, 9.0], rtol=0.02)
    np.testing.assert_allclose(fit.amplitudes, [3000.0, 1000.0], rtol=0.03)
    assert fit.tau_amp_ns == pytest.approx(3.75, rel=0.02)
    assert fit.tau_int_ns == pytest.approx(6.2, rel=0.02)
    assert fit.intensity_fractions == pytest.approx([6000 / 15000, 9000 / 15000], abs=0.02)
    assert fit.shift_ns == pytest.approx(0.1, abs=0.02)       # IRF recorded 0.1 ns early
    assert fit.reduced_chi2 == pytest.approx(1.0, abs=0.1)
    # the stated uncertainty is realistic: the truth lies within 4σ
    for tau, err, true in zip(fit.taus_ns, fit.taus_err_ns, (2.0, 9.0)):
        assert 0 < err and abs(tau - true) < 4 * err


def test_seed_lifetimes_tail_fit_without_irf():
    """Single exponentials of the seed paper's average lifetimes (6.7 and 13.9 ns)."""
    rng = np.random.default_rng(7)
    t = np.arange(0.0, 150.0, 0.05)
    for tau in (6.7, 13.9):
        y = rng.poisson(multiexp_decay(t - 5.0, [2000.0], [tau], 3.0)).astype(float)
        fit = fit_decay(t, y, 1)
        assert fit.method == "tail"
        assert fit.taus_ns[0] == pytest.approx(tau, rel=0.02)
        assert fit.background == pytest.approx(3.0, rel=0.1)


def test_triexponential_tail_fit():
    rng = np.random.default_rng(11)
    t = np.arange(0.0, 200.0, 0.05)
    clean = multiexp_decay(t, [20000.0, 8000.0, 2000.0], [1.0, 6.0, 30.0], 2.0)
    fit = fit_decay(t, rng.poisson(clean).astype(float), 3, fit_range_ns=(0.05, 199.0))
    np.testing.assert_allclose(fit.taus_ns, [1.0, 6.0, 30.0], rtol=0.02)


@pytest.mark.parametrize("kwargs, word", [
    ({"n_components": 4}, "n_components"),
    ({"fit_range_ns": (50.0, 10.0)}, "fit_range_ns"),
    ({"irf": np.ones(10)}, "irf")])
def test_bad_arguments(kwargs, word):
    y = multiexp_decay(T, [100.0], [3.0], 1.0)
    with pytest.raises(ValueError, match=word):
        fit_decay(T, y, **kwargs)


@pytest.mark.parametrize("t, y, word", [
    (np.arange(5.0), np.ones(5), "at least 10"),
    (np.arange(20.0)[::-1], np.ones(20), "increasing"),
    (np.r_[np.arange(10.0), np.arange(10.0) * 2 + 20], np.ones(20), "uniform"),
    (np.arange(20.0), -np.ones(20), "negative"),
    (np.arange(20.0), np.r_[np.ones(19), np.nan], "NaN")])
def test_hostile_decays(t, y, word):
    with pytest.raises(ValueError, match=word):
        fit_decay(t, y, 1)


def test_qled_trpl_command(tmp_path, capsys):
    y, irf = reconvolved_data(3, (2.0, 9.0), (3000.0, 1000.0))
    decay, irf_csv = tmp_path / "film.csv", tmp_path / "irf.csv"
    np.savetxt(decay, np.column_stack([T, y]), delimiter=",", header="time_ns,counts")
    np.savetxt(irf_csv, np.column_stack([T, irf]), delimiter=",", header="time_ns,counts",
               comments="")
    t_back, y_back = parse_decay_table(irf_csv.read_text())   # header without '#' skipped
    np.testing.assert_allclose(y_back, irf)
    assert qled_trpl([str(decay), "--irf", str(irf_csv), "--components", "2",
                 "--out", str(tmp_path / "rep"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["taus_ns"] == pytest.approx([2.0, 9.0], rel=0.02)
    assert (tmp_path / "rep" / "film.md").is_file() and (tmp_path / "rep" / "film_decay.png").is_file()
    text = (tmp_path / "rep" / "film.md").read_text()
    assert "τ_amp" in text and "τ_int" in text
    # a missing file names itself (the CLI prints it as one line, exit 2)
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        qled_trpl([str(tmp_path / "nope.csv")])
