"""Schema round-trip, naming, units, export and analysis write-back of the run store."""
from __future__ import annotations

import datetime as dt
import os

import h5py
import numpy as np
import pandas as pd
import pytest

from acquisition.store import (SCHEMA_VERSION, LiveReader, RunWriter, export_csv, load_run,
                               journal_path, run_file_name, sanitise_name, units_for_column,
                               write_analysis)

WL = np.linspace(400.0, 700.0, 31)
TRUTH = {"ideality_factor": 1.8, "series_resistance_Ohm": 12.5, "n_layers": 3,
         "flag": True, "missing": None, "name": "CsPbBr3",
         "eqe_curve": {"j_mA_cm2": [0.1, 1.0, 10.0], "eqe": [0.05, 0.12, 0.09]},
         "labels": ["ETL", "EML", "HTL"], "ragged": [[1, 2], [3]]}


def make_run(tmp_path, n=120, **kw) -> tuple[RunWriter, dict]:
    w = RunWriter.create(
        tmp_path, procedure="procedures.jvl:JVLProcedure", sample="QD-7 (batch 3)",
        pixel="B4", operator="ada",
        parameters={"voltage_max_V": (6.0, "V"), "steps": (61, "", "Number of steps"),
                    "direction": ("forward", ""), "area_cm2": (0.04, "cm^2"),
                    "levels_V": ([0.0, 1.5, 3.0], "V"), "reverse": (False, "")},
        columns=["time_s", "voltage_V", "current_A", "current_density_mA_cm2",
                 "luminance_cd_m2", "cie_x"],
        spectrum_axis_nm=WL, truth=TRUTH,
        metadata={"simulated": True, "station": {"smu": {"model": "2400", "port": 5025}},
                  "instruments": {"smu": "KEITHLEY,2400,SIM,1"}}, **kw)
    rng = np.random.default_rng(3)
    rows = {"time_s": np.arange(n) * 0.1, "voltage_V": np.linspace(0, 6, n),
            "current_A": rng.random(n) * 1e-3}
    rows["current_density_mA_cm2"] = rows["current_A"] * 1e3 / 0.04
    rows["luminance_cd_m2"] = rng.random(n) * 1e4
    spectra = np.full((n, WL.size), np.nan)
    for i in range(n):
        row = {k: float(v[i]) for k, v in rows.items()}
        if i % 4 == 0:
            spectra[i] = rng.random(WL.size)
            row["spectrum"] = spectra[i]
        w.append(row)
    w.event("warning", "compliance hit at 5.9 V", time_s=12.0)
    return w, {"rows": rows, "spectra": spectra}


def test_round_trip_identical(tmp_path):
    w, ref = make_run(tmp_path)
    w.append_batch({"time_s": np.array([100.0, 100.1]), "cie_x": np.array([0.17, 0.18])})
    assert w.finish() == "finished"
    run = load_run(w.path)
    n = len(ref["rows"]["time_s"])
    assert len(run.data) == n + 2
    for col, values in ref["rows"].items():
        np.testing.assert_array_equal(run.data[col].to_numpy()[:n], values)
    np.testing.assert_array_equal(run.data["cie_x"].to_numpy()[n:], [0.17, 0.18])
    assert run.data["cie_x"].iloc[:n].isna().all()  # missing values are NaN, not 0
    np.testing.assert_array_equal(run.spectra[:n], ref["spectra"])  # NaN rows included
    assert np.isnan(run.spectra[n:]).all()
    np.testing.assert_array_equal(run.wavelength_nm, WL)
    assert run.units == {"time_s": "s", "voltage_V": "V", "current_A": "A",
                         "current_density_mA_cm2": "mA/cm^2", "luminance_cd_m2": "cd/m^2",
                         "cie_x": "1"}
    assert run.truth == TRUTH
    assert run.parameters["voltage_max_V"] == {"value": 6.0, "units": "V",
                                               "label": "voltage_max_V"}
    assert run.parameters["steps"]["value"] == 61 and run.parameters["steps"]["label"] == \
        "Number of steps"
    assert run.parameter_values()["levels_V"] == [0.0, 1.5, 3.0]
    assert run.parameter_values()["reverse"] is False
    assert run.parameter_values()["direction"] == "forward"
    assert list(run.events["message"]) == ["compliance hit at 5.9 V"]
    assert run.events["time_s"].iloc[0] == 12.0 and run.events["level"].iloc[0] == "warning"
    a = run.attrs
    assert a["schema_version"] == SCHEMA_VERSION and a["status"] == "finished"
    assert a["procedure"] == "procedures.jvl:JVLProcedure" and a["simulated"] is True
    assert a["sample"] == "QD-7 (batch 3)" and a["pixel"] == "B4" and a["operator"] == "ada"
    assert a["instruments"] == {"smu": "KEITHLEY,2400,SIM,1"}
    assert a["station"] == {"smu": {"model": "2400", "port": 5025}}
    start, end = (dt.datetime.fromisoformat(a[k].replace("Z", "+00:00"))
                  for k in ("start_time", "end_time"))
    assert start.tzinfo is not None and start.utcoffset() == dt.timedelta(0)
    assert 0 <= (end - start).total_seconds() < 60
    assert a["software_version"] and a["host"]
    assert not journal_path(w.path).exists()  # a clean finish removes the journal


