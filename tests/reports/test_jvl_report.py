"""Run and batch reports from stand-in run objects (duck-typed like acquisition.store.Run)."""

import re
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from reports import jvl as report
from analysis.jvl import summarize_jvl

WL = np.arange(400.0, 651.0, 1.0)


def fake_run(sample="pristine", pixel="A1", eqe_max=3.0, peak=516.0, truth=None, area_cm2=0.04,
             with_density=True, every=2):
    """A forward + reverse sweep of a simple LED: J exponential in V, EQE(J) peaked, Gaussian EL."""
    vf = np.round(np.arange(1.2, 4.01, 0.1), 6)
    v = np.concatenate([vf, vf[::-1]])
    d = np.concatenate([np.ones(vf.size), -np.ones(vf.size)])
    j = 1e-5 * np.expm1(v / 0.22) * np.where(d > 0, 1.0, 1.05)
    u = j / 3.0
    eqe = eqe_max * 2 / (u**-0.7 + u**0.7)
    ce_per_eqe = 3.3  # cd/A per % for a green line (checked in test_photometry)
    lum = eqe * ce_per_eqe * 10 * j
    spectra = np.full((v.size, WL.size), np.nan)
    for i in range(0, v.size, every):
        spectra[i] = np.exp(-0.5 * ((WL - peak - 0.5 * (v[i] - 3)) / 8.0) ** 2)
    data = {"time_s": np.arange(v.size) * 0.5, "voltage_V": v, "current_A": j * 1e-3 * area_cm2,
            "luminance_cd_m2": lum, "direction": d}
    if with_density:
        data["current_density_mA_cm2"] = j
    return types.SimpleNamespace(
        path=Path(f"/nonexistent/{sample}_{pixel}_jvl.h5"),
        attrs={"procedure": "procedures.jvl:JVLProcedure", "sample": sample, "pixel": pixel,
               "status": "finished", "simulated": True, "start_time": "2024-01-01T00:00:00Z"},
        parameters={"area_cm2": {"value": area_cm2, "units": "cm²", "label": "Area"},
                    "step_V": (0.1, "V"), "dwell_s": 0.2},
        data=pd.DataFrame(data), spectra=spectra, wavelength_nm=WL,
        events=pd.DataFrame({"time_s": [0.0], "level": ["info"], "message": ["sweep started"]}),
        truth=truth, analysis={})


def test_run_summary_matches_direct_analysis_and_area_route():
    run = fake_run()
    direct = summarize_jvl(run.data.voltage_V, run.data.current_density_mA_cm2,
                           run.data.luminance_cd_m2, wavelength_nm=WL, spectra=run.spectra,
                           direction=run.data.direction)
    assert report.run_summary(run).to_dict() == direct.to_dict()
    assert 1.2 < direct.turn_on_voltage_V < 4.0
    via_area = report.run_summary(fake_run(with_density=False))
    assert via_area.max_current_efficiency_cd_A == pytest.approx(direct.max_current_efficiency_cd_A,
                                                                 rel=1e-12)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One batch report (two runs with their own reports, one summary dict, one non-J-V-L
    run): figures are the slow part, so the tests below share it."""
    out = tmp_path_factory.mktemp("batch")
    s0 = report.run_summary(fake_run())
    truth = {"pixels": {"A1": {"max_eqe_percent": s0.max_eqe_percent * 1.01,
                               "peak_wavelength_nm": 516.0},
                        "A2": {"max_eqe_percent": 99.0}}}
    runs = [fake_run("pristine", "A1", truth=truth), fake_run("passivated", "B2", eqe_max=9.0, peak=508.0)]
    a2 = {**report.run_summary(fake_run("pristine", "A2", eqe_max=3.4)).to_dict(),
          "sample": "pristine", "pixel": "A2"}
    lifetime = fake_run("pristine", "A1")
    lifetime.data = pd.DataFrame({"time_s": [0.0]})
    md = report.write_batch_report(runs + [a2, lifetime], out)
    return out, md, s0, a2


def test_run_report_page_figures_and_truth_table(batch):
    out, _, s0, _ = batch
    md = out / "runs" / "pristine_A1_jvl.md"
    text = md.read_text(encoding="utf-8")
    assert (out / "runs" / "pristine_A1_jvl.html").exists()
    for heading in ("Figures of merit", "Truth vs measured", "Parameters", "Events"):
        assert f"## {heading}" in text
    # the figures-of-merit row carries value and unit
    row = next(line for line in text.splitlines() if line.startswith("| Maximum EQE"))
    assert f"{s0.max_eqe_percent:.4g}" in row and row.rstrip().endswith("| % |")
    # truth row picks the pixel's own truth and shows the deviation (-0.99 %)
    truth_part = text.split("## Truth vs measured")[1].split("## Figures")[0]
    truth_row = next(line for line in truth_part.splitlines() if line.startswith("| Maximum EQE"))
    assert "-0.99 %" in truth_row and "99" not in truth_row.split("|")[2]
    names = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(names) == 4
    for name in names:
        img = imread(out / "runs" / name)
        assert img.shape[0] > 300 and img.shape[1] > 300
        assert img[..., :3].std() > 0.05  # not a blank canvas


def test_non_jvl_run_gets_metadata_page(tmp_path):
    run = fake_run()
    run.data = pd.DataFrame({"time_s": [0.0, 1.0], "luminance_ratio": [1.0, 0.99]})
    run.attrs["procedure"] = "procedures.lifetime:LifetimeProcedure"
    md = report.write_run_report(run, tmp_path)
    assert "no J-V-L data" in md.read_text(encoding="utf-8")


def test_batch_report_statistics_links_and_skips(batch):
    out, md, _, a2 = batch
    text = md.read_text(encoding="utf-8")
    eqes = [report.run_summary(fake_run()).max_eqe_percent, a2["max_eqe_percent"]]
    expected = f"{np.mean(eqes):.2f} ± {np.std(eqes, ddof=1):.2f} (n=2)"
    row = next(line for line in text.splitlines() if line.startswith("| pristine |"))
    assert expected in row
    assert "Not J-V-L runs" in text
    assert (out / "runs" / "passivated_B2_jvl.md").exists()
    assert "(runs/passivated_B2_jvl.md)" in text
    html = (out / "batch_report.html").read_text(encoding="utf-8")
    assert 'href="runs/passivated_B2_jvl.html"' in html
    for png in ("batch_curves.png", "batch_metrics.png", "batch_cie.png"):
        assert imread(out / png).shape[0] > 300


def test_batch_report_from_summary_dicts_only(tmp_path):
    dicts = [{**report.run_summary(fake_run(p, eqe_max=e)).to_dict(), "sample": s, "pixel": p}
             for s, p, e in (("x", "1", 2.0), ("x", "2", 2.2), ("y", "1", 5.0))]
    md = report.write_batch_report(dicts, tmp_path, html_too=False, per_run_reports=False)
    assert "| y |" in md.read_text(encoding="utf-8")
    assert not (tmp_path / "batch_report.html").exists()
    with pytest.raises(ValueError, match="no J-V-L run"):
        report.write_batch_report([], tmp_path)


def test_truth_rows_ignore_unknown_keys_and_booleans():
    rows = report.truth_rows({"max_eqe_percent": 5.0, "el_peak_nm": None},
                             {"max_eqe_percent": 5.0, "el_peak_nm": 517.0, "noise": True,
                              "colour": "green"})
    assert rows[0][4] == "+0.00 %"
    assert rows[1][1] == "517.00" and rows[1][2] == "–" and rows[1][4] == "–"
