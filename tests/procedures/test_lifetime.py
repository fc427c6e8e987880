"""Lifetime procedure end to end on the simulated bench: truth, faults, shorts, signals, resume."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from acquisition.runner import resume_run
from acquisition.store import load_run
from analysis.lifetime import fit_acceleration_exponent
from reports.lifetime import analyze_run, write_run_report
from procedures.base import build_procedure
from procedures.lifetime import ERROR_QUEUE_EVERY_S, LifetimeProcedure
from procedures.lifetime_channels import run_channels

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/: shared helpers
from bench_runs import sigkill_once_logged  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _channels(n, **common):
    return [dict({"station": "sim", "sample": "dev", "pixel": c}, **common)
            for c in range(1, n + 1)]


def test_parameters_validated_before_anything_connects():
    for both in ({"current_density_mA_cm2": 5.0, "l0_cd_m2": 1000}, {}):   # both, neither
        with pytest.raises(ValueError, match="set exactly one") as info:
            build_procedure(LifetimeProcedure, both)
        assert "\n" not in str(info.value) and "l0_cd_m2 allowed 0" in str(info.value)
    # Either one alone is the whole stress specification; the other stays 0.
    only_j = build_procedure(LifetimeProcedure, {"current_density_mA_cm2": 5.0})
    assert only_j.l0_cd_m2 == 0.0
    only_l0 = build_procedure(LifetimeProcedure, {"l0_cd_m2": 1000.0})
    assert only_l0.current_density_mA_cm2 == 0.0
    with pytest.raises(ValueError, match="spectroradiometer"):
        build_procedure(LifetimeProcedure, {"light_route": "spectroradiometer", "channel": 2,
                                            "l0_cd_m2": 1000.0})
    with pytest.raises(ValueError, match="stop_fraction"):
        build_procedure(LifetimeProcedure, {"stop_fraction": 1.5})


def test_t50_and_acceleration_exponent_recover_truth(tmp_path):
    """Passivated default device at three L0: T50 within 3 % of truth, n within 0.1."""
    l0s = (1000.0, 2000.0, 5000.0)
    values = [dict(v, l0_cd_m2=l0, log_interval_s=2.0, max_hours=2.0)
              for v, l0 in zip(_channels(3), l0s)]
    results = run_channels(values, tmp_path, overrides={"time_scale": 1500.0},
                           handle_signals=False)
    assert [r.status for r in results] == ["finished"] * 3
    found = []
    for r in results:
        run = load_run(r.path)
        a = analyze_run(run)
        assert a["t50_extrapolated"] is False
        assert a["t50_h"] == pytest.approx(a["truth_t50_h"], rel=0.03)
        assert a["voltage_rise_at_t50_V"] == pytest.approx(0.3, abs=0.03)   # device truth
        assert run.data["relative_luminance_fraction"].iloc[-1] <= 0.5
        assert a["l0_cd_m2"] == pytest.approx(a["truth_l0_cd_m2"], rel=0.03)
        found.append((a["l0_cd_m2"], a["t50_h"]))          # measured L0 and T50 only
    n, n_err = fit_acceleration_exponent(*zip(*found))
    assert n == pytest.approx(1.5, abs=0.1)
    page = write_run_report(load_run(results[0].path), tmp_path / "report")
    text = page.read_text()
    assert "Acceleration law" in text and "100 cd/m²" in text
    assert len(list((tmp_path / "report").glob("*.png"))) >= 3


def test_eight_hours_with_faults_mid_run_keeps_every_row(tmp_path):
    interval = 60.0
    faults = [{"kind": "drop", "instrument": "smu", "channel": 1, "at_time_s": 3 * 3600.0},
              {"kind": "garble", "instrument": "photodiode", "channel": 1,
               "at_time_s": 5 * 3600.0}]
    values = [dict(_channels(1)[0], l0_cd_m2=120.0, log_interval_s=interval, max_hours=8.0)]
    scale = 7200.0
    (r,) = run_channels(values, tmp_path, overrides={"time_scale": scale, "faults": faults},
                        handle_signals=False)
    assert r.status == "finished", r.message
    run = load_run(r.path)
    t = run.data["time_s"].to_numpy()
    assert t[-1] >= 8 * 3600.0
    ev = run.events
    messages = " | ".join(ev["message"])
    assert "duration cap" in messages
    for who in ("channel1.smu", "channel1.photodiode"):
        assert any(m.startswith(f"{who}: reconnected") for m in ev["message"]), who
    # Event times count from the procedure's start, rows from the first stress reading.
    offset = float(ev.loc[ev["message"].str.startswith("L0 ="), "time_s"].iloc[0])
    margin = 0.05 * scale      # 50 ms of wall time: exchanges plus host stalls on a busy CI box
    warn = ev.loc[ev["message"].str.contains("reconnect attempt"), "time_s"] - offset
    done = ev.loc[ev["message"].str.contains(": reconnected"), "time_s"] - offset
    # A dropped socket is noticed only when the VISA read times out (5 s of wall time on
    # the simulated station), before the first warning: the outage starts that much earlier.
    detect_s = 6.0 * scale
    outage = list(zip(warn.to_numpy() - detect_s - interval - margin, done.to_numpy()))
    assert len(outage) == 2
    # A gap longer than the schedule (plus slack) lies across a reconnect, and logging picks
    # up within one interval of the link coming back: no row is lost outside an outage.
    for k in np.nonzero(np.diff(t) > interval + margin)[0]:
        assert any(lo <= t[k] and t[k + 1] <= hi + interval + margin for lo, hi in outage), \
            (t[k], t[k + 1], outage)
    lost_s = sum(hi - lo for lo, hi in outage)
    assert len(t) >= (8 * 3600.0 - lost_s) / (interval + margin) - 2
    a = analyze_run(run)
    # T50 ≈ 12 h: measured if the outage carried the stress past it, else extrapolated.
    assert a["t50_h"] == pytest.approx(a["truth_t50_h"], rel=0.05)
    assert a["t50_extrapolated"] is (a["final_relative"] > 0.5)


def test_eight_channels_one_shorts_the_others_reach_t50(tmp_path):
    values = [dict(v, l0_cd_m2=2000.0, log_interval_s=2.0, max_hours=1.0)
              for v in _channels(8)]
    # Bench time: opening 8 channels takes ~0.1 s of wall time (~150 s here), the searches
    # run on real time, T50 ≈ 636 s: the short lands mid-stress, before T50.
    short = {"kind": "short", "pixel": 2, "at_time_s": 450.0}
    seen = {}
    results = run_channels(values, tmp_path, overrides={"time_scale": 1500.0,
                                                        "faults": [short]},
                           handle_signals=False,
                           on_started=lambda procs, st: seen.update(procs=procs,
                                                                    bench=st.bench))
    for c, r in enumerate(results, start=1):
        run = load_run(r.path)
        assert r.status == "finished"
        assert run.attrs["pixel"] == str(c)
        if c == 3:
            assert "short" in seen["procs"][3].stop_reason
            assert any("stopped safely" in m and "short" in m for m in run.events["message"])
            rel = run.data["relative_luminance_fraction"].to_numpy()
            assert rel[rel > 0.05].min() > 0.5 and rel[-1] < 0.05   # shorted before T50
        else:
            assert run.data["relative_luminance_fraction"].iloc[-1] <= 0.5
            assert analyze_run(run)["t50_extrapolated"] is False
    assert all(p.current_A == 0.0 for p in seen["bench"].pixels)


def test_sigterm_switches_every_output_off_and_finalises(tmp_path):
    values = [dict(v, l0_cd_m2=1000.0, log_interval_s=1.0, max_hours=10.0)
              for v in _channels(2)]
    seen = {}

    def started(procs, station):
        seen["bench"] = station.bench

        def kill_when_logging():
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not all(
                    p.live["state"] == "stress" and p.live["elapsed_s"] > 30
                    for p in procs.values()):
                time.sleep(0.01)
            seen["on_before"] = [p.current_A > 0 for p in station.bench.pixels]
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=kill_when_logging, daemon=True).start()

    results = run_channels(values, tmp_path, overrides={"time_scale": 100.0},
                           on_started=started)
    assert seen["on_before"] == [True, True]
    assert all(p.current_A == 0.0 for p in seen["bench"].pixels)
    for r in results:
        assert r.status == "aborted" and "SIGTERM" in r.message
        run = load_run(r.path)
        assert run.status == "aborted" and len(run.data) > 5


def test_sigkill_then_resume_continues_to_the_stop_fraction(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "qled", "run", "lifetime", "--station", "sim",
           "--out", str(tmp_path), "--sample", "killed", "--l0-cd-m2", "2000",
           "--log-interval-s", "5", "--time-scale", "300", "--flush-interval", "0.1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rows_before = sigkill_once_logged(proc, tmp_path, 15, timeout_s=60)
    finally:
        proc.stdout.close()
        proc.stderr.close()
    assert rows_before >= 15, "the run never logged"
    (path,) = tmp_path.glob("*.h5")
    assert load_run(path).status == "running"           # killed: not finalised
    result = resume_run(path, LifetimeProcedure, flush_interval_s=0.2, handle_signals=False)
    assert result.status == "finished", result.message
    run = load_run(path)
    t = run.data["time_s"].to_numpy()
    assert np.all(np.diff(t) > 0) and len(t) >= rows_before
    assert run.data["relative_luminance_fraction"].iloc[-1] <= 0.5
    messages = " | ".join(run.events["message"])
    assert "resume: gap" in messages and "re-aged" in messages
    a = analyze_run(run)
    assert a["t50_h"] == pytest.approx(a["truth_t50_h"], rel=0.05)


# ------------------------------------------------------------------------------ CLI
def _qled(capsys, *args):
    from qled.cli import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_current_density_alone_sets_the_stress(tmp_path, capsys):
    """`qled run lifetime --current-density-mA-cm2 X` with no --l0-cd-m2: J is the stress."""
    code, out, err = _qled(capsys, "run", "lifetime", "--station", "sim", "--out", tmp_path,
                           "--sample", "cli", "--current-density-mA-cm2", 5,
                           "--log-interval-s", 2, "--max-hours", 0.02, "--time-scale", 600,
                           "--no-noise")
    assert code == 0, err
    (path,) = tmp_path.glob("*_cli_lifetime.h5")
    run = load_run(path)
    assert run.status == "finished"
    assert run.parameter_values()["l0_cd_m2"] == 0.0
    assert run.parameter_values()["current_density_mA_cm2"] == 5.0
    assert run.attrs["station"]["lifetime"]["stress_set_by"] == "current_density"
    # 5 mA/cm² × 0.04 cm² = 0.2 mA at every row, no L0 search
    np.testing.assert_allclose(run.data["source_current_A"], 2e-4, rtol=1e-12)
    assert not run.events["message"].str.startswith("L0 search").any()
    assert run.data["time_s"].iloc[-1] >= 0.02 * 3600
    a = analyze_run(run)
    assert a["stress_current_density_mA_cm2"] == pytest.approx(5.0, rel=1e-3)
    assert a["l0_cd_m2"] == pytest.approx(a["truth_l0_cd_m2"], rel=0.03)
    assert "ch1 " in err and "duration cap" in err        # the live status line, final state
    assert f"ch1 finished: {path}" in out


def test_cli_channels_stress_consecutive_pixels_each_its_own_device(tmp_path, capsys):
    """--channels 3 --pixel 2 → pixels 2, 3, 4: one file each, each its own seeded device."""
    import dataclasses

    from simulators.device import LEDDevice, LEDParameters

    code, out, err = _qled(capsys, "run", "lifetime", "--station", "sim", "--out", tmp_path,
                           "--sample", "px", "--channels", 3, "--pixel", 2,
                           "--current-density-mA-cm2", 5, "--log-interval-s", 2,
                           "--max-hours", 0.01, "--time-scale", 600, "--no-noise")
    assert code == 0, err
    runs = [load_run(p) for p in sorted(tmp_path.glob("*.h5"))]
    assert sorted(r.attrs["pixel"] for r in runs) == ["2", "3", "4"]
    assert sorted(r.parameter_values()["channel"] for r in runs) == [1, 2, 3]
    for r in runs:     # each file is named by its channel, whatever order they started in
        assert r.path.name.endswith(f"_px_lifetime_ch{r.parameter_values()['channel']}.h5")
    current = 5e-3 * 0.04
    fresh = {}          # the fresh L0 of each pixel's own device, built independently
    for px in (2, 3, 4):
        params = LEDParameters.passivated().sampled(np.random.default_rng(px))
        dev = LEDDevice(dataclasses.replace(params, area_cm2=0.04))
        fresh[px] = float(dev.luminance_cd_m2(current, aged=False))
    assert len({round(v, 3) for v in fresh.values()}) == 3     # distinct devices
    for r in runs:
        px = int(r.attrs["pixel"])
        assert r.parameter_values()["channel"] == px - 1
        l0 = float(r.data["luminance_cd_m2"].iloc[0])
        # the file's L0 is its own pixel's device, not another channel's
        assert min(fresh, key=lambda k: abs(fresh[k] - l0)) == px
        assert l0 == pytest.approx(fresh[px], rel=0.03)
    assert "--pixel" in " ".join(
        a.help for a in _lifetime_run_parser()._actions if a.dest == "channels")


def _lifetime_run_parser():
    from qled.cli import build_parser

    parser = build_parser()
    run = next(a for a in parser._actions if getattr(a, "choices", None)
               and "run" in a.choices).choices["run"]
    return next(a for a in run._actions if getattr(a, "choices", None)
                and "lifetime" in a.choices).choices["lifetime"]


def test_cli_pixel_range_with_channels_is_one_line(tmp_path, capsys):
    code, out, err = _qled(capsys, "run", "lifetime", "--station", "sim", "--out", tmp_path,
                           "--channels", 3, "--pixel", 63, "--current-density-mA-cm2", 5)
    assert code == 2
    assert err.count("\n") == 1 and "--pixel = 63" in err and "allowed 1 … 62" in err
    assert not list(tmp_path.glob("*.h5"))


def test_queued_smu_errors_are_recorded_and_logging_continues(tmp_path):
    """An error pushed on the SMU's queue mid-run → a warning event; the run goes on."""
    faults = [{"kind": "error", "instrument": "smu", "channel": 1, "at_time_s": 100.0,
               "code": -222, "message": "Data out of range", "count": 2}]
    values = [dict(_channels(1)[0], current_density_mA_cm2=5.0, log_interval_s=5.0,
                   max_hours=0.1)]
    (r,) = run_channels(values, tmp_path, overrides={"time_scale": 600.0, "noise": False,
                                                     "faults": faults},
                        handle_signals=False)
    assert r.status == "finished", r.message
    run = load_run(r.path)
    ev = run.events
    hits = ev[ev["message"].str.contains("instrument error -222")]
    assert len(hits) == 2 and set(hits["level"]) == {"warning"}
    assert hits["message"].str.startswith("channel1.smu: instrument error -222, Data out of "
                                          "range").all()
    # Read within one error-queue period (+ a row) of the fault (bench time 100 s ≥ stress
    # time), and logging went on to the normal end of the run.
    offset = float(ev.loc[ev["message"].str.startswith("L0 ="), "time_s"].iloc[0])
    seen_at = float(hits["time_s"].iloc[0]) - offset
    assert seen_at <= 100.0 + ERROR_QUEUE_EVERY_S + 2 * 5.0
    t = run.data["time_s"].to_numpy()
    assert (t > seen_at).sum() >= 10
    procedure_events = ev["message"][~ev["message"].str.contains(": output |^environment |^dark current")]
    assert procedure_events.str.contains(": done|duration cap").iloc[-1]
    assert not ev["message"].str.contains("not readable").any()