def test_file_opens_plainly_with_units_on_every_column(tmp_path):
    w, _ = make_run(tmp_path, n=10)
    w.finish()
    with h5py.File(w.path, "r") as f:  # default h5py locking, as pandas/HDFView users do
        assert f.attrs["schema_version"] == SCHEMA_VERSION
        for name, ds in f["data"].items():
            assert "units" in ds.attrs, name
        assert f["data/spectrum"].shape == (10, WL.size)
        assert f["axes/wavelength_nm"].attrs["units"] == "nm"
        assert f["parameters/voltage_max_V"].attrs["units"] == "V"
        assert {"truth", "analysis", "events", "parameters"} <= set(f)


@pytest.mark.parametrize("name, units", [
    ("time_s", "s"), ("voltage_V", "V"), ("current_density_mA_cm2", "mA/cm^2"),
    ("luminance_cd_m2", "cd/m^2"), ("current_efficiency_cd_A", "cd/A"),
    ("capacitance_F", "F"), ("frequency_Hz", "Hz"), ("level_Vrms", "V (rms)"),
    ("eqe_percent", "%"), ("eqe_fraction", "1"), ("cie_y", "1"), ("wavelength_nm", "nm"),
    ("doping_per_cm3", "cm^-3"), ("mobility_cm2_Vs", "cm^2/(V s)")])
def test_units_from_name_suffix(name, units):
    assert units_for_column(name) == units


@pytest.mark.parametrize("bad", ["voltage_v", "brightness", "current_amps", "x"])
def test_unknown_unit_suffix_is_rejected(bad):
    with pytest.raises(ValueError, match="unit suffix"):
        units_for_column(bad)
    assert units_for_column(bad, {bad: "arb."}) == "arb."


def test_sanitised_names():
    assert sanitise_name("QD #1 / test") == "QD_1_test"
    assert sanitise_name("../../etc/passwd") == "etc_passwd"
    assert sanitise_name("ünïcode ok-1.2") == "n_code_ok-1.2"
    assert sanitise_name("") == "unnamed" and sanitise_name("///") == "unnamed"
    assert len(sanitise_name("x" * 500)) == 48
    when = dt.datetime(2024, 5, 17, 9, 3, 4)
    assert run_file_name("QD #1", "procedures.lifetime:LifetimeProcedure", when) == \
        "20240517-090304_QD_1_lifetime.h5"
    assert run_file_name("s", "m:JVLProcedure", when, 3) == "20240517-090304_s_jvl-3.h5"


def test_never_overwrite_same_second(tmp_path, monkeypatch):
    monkeypatch.setattr("acquisition.store.writer._local_now",
                        lambda: dt.datetime(2024, 1, 2, 3, 4, 5))
    writers = [RunWriter.create(tmp_path, procedure="m:JVLProcedure", sample="s",
                                columns=["voltage_V"], background_flush=False)
               for _ in range(3)]
    names = [w.path.name for w in writers]
    assert names == ["20240102-030405_s_jvl.h5", "20240102-030405_s_jvl-2.h5",
                     "20240102-030405_s_jvl-3.h5"]
    for i, w in enumerate(writers):
        w.append({"voltage_V": float(i)})
        w.finish()
    for i, w in enumerate(writers):  # each file kept its own data
        assert load_run(w.path).data["voltage_V"].tolist() == [float(i)]
    assert sorted(os.listdir(tmp_path)) == sorted(names)  # no temporary files left


