"""analysis.lifetime against closed forms: T_x, stretched-exponential fit, bounded
extrapolation, the acceleration law and its misuse."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from analysis import lifetime as lt

TAU_S, BETA = 3000.0, 0.6


def _record(t_end_s, n=600, noise=0.0, seed=0, l0=1000.0):
    t = np.linspace(0.0, t_end_s, n)
    rel = np.exp(-(t / TAU_S) ** BETA)
    rng = np.random.default_rng(seed)
    return t, l0 * rel * (1.0 + noise * rng.standard_normal(t.size))


def _tx(x):
    return TAU_S * (-math.log(x)) ** (1.0 / BETA)


def test_tx_by_interpolation_match_closed_form():
    t = np.geomspace(1e-2, 3 * _tx(0.5), 20_000)
    t = np.concatenate([[0.0], t])
    lum = 500.0 * np.exp(-(t / TAU_S) ** BETA)
    s = lt.lifetime_summary(t, lum)
    for x in lt.FRACTIONS:
        key = f"t{int(round(100 * x))}"
        assert s["initial"][f"{key}_s"] == pytest.approx(_tx(x), rel=1e-3)
        assert s["initial"][f"{key}_extrapolated"] is False
    assert s["initial"]["l0_cd_m2"] == pytest.approx(500.0)


def test_fit_recovers_tau_and_beta_with_honest_errors():
    t, lum = _record(2 * _tx(0.5), noise=2e-3, seed=3)
    _, rel, _ = lt.relative_luminance(t, lum)
    fit = lt.fit_stretched_exponential(t, rel)
    assert abs(fit.tau_s - TAU_S) < 5 * fit.tau_stderr_s + 0.01 * TAU_S
    assert abs(fit.beta - BETA) < 5 * fit.beta_stderr + 0.01
    assert 0 < fit.tau_stderr_s < 0.05 * TAU_S and 0 < fit.beta_stderr < 0.05
    assert fit.rms_residual == pytest.approx(2e-3, rel=0.5)


def test_tx_stderr_is_the_delta_method():
    fit = lt.StretchedExponentialFit(TAU_S, BETA, 30.0, 0.01,
                                     np.array([[900.0, 0.1], [0.1, 1e-4]]), 0.0, 10, 1.0, 2.0)
    tx, err = lt.tx_from_fit(fit, 0.5)
    assert tx == pytest.approx(_tx(0.5), rel=1e-12)
    h = 1e-6
    d_tau = (TAU_S * (1 + h) * math.log(2) ** (1 / BETA) - tx) / (TAU_S * h)
    d_beta = (TAU_S * math.log(2) ** (1 / (BETA + h)) - tx) / h
    g = np.array([d_tau, d_beta])
    assert err == pytest.approx(math.sqrt(g @ fit.covariance @ g), rel=1e-4)


def test_early_stop_extrapolates_labelled_and_bounded():
    t, lum = _record(0.4 * _tx(0.5), noise=1e-3, seed=1)
    s = lt.lifetime_summary(t, lum)["initial"]
    assert s["t80_extrapolated"] is False
    assert s["t50_extrapolated"] is True and "extrapolated" in s["t50_note"]
    assert s["t50_s"] == pytest.approx(_tx(0.5), rel=0.05)
    assert 0 < s["t50_stderr_s"] < 0.1 * s["t50_s"]
    # T50 ≈ 2.5× the duration: refused when the bound is 2×.
    s2 = lt.lifetime_summary(t, lum, max_extrapolation_factor=2.0)["initial"]
    assert math.isnan(s2["t50_s"]) and s2["t50_extrapolated"] is False
    assert "refused" in s2["t50_note"] and "2×" in s2["t50_note"]


def test_too_little_decay_gives_no_extrapolation():
    t = np.linspace(0, 10, 50)
    s = lt.lifetime_summary(t, 1000 * np.exp(-(t / 1e6) ** 0.6))["initial"]
    assert math.isnan(s["t50_s"]) and "no extrapolation" in s["t50_note"]


def test_l0_max_convention_with_brightening():
    t = np.linspace(0, 3 * _tx(0.5), 5000)
    rel = (1 + 0.2 * (1 - np.exp(-t / 60.0))) * np.exp(-(t / TAU_S) ** BETA)
    s = lt.lifetime_summary(t, 800 * rel)
    assert s["max"]["l0_cd_m2"] == pytest.approx(800 * rel.max())
    assert s["max"]["l0_time_s"] > 0
    assert s["max"]["t50_s"] < s["initial"]["t50_s"]
    # Independent: solve rel(t) = 0.5·max(rel) on a fine grid after the peak.
    after = t >= t[np.argmax(rel)]
    k = np.nonzero(after & (rel <= 0.5 * rel.max()))[0][0]
    assert s["max"]["t50_s"] == pytest.approx(t[k], abs=t[1] - t[0])


def test_voltage_rise_at_t50_and_t95():
    t, lum = _record(2 * _tx(0.5), n=4000)
    v = 3.0 + 0.6 * (1 - lum / 1000.0)        # ΔV = 0.3 V at T50, 0.03 V at T95
    s = lt.lifetime_summary(t, lum, v)
    assert s["voltage_rise_at_t50_V"] == pytest.approx(0.3, abs=1e-3)
    assert s["voltage_rise_at_t95_V"] == pytest.approx(0.03, abs=1e-3)


def test_extrapolate_lifetime_law():
    # 30 min at 1000 cd/m², n = 1.5 → 30·10^1.5 min at 100 cd/m².
    assert lt.extrapolate_lifetime(30.0, 1000.0, 100.0, 1.5) == pytest.approx(948.683, rel=1e-5)
    out = lt.extrapolate_lifetime([1.0, 2.0], 1000.0, [2000.0, 500.0], 2.0)
    np.testing.assert_allclose(out, [0.25, 8.0])
    for bad in (dict(n=0), dict(n=math.nan)):
        with pytest.raises(ValueError, match="n ="):
            lt.extrapolate_lifetime(1.0, 1000.0, 100.0, **bad)
    with pytest.raises(ValueError, match="l0_from_cd_m2"):
        lt.extrapolate_lifetime(1.0, -1.0, 100.0, 1.5)


def test_fit_acceleration_exponent_exact_noisy_and_two_points():
    l0 = np.array([1000.0, 2000.0, 5000.0])
    t50 = 0.5 * (1000.0 / l0) ** 1.7
    n, err = lt.fit_acceleration_exponent(l0, t50)
    assert n == pytest.approx(1.7, abs=1e-12) and err == pytest.approx(0.0, abs=1e-9)
    rng = np.random.default_rng(2)
    l0m = np.repeat(l0, 4)
    t50m = 0.5 * (1000.0 / l0m) ** 1.7 * np.exp(0.05 * rng.standard_normal(l0m.size))
    fit = lt.fit_acceleration_law(l0m, t50m)
    assert abs(fit.n - 1.7) < 4 * fit.n_stderr and 0.01 < fit.n_stderr < 0.2
    # stderr against the textbook formula σ/√Sxx computed independently
    x, y = np.log(l0m), np.log(t50m)
    A = np.vstack([np.ones_like(x), x]).T
    coef, rss, *_ = np.linalg.lstsq(A, y, rcond=None)
    sigma = math.sqrt(rss[0] / (x.size - 2))
    assert fit.n_stderr == pytest.approx(sigma / math.sqrt(np.sum((x - x.mean()) ** 2)))
    assert fit.lifetime_at(1000.0) == pytest.approx(math.exp(coef[0] + coef[1] * math.log(1000)))
    with pytest.warns(lt.LifetimeWarning, match="undefined"):
        n2, e2 = lt.fit_acceleration_exponent([1000.0, 4000.0], [1.0, 0.125])
    assert n2 == pytest.approx(1.5) and math.isnan(e2)
    with pytest.raises(ValueError, match="at least 2 distinct"):
        lt.fit_acceleration_exponent([1000.0, 1000.0], [1.0, 1.1])


def test_assumed_exponent_contradicted_by_data_warns():
    with pytest.warns(lt.LifetimeWarning, match="disagrees"):
        r = lt.check_assumed_exponent(2.0, 1.5, 0.05)
    assert r["consistent"] is False and r["deviation_sigma"] == pytest.approx(10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lt.check_assumed_exponent(1.55, 1.5, 0.05)["consistent"] is True
    with pytest.warns(lt.LifetimeWarning, match="cannot be tested"):
        assert lt.check_assumed_exponent(2.0, 1.5, math.nan)["consistent"] is None


@pytest.mark.parametrize("t, y, match", [
    ([], [], "at least 2"),
    ([0, 2, 1], [1, 0.9, 0.8], "non-decreasing"),
    ([-1, 0, 1], [1, 0.9, 0.8], ">= 0"),
    ([0, 1], [1, 0.9, 0.8], "same length"),
])
def test_hostile_input_raises(t, y, match):
    with pytest.raises(ValueError, match=match):
        lt.lifetime_summary(t, y)


def test_nan_rows_dropped_and_bad_l0_mode():
    t, lum = _record(2 * _tx(0.5), n=2000)
    lum[5::50] = np.nan
    s = lt.lifetime_summary(t, lum)
    assert s["initial"]["t50_s"] == pytest.approx(_tx(0.5), rel=2e-3)
    with pytest.raises(ValueError, match="initial, max"):
        lt.relative_luminance(t, lum, "peak")
    with pytest.raises(ValueError, match="L0"):
        lt.relative_luminance([0, 1], [0.0, 1.0])


# ---------------------------------------------------- the report's assumed-n check (pages)
#: Four synthetic runs of one sample: T50 = 10 h·(1000/L0)^1.5·e^ε with ε = ±4 % in a pattern
#: orthogonal to ln L0 (equally spaced), so the fitted n is exactly the truth 1.5 with a
#: finite σ = √(RSS/(N−2)/Sxx) = 0.0365.
ACC_TRUTH_N = 1.5
ACC_L0 = (500.0, 1000.0, 2000.0, 4000.0)
ACC_EPS = (0.04, -0.04, -0.04, 0.04)
ACC_SIGMA = math.sqrt(sum(e * e for e in ACC_EPS) / 2
                      / sum((k - 1.5) ** 2 * math.log(2) ** 2 for k in range(4)))


def _write_sample(folder, sample="acc"):
    from acquisition.store import RunWriter

    paths = []
    for pixel, (l0, eps) in enumerate(zip(ACC_L0, ACC_EPS), start=1):
        t50_s = 10 * 3600.0 * (1000.0 / l0) ** ACC_TRUTH_N * math.exp(eps)
        tau = t50_s / math.log(2) ** (1 / BETA)
        t = np.linspace(0.0, 1.6 * t50_s, 3000)
        lum = l0 * np.exp(-(t / tau) ** BETA)
        w = RunWriter.create(folder, procedure="procedures.lifetime:LifetimeProcedure",
                             sample=sample, pixel=str(pixel),
                             parameters={"l0_cd_m2": (l0, "cd/m^2")},
                             columns=["time_s", "luminance_cd_m2", "voltage_V",
                                      "relative_luminance_fraction"],
                             background_flush=False)
        w.append_batch({"time_s": t, "luminance_cd_m2": lum, "voltage_V": 3.0 + 0 * t,
                        "relative_luminance_fraction": lum / l0})
        w.finish("finished")
        paths.append(w.path)
    return paths


def test_synthetic_sample_fits_the_true_exponent(tmp_path):
    from acquisition.store import load_run
    from reports.lifetime import analyze_run, sample_acceleration

    results = [analyze_run(load_run(p)) for p in _write_sample(tmp_path)]
    acc = sample_acceleration(results)
    assert acc["n"] == pytest.approx(ACC_TRUTH_N, abs=2e-3)
    assert acc["n_stderr"] == pytest.approx(ACC_SIGMA, rel=0.05)
    assert acc["assumed_check"] is None and not acc["warnings"]
    bad = sample_acceleration(results, assumed_n=2.0)
    assert bad["assumed_check"]["consistent"] is False
    assert bad["assumed_check"]["deviation_sigma"] == pytest.approx(0.5 / ACC_SIGMA, rel=0.06)


def _page_text(path):
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("assumed, warned", [(2.0, True), (3.0, True),
                                             (ACC_TRUTH_N, False), (1.55, False)])
def test_report_warns_when_the_assumed_exponent_contradicts_the_data(tmp_path, assumed,
                                                                     warned):
    from acquisition.store import load_run
    from reports.lifetime import write_run_report

    paths = _write_sample(tmp_path / "runs")
    page = write_run_report(load_run(paths[1]), tmp_path / "report", html_too=False,
                            assumed_acceleration_n=assumed)
    text = _page_text(page)
    assert "Acceleration law" in text and "n = 1.500" in text
    assert ("Warning: assumed n" in text) is warned
    assert ("disagrees with the fitted n" in text) is warned
    if not warned:
        assert f"assumed n = {assumed:g} agrees with the fitted n" in text
    plain = _page_text(write_run_report(load_run(paths[1]), tmp_path / "plain",
                                        html_too=False))
    assert "assumed n" not in plain


def test_report_says_an_assumed_exponent_cannot_be_tested_with_one_l0(tmp_path):
    from acquisition.store import load_run
    from reports.lifetime import write_run_report

    paths = _write_sample(tmp_path / "runs")
    for p in paths[1:]:
        p.unlink()
    text = _page_text(write_run_report(load_run(paths[0]), tmp_path / "report",
                                       html_too=False, assumed_acceleration_n=2.0))
    assert "Warning: assumed n = 2 cannot be tested" in text


def test_qled_report_option_reaches_the_lifetime_pages(tmp_path, capsys):
    from qled.cli import main

    _write_sample(tmp_path / "runs")
    code = main(["report", str(tmp_path / "runs"), "--out", str(tmp_path / "rep"),
                 "--assumed-acceleration-n", "2.5"])
    assert code == 0, capsys.readouterr().err
    pages = sorted((tmp_path / "rep" / "lifetime").glob("*.md"))
    assert len(pages) == 4
    assert all("disagrees with the fitted n" in _page_text(p) for p in pages)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "11"])
def test_qled_report_bad_assumed_exponent_is_one_line(tmp_path, capsys, value):
    from qled.cli import main

    (tmp_path / "runs").mkdir()
    code = main(["report", str(tmp_path / "runs"), f"--assumed-acceleration-n={value}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "assumed_acceleration_n" in err and "allowed 0 < n ≤ 10" in err
    assert not (tmp_path / "runs" / "report").exists()
