"""A reconnect policy for days (issue 18): a lifetime log rides out instrument outages.

The simulated SMU of the channel becomes unreachable (fault ``outage``: every command closes
the connection) for 1 s, 30 s or 10 min of station time once stress has begun. With the
unattended policy (ride out 60 s by default, ``[station] ride_out_s``) the log goes on after
1 s and 30 s, and after 10 min when the station allows 15 min; rows during the outage are
missing, not invented, and the gap is an event. A 10-minute outage beyond a 60 s ride-out ends
the run as failed, in one line, with the file readable. The bench clock runs 300× so 10 min
takes 2 s.
"""
from __future__ import annotations

import numpy as np
import pytest

from acquisition.runner import RunEngine
from acquisition.store import load_run
from instruments.station import open_station
from procedures.base import build_procedure
from procedures.lifetime import LifetimeProcedure
from simulators.faults import Fault

pytestmark = pytest.mark.reliability

SCALE = 300.0
START_AFTER_S = 60.0          # the outage begins this long after the first stress row
VALUES = {"station": "sim", "current_density_mA_cm2": 2.0, "log_interval_s": 5.0,
          "max_hours": 0.3}
#: Instrument I/O time-out [wall ms]: a dropped exchange is noticed after 0.2 s (60 s of
#: station time at 300×), as a real LAN instrument's would be after its VISA time-out.
TIMEOUT_MS = 200


def run_with_outage(tmp_path, duration_s, **station):
    probe = build_procedure(LifetimeProcedure, VALUES)
    probe.sim_overrides = {"time_scale": SCALE, "noise": False, "timeout_ms": TIMEOUT_MS,
                           **station}
    options = probe.simulated_bench_options("sim")
    armed, sink = {}, []
    with open_station("sim", roles=probe.required_roles(), sim_options=options,
                      on_event=lambda level, msg: sink and sink[0].log_event(level, msg)) as st:
        bench = st.bench
        proc = build_procedure(LifetimeProcedure, VALUES, station_object=st)
        sink.append(proc)
        plan = bench.instrument("smu").faults

        def arm(topic, record):
            if topic == "results" and not armed:
                armed["at"] = bench.clock.time() + START_AFTER_S
                armed["t"] = record["time_s"] + START_AFTER_S
                plan.faults = (Fault("outage", instrument="smu", at_time_s=armed["at"],
                                     duration_s=duration_s),)

        result = RunEngine(proc, tmp_path, on_emit=arm, flush_interval_s=0.2).run(
            handle_signals=False)
    return result, load_run(result.path), armed["t"]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("duration_s, station", [(1.0, {}), (30.0, {}),
                                                 (600.0, {"ride_out_s": 900.0})],
                         ids=["1 s", "30 s", "10 min (ride_out_s 900)"])
def test_lifetime_rides_out_the_outage(tmp_path, duration_s, station):
    result, run, t_start = run_with_outage(tmp_path, duration_s, **station)
    assert result.status == "finished", result.message
    t = run.data["time_s"].to_numpy()
    assert np.all(np.diff(t) > 0)
    assert t[-1] >= 0.3 * 3600 - VALUES["log_interval_s"]     # ran to the cap
    inside = (t > t_start + 1.0) & (t < t_start + duration_s - 1.0)
    assert not inside.any(), "rows were logged while the SMU was unreachable"
    messages = " | ".join(run.events["message"])
    assert "reconnected and settings restored" in messages
    if duration_s > 2 * VALUES["log_interval_s"]:
        gap = [m for m in run.events["message"] if m.startswith("gap: no row")]
        assert len(gap) == 1, messages
        biggest = np.max(np.diff(t))
        # the outage, plus at most the time-out that noticed it and one back-off
        assert duration_s <= biggest <= duration_s + 2 * 60.0 + 4 * VALUES["log_interval_s"]


@pytest.mark.timeout(180)
def test_an_outage_longer_than_the_ride_out_ends_the_run_in_one_line(tmp_path):
    result, run, _ = run_with_outage(tmp_path, 600.0)
    assert result.status == "failed"
    assert "\n" not in result.message and "gave up after" in result.message
    assert run.status == "failed"
    assert any("gave up after" in m and " over " in m for m in run.events["message"])