def test_bad_input_is_one_clear_line(tmp_path):
    kw = dict(procedure="m:P", sample="s")
    with pytest.raises(ValueError, match="flush_interval_s = 0 is out of range"):
        RunWriter.create(tmp_path, columns=["time_s"], flush_interval_s=0, **kw)
    with pytest.raises(ValueError, match="metadata keys"):
        RunWriter.create(tmp_path, columns=["time_s"], metadata={"colour": 1}, **kw)
    with pytest.raises(ValueError, match="reserved"):
        RunWriter.create(tmp_path, columns=["spectrum"], **kw)
    w = RunWriter.create(tmp_path, columns=["time_s"], spectrum_axis_nm=WL,
                         background_flush=False, **kw)
    with pytest.raises(ValueError, match="unknown keys"):
        w.append({"time_s": 1.0, "tme_s": 2.0})
    with pytest.raises(ValueError, match="expected 31 points"):
        w.append({"time_s": 1.0, "spectrum": np.ones(30)})
    with pytest.raises(ValueError, match="for each of 2 rows"):
        w.append_batch({"time_s": [1.0, 2.0], "spectrum": np.ones((1, 31))})
    with pytest.raises(ValueError, match="for each of 2 rows"):
        w.append_batch({"time_s": [1.0, 2.0], "spectrum": np.ones((3, 31))})
    with pytest.raises(ValueError, match="level"):
        w.event("fatal", "x")
    w.append({"time_s": "not a number"})  # stored as NaN with a warning event, not lost
    w.append({"time_s": 2.0})
    w.finish()
    run = load_run(w.path)
    assert np.isnan(run.data["time_s"].iloc[0]) and run.data["time_s"].iloc[1] == 2.0
    assert run.events["message"].str.contains("non-numeric").any()
    for line in str(pytest.raises(ValueError, RunWriter.create, tmp_path,
                                  columns=["brightness"], **kw).value).splitlines()[1:]:
        pytest.fail(f"multi-line error: {line}")


def test_export_csv_header_and_refuses_overwrite(tmp_path):
    w, ref = make_run(tmp_path, n=7)
    w.finish()
    out = export_csv(w.path)
    text = out.read_text().splitlines()
    assert text[0] == "#Procedure: <procedures.jvl.JVLProcedure>"
    assert text[1] == "#Parameters:"
    assert "#\tvoltage_max_V: 6.0 V" in text and "#\tNumber of steps: 61" in text
    data_at = text.index("#Data:")
    assert text[data_at + 1] == "time_s,voltage_V,current_A,current_density_mA_cm2," \
                                "luminance_cd_m2,cie_x"
    import colour  # noqa: F401  - switches numpy to legacy 12-digit printing: must not matter
    df = pd.read_csv(out, comment="#")
    np.testing.assert_allclose(df["current_density_mA_cm2"],
                               ref["rows"]["current_density_mA_cm2"], rtol=1e-15)
    with pytest.raises(FileExistsError):
        export_csv(w.path, out)
    # PyMeasure's header parser (Results.parse_header) reads module and class from it
    import re
    m = re.search(r"<(?:(?P<module>[^>]+)\.)?(?P<class>[^.>]+)>", text[0])
    assert (m["module"], m["class"]) == ("procedures.jvl", "JVLProcedure")


def test_write_analysis_replaces_only_its_group(tmp_path):
    w, _ = make_run(tmp_path, n=5)
    w.finish()
    before = load_run(w.path)
    write_analysis(w.path, "jvl", {"turn_on_V": 2.61, "curve": np.arange(4.0)})
    write_analysis(w.path, "jvl", {"turn_on_V": 2.70, "fit": {"n": 1.9}})
    write_analysis(w.path, "lifetime", {"t50_h": 12.0})
    after = load_run(w.path)
    assert after.analysis == {"jvl": {"turn_on_V": 2.70, "fit": {"n": 1.9}},
                              "lifetime": {"t50_h": 12.0}}
    pd.testing.assert_frame_equal(after.data, before.data)
    assert after.truth == before.truth and after.attrs == before.attrs
    with pytest.raises(ValueError, match="allowed are"):
        write_analysis(w.path, "bad", {"obj": object()})
    assert load_run(w.path).analysis["jvl"]["turn_on_V"] == 2.70  # failed write left it alone


def test_write_analysis_refuses_running_run(tmp_path):
    w, _ = make_run(tmp_path, n=3)
    w.flush()
    with pytest.raises(ValueError, match="status running"):
        write_analysis(w.path, "x", {"a": 1})
    w.finish()


def test_live_reader_returns_only_new_rows(tmp_path):
    w, ref = make_run(tmp_path, n=0, flush_interval_s=60.0)
    reader = LiveReader(w.path, spectra=True)
    assert reader.poll().empty and reader.status == "running"
    for chunk in range(3):
        w.append_batch({"time_s": np.arange(10.0) + 10 * chunk,
                        "voltage_V": np.full(10, float(chunk))})
        before_flush = reader.poll()
        assert before_flush.empty  # buffered rows are not visible until flushed
        w.flush()
        new = reader.poll()
        assert list(new.index) == list(range(10 * chunk, 10 * chunk + 10))
        assert (new["voltage_V"] == chunk).all()
        assert reader.new_spectra.shape == (10, WL.size)
    w.finish()
    assert reader.poll().empty and reader.status == "finished"
    assert reader.units["luminance_cd_m2"] == "cd/m^2"
    assert list(reader.new_events["message"]) == []
