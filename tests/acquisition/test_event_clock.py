"""Events carry one clock (issue 18): ``/events/time_s`` is seconds since the run started on
the run's clock — the engine's own time until the procedure has a clock, then that clock —
never NaN, never going back, across a resume too; lifetime's stress time is its own column
``/events/stress_time_s`` (NaN where there is no stress yet). Files without that column
still load."""
from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from pymeasure.experiment import IntegerParameter, Procedure

from acquisition.runner import RunEngine, resume_run, run_procedure
from acquisition.store import LiveReader, RunWriter, load_run

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import writer_child as wc  # noqa: E402


class FastClock:
    """A procedure's clock that runs 1000× (an accelerated simulated bench)."""
    def __init__(self):
        import time
        self._t0 = time.monotonic()

    def time(self):
        import time
        return 1000.0 * (time.monotonic() - self._t0)


class ClockedProcedure(Procedure):
    """Logs an event before it has a clock, then events on its own fast clock."""

    points = IntegerParameter("Points", default=5)
    DATA_COLUMNS = ["time_s", "voltage_V"]

    def startup(self):
        self.emit("event", {"level": "info", "message": "before the clock",
                            "time_s": float("nan")})          # a NaN of old: ignored
        self.clock = FastClock()

    def execute(self):
        import time
        start = getattr(self, "start", 0)
        for i in range(start, start + self.points):
            self.emit("results", {"time_s": float(i), "voltage_V": 0.1 * i})
            self.emit("event", {"level": "info", "message": f"point {i}",
                                "time_s": -123.0})           # the engine stamps, not this
            time.sleep(0.01)

    def resume_from(self, run):
        self.start = len(run.data)
        return True


def test_events_are_on_the_procedure_clock_and_never_nan(tmp_path):
    result = run_procedure(ClockedProcedure(), tmp_path, handle_signals=False)
    ev = load_run(result.path).events
    t = ev["time_s"].to_numpy()
    assert np.all(np.isfinite(t)) and np.all(np.diff(t) >= 0)
    points = ev[ev["message"].str.startswith("point")]["time_s"].to_numpy()
    # 10 ms of wall time between points is 10 s on the procedure's 1000× clock
    assert np.all(np.diff(points) > 5.0), points
    assert ev["time_s"].iloc[0] < 5.0                  # before the clock: engine time ≈ 0
    assert "stress_time_s" in ev and ev["stress_time_s"].isna().all()


def test_resumed_run_continues_the_clock(tmp_path):
    first = run_procedure(ClockedProcedure(), tmp_path, handle_signals=False)
    with h5py.File(first.path, "r+") as f:
        f.attrs["status"] = "aborted"
    before = load_run(first.path).events["time_s"].to_numpy()
    resume_run(first.path, ClockedProcedure, handle_signals=False)
    ev = load_run(first.path).events
    t = ev["time_s"].to_numpy()
    assert np.all(np.isfinite(t))
    assert np.all(np.diff(t) >= 0), t            # never back, also across the resume
    assert t[len(before)] >= before[-1]
    assert ev["message"].iloc[len(before)].startswith(("before the clock", "resume: gap"))


def test_lifetime_events_carry_stress_time_in_their_own_column(tmp_path):
    from procedures.base import build_procedure
    from procedures.lifetime import LifetimeProcedure

    proc = build_procedure(LifetimeProcedure, {"station": "sim", "l0_cd_m2": 1000.0,
                                               "log_interval_s": 5.0, "max_hours": 0.02})
    proc.sim_overrides = {"time_scale": 600.0, "noise": False}
    result = RunEngine(proc, tmp_path, flush_interval_s=0.2).run(handle_signals=False)
    assert result.status == "finished", result.message
    run = load_run(result.path)
    ev = run.events
    t = ev["time_s"].to_numpy()
    assert np.all(np.isfinite(t)) and np.all(np.diff(t) >= 0)
    msgs = ev["message"]
    search = ev[msgs.str.startswith("L0 search step")]
    assert len(search) and search["stress_time_s"].isna().all()      # no stress yet
    # stamped when logged, just after the row (at 600× a loaded machine's 50 ms are 30 s)
    l0 = ev[msgs.str.startswith("L0 = ")]
    assert 0.0 <= l0["stress_time_s"].iloc[0] <= 60.0
    cap = ev[msgs.str.startswith("duration cap")]
    last = run.data["time_s"].iloc[-1]
    assert last <= cap["stress_time_s"].iloc[0] <= last + 60.0
    # the run's clock counts the search too: it is ahead of the stress time
    assert cap["time_s"].iloc[0] >= cap["stress_time_s"].iloc[0]


def test_files_without_stress_time_still_load_and_resume(tmp_path):
    w = wc.create(tmp_path, background_flush=False)
    w.append(wc.make_row(0))
    w.event("info", "old event", time_s=1.5)
    w.flush()
    w.lock.release()
    w._journal_close(delete=True)
    with h5py.File(w.path, "r+") as f:                  # as schema 1.0 files were written
        del f["events/stress_time_s"]
        del f.attrs["clock_s"]
    run = load_run(w.path)
    assert run.events["stress_time_s"].isna().all() and len(run.events) == 1
    reader = LiveReader(w.path)
    reader.poll()
    assert "stress_time_s" in reader.new_events
    w2 = RunWriter.reopen(w.path, background_flush=False)
    w2.event("info", "new event")
    w2.finish()
    ev = load_run(w.path).events
    assert ev["message"].tolist()[0] == "old event" and len(ev) == 3
    assert np.all(np.diff(ev["time_s"].to_numpy()) >= 0)