def test_resume_cli_shows_the_live_status_line_and_keeps_the_schedule(tmp_path, capsys):
    """`qled resume FILE` (lifetime) prints the channel's status line; before and after the
    resume, rows follow the log-interval schedule in stress time (not start-up time)."""
    from acquisition.runner import RunEngine

    interval, cap_h = 2.0, 0.01
    proc = build_procedure(LifetimeProcedure, {"station": "sim", "sample": "res",
                                               "current_density_mA_cm2": 5.0,
                                               "log_interval_s": interval, "max_hours": cap_h})
    proc.sim_overrides = {"time_scale": 30.0, "noise": False}
    engine = None

    def stop_after_rows(topic, record):
        if topic == "results" and record["time_s"] >= 14.0:
            engine.stop()

    engine = RunEngine(proc, tmp_path, flush_interval_s=0.1, on_emit=stop_after_rows)
    first = engine.run(handle_signals=False)
    assert first.status == "aborted" and first.rows >= 5
    code, out, err = _qled(capsys, "resume", first.path, "--flush-interval", 0.1)
    assert code == 0, err
    assert f"finished: {first.path}" in out
    lines = [ln for ln in err.splitlines() if ln.startswith("ch1 ")]
    assert lines and "L/L0" in lines[-1] and "duration cap" in lines[-1]
    run = load_run(first.path)
    assert run.status == "finished" and len(run.data) > first.rows
    t = run.data["time_s"].to_numpy()
    assert np.all(np.diff(t) > 0) and t[-1] >= cap_h * 3600
    steps = np.delete(np.diff(t), first.rows - 1)          # not across the resume
    assert np.median(steps) == pytest.approx(interval, abs=0.25)
    assert len(t) <= cap_h * 3600 / interval + 4
    assert steps.max() < 3 * interval                      # no stall after the resume
