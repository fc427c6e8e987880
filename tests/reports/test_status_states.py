"""reports.status on run files written by the store: finished, failed, a lifetime channel
stopped by a fault or before its target, a live writer running (and not blocked)."""
from __future__ import annotations

import datetime as _dt
import math

import pytest

from acquisition.store import RunWriter, load_run
from reports.status import run_state, run_states

LIFETIME = "procedures.lifetime:LifetimeProcedure"
COLUMNS = ["time_s", "luminance_cd_m2", "relative_luminance_fraction"]


def _lifetime(out, sample, status, events=(), rel_end=0.4, interval_s=10.0, finish=True):
    w = RunWriter.create(out, procedure=LIFETIME, sample=sample, pixel="2", columns=COLUMNS,
                         parameters={"log_interval_s": (interval_s, "s"),
                                     "stop_fraction": (0.5, ""), "channel": (3, "")},
                         background_flush=False)
    for k, rel in enumerate([1.0, 0.9, 0.8, rel_end]):
        w.append({"time_s": k * interval_s, "luminance_cd_m2": 1000.0 * rel,
                  "relative_luminance_fraction": rel})
    for level, message in events:
        w.event(level, message)
    w.flush()
    if finish:
        w.finish(status)
        w.close()
    return w


def test_states_from_files(tmp_path):
    done = _lifetime(tmp_path, "done", "finished", [("info", "L/L0 = 0.4 ≤ 0.5 for 3 rows at "
                                                     "t = 30 s: done")]).path
    fault = _lifetime(tmp_path, "fault", "finished", [
        ("error", "channel 3 stopped safely: voltage at compliance")], rel_end=0.75).path
    short = _lifetime(tmp_path, "short", "finished", rel_end=0.7).path
    failed = _lifetime(tmp_path, "failed", "failed", [("error", "exception: disk full")]).path
    got = {s.sample: s for s in run_states([tmp_path])}
    assert got["done"].state == "finished"
    assert got["fault"].state == "channel stopped early"
    assert "compliance" in got["fault"].reason
    assert got["short"].state == "channel stopped early" and "before its target" in \
        got["short"].reason
    assert got["failed"].state == "failed" and "disk full" in got["failed"].reason
    for path in (done, fault, short, failed):
        run, s = load_run(path), got[load_run(path).attrs["sample"]]
        assert s.relative_luminance == run.data["relative_luminance_fraction"].iloc[-1]
        assert s.elapsed_s == run.data["time_s"].iloc[-1] == 30.0
        assert s.channel == 3 and s.since == run.attrs["end_time"]


def test_live_writer_running_then_stalled(tmp_path):
    """A writer that holds its file open (run lock taken) is read without blocking it;
    on the real-time clock its limit is 2 × 10 s."""
    w = _lifetime(tmp_path, "live", "running", finish=False)
    try:
        s = run_state(w.path)
        assert s.state == "running" and s.stall_after_s == pytest.approx(20.0)
        w.append({"time_s": 40.0, "luminance_cd_m2": 300.0, "relative_luminance_fraction": 0.3})
        w.flush(lock_timeout_s=1.0)               # the reader left nothing locked
        later = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=21)
        s = run_state(w.path, now=later)
        assert s.state == "stalled" and s.relative_luminance == 0.3
        assert 20.0 < s.last_row_age_s < 23.0 and math.isfinite(s.wall_elapsed_s)
    finally:
        w.finish("aborted")
        w.close()
    assert run_state(w.path).state == "aborted"


def test_sweep_without_log_interval_uses_its_row_step(tmp_path):
    """A J-V-L sweep has no log interval: the stall limit is k × its typical row step."""
    w = RunWriter.create(tmp_path, procedure="procedures.jvl:JVLProcedure", sample="jv",
                         columns=["time_s", "voltage_V"], background_flush=False)
    try:
        for k in range(6):
            w.append({"time_s": 3.0 * k, "voltage_V": 0.1 * k})
        w.flush()
        s = run_state(w.path, stall_intervals=2)
        assert s.state == "running" and s.log_interval_wall_s == pytest.approx(3.0)
        assert s.stall_after_s == pytest.approx(6.0) and math.isnan(s.relative_luminance)
        later = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=7)
        assert run_state(w.path, now=later).state == "stalled"
    finally:
        w.finish("finished")
        w.close()
    assert run_state(w.path).state == "finished"


def test_recent_limits_what_is_read_but_not_running_runs(tmp_path):
    for k in range(4):
        _lifetime(tmp_path, f"old{k}", "finished")
    live = _lifetime(tmp_path, "live", "running", finish=False)
    try:
        got = run_states([tmp_path], recent=2)
        assert [s.sample for s in got][0] == "live" and len(got) == 3
        assert [s.state for s in run_states([tmp_path], recent=0)] == ["running"]
    finally:
        live.finish("finished")
        live.close()
