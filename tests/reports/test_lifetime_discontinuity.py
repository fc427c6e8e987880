"""A recorded discontinuity (a resume accepted on a pixel that did not continue the run) makes
the lifetime analysis use the segment before it, and the page says so."""
from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from reports.lifetime import analyze_run, discontinuity_s, write_run_report


def fake_run(events):
    t = np.arange(0.0, 2000.0, 5.0)
    tau, beta = 600.0, 0.6
    lum = 1000.0 * np.exp(-(t / tau) ** beta)
    spliced = t > 1000.0                         # a fresh pixel after the resume
    lum[spliced] = 1000.0 * np.exp(-((t[spliced] - 1000.0) / tau) ** beta)
    data = pd.DataFrame({"time_s": t, "luminance_cd_m2": lum, "voltage_V": 4.0 + 0 * t,
                         "current_density_mA_cm2": 2.0 + 0 * t})
    return types.SimpleNamespace(data=data, events=pd.DataFrame(events), truth=None,
                                 parameters={}, attrs={"sample": "s", "pixel": "1",
                                                       "procedure": "procedures.lifetime:"
                                                       "LifetimeProcedure"}, path=None)


EVENT = {"time_s": [1000.0], "level": ["warning"],
         "message": ["discontinuity at t = 1000 s: L = 998 cd/m² against 261 …; resumed with "
                     "--accept-discontinuity: T_x are computed on the segment before"]}


def test_t50_comes_from_the_segment_before_the_discontinuity(tmp_path):
    spliced = fake_run(EVENT)
    assert discontinuity_s(spliced) == 1000.0
    a = analyze_run(spliced)
    before = fake_run({"time_s": [], "level": [], "message": []})
    before.data = before.data[before.data["time_s"] <= 1000.0]
    b = analyze_run(before)
    assert a["t50_h"] == pytest.approx(b["t50_h"], rel=1e-12)
    # across the splice the stretched-exponential fit would mix two histories
    whole = analyze_run(fake_run({"time_s": [], "level": [], "message": []}))
    assert a["tau_h"] == pytest.approx(600 / 3600, rel=0.01) and a["beta"] == pytest.approx(0.6, rel=0.01)
    assert abs(whole["tau_h"] / a["tau_h"] - 1) > 0.05 or abs(whole["beta"] / 0.6 - 1) > 0.05
    true_t50_h = 600.0 * np.log(2) ** (1 / 0.6) / 3600
    assert a["t50_h"] == pytest.approx(true_t50_h, rel=0.02)
    assert a["discontinuity_at_h"] == pytest.approx(1000 / 3600)
    page = write_run_report(spliced, tmp_path).read_text()
    assert "**Discontinuity.**" in page and "segment" in page
