"""Fault matrix: (drop, delay, garble, error code, short, open) × (J-V-L, lifetime, DLCP, C-V,
SCLC, PL stability) on the simulated bench.

Each cell runs the real procedure through the run engine on an in-process bench
(``open_station("sim", …)``, events routed to the procedure, ``station.bench`` inspected);
once the station is connected the fault is armed in the bench's own fault plan (the 12th
command from then on, or a short/open a few simulated seconds later), so it lands in the
measurement, not in the connection set-up. Every run must end cleanly — finished, or aborted/failed with a one-line
message — with a readable run file, the fault visible in ``/events`` (a reconnect, an
error, a device fault …) when the instrument noticed it, and — checked through the bench,
before the station is closed — every source output off (the photodiode's SMU, a meter,
may stay on at 0 V bias) and no current in any pixel.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from acquisition.runner import run_procedure
from acquisition.store import load_run
from instruments.station import open_station
from procedures.base import build_procedure
from procedures.cv import CVProcedure
from procedures.dlcp import DLCPProcedure
from procedures.jvl import JVLProcedure
from procedures.lifetime import LifetimeProcedure
from procedures.pl_stability import PLStabilityProcedure
from procedures.sclc import SCLCProcedure
from simulators.faults import Fault

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/: shared helpers
from bench_runs import outputs_left_on  # noqa: E402

pytestmark = pytest.mark.reliability

# procedure → (class, values, instrument the command faults hit, time scale, fault time [sim s])
PROCEDURES = {
    "jvl": (JVLProcedure, {"station": "sim", "start_voltage_V": 2.0, "stop_voltage_V": 5.0,
                           "step_voltage_V": 0.25, "dwell_s": 0.0, "nplc": 0.1,
                           "light_route": "photodiode"}, "smu", 1000.0, 0.05),
    "lifetime": (LifetimeProcedure, {"station": "sim", "current_density_mA_cm2": 2.0,
                                     "log_interval_s": 2.0, "max_hours": 0.05},
                 "smu", 300.0, 60.0),
    "dlcp": (DLCPProcedure, {"station": "sim", "eps_r": 25.0, "settle_s": 0.0},
             "lcr", 1000.0, 1.0),
    "cv": (CVProcedure, {"station": "sim", "eps_r": 25.0}, "lcr", 1000.0, 1.0),
    "sclc": (SCLCProcedure, {"station": "sim:electron_only", "thickness_nm": 300.0,
                             "eps_r": 25.0, "area_cm2": 0.01, "max_voltage_V": 5.0,
                             "points_per_decade": 8, "dwell_s": 0.0, "nplc": 0.1,
                             "compliance_mA": 1000.0}, "smu", 1000.0, 0.05),
    "pl_stability": (PLStabilityProcedure, {"station": "sim", "interval_s": 60.0,
                                            "duration_s": 1800.0}, "spectroradiometer",
                     3600.0, 600.0),
}

FAULTS = ("drop", "delay", "garble", "error", "short", "open")


def _inject(bench, kind: str, instrument: str, after_s: float) -> tuple:
    """Arm one fault now that the station is connected: the 12th command from here on, or
    ``after_s`` simulated seconds from now. Returns (plan, trigger) to check it fired."""
    if kind in ("short", "open"):
        plan, at = bench.pixels[0].faults, bench.clock.time() + after_s
        plan.faults = (Fault(kind, pixel=0, at_time_s=at),)
        return plan, at
    plan = bench.instrument(instrument).faults     # the plan the transport consults
    extra = {"delay": {"delay_s": 12.0},           # longer than any driver time-out
             "error": {"code": -222, "message": "Data out of range", "count": 3}}.get(kind, {})
    at = plan.commands_seen + 12
    plan.faults = (Fault(kind, instrument=instrument, at_command=at, **extra),)
    return plan, at


# Words by which a run records that it met the fault (reconnects, errors, device faults).
NOTICED = ("reconnect", "error", "timeout", "timed out", "garbled", "short", "open", "fault",
           "compliance", "-222", "out of range", "exception", "failed", "no light",
           "lost", "abort")


#: Cells where the run does not record the fault (measured; reported to the lead): a PL
#: film has no drive current for a short or an open to cut.
UNNOTICED = {("pl_stability", "short"), ("pl_stability", "open")}

#: Cells that must record the fault as a specific event: (level, words in the message).
#: The lifetime log reads its SMU's error queue (an overnight run nobody watches), J-V-L and
#: SCLC after each sweep branch and at the end, so each queued error is a warning naming its
#: code, and the run goes on to its end. An open pixel in a J-V-L or SCLC sweep (here open
#: before the first point) is a warning ending "open circuit / lost contact?" (no device
#: current where a contacted device conducts, or a collapse of the current mid-sweep).
REQUIRED_EVENTS = {
    ("lifetime", "error"): ("warning", "smu: instrument error -222"),
    ("jvl", "error"): ("warning", "smu: instrument error -222"),
    ("sclc", "error"): ("warning", "smu: instrument error -222"),
    ("jvl", "open"): ("warning", "open circuit / lost contact?"),
    ("sclc", "open"): ("warning", "open circuit / lost contact?"),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", FAULTS)
@pytest.mark.parametrize("name", list(PROCEDURES))
def test_fault_cell(tmp_path, name, kind):
    cls, values, instrument, scale, at_time_s = PROCEDURES[name]
    probe = build_procedure(cls, values)
    probe.sim_overrides = {"time_scale": scale, "noise": False}
    options = probe.simulated_bench_options(str(values["station"]))
    sink = []
    station = open_station("sim", roles=probe.required_roles(), sim_options=options,
                           on_event=lambda level, msg: sink and sink[0].log_event(level, msg))
    bench = station.bench
    try:
        proc = build_procedure(cls, values, station_object=station)
        sink.append(proc)
        plan, trigger = _inject(bench, kind, instrument, at_time_s)
        result = run_procedure(proc, tmp_path, flush_interval_s=0.2, handle_signals=False)
        problems = outputs_left_on(bench)       # before close() switches anything off
    finally:
        station.close()
    assert not problems, f"{name} × {kind}: {problems} after {result.status}"
    assert result.status in ("finished", "aborted", "failed")
    assert "\n" not in result.message, result.message
    if result.status != "finished":
        assert result.message, f"{name} × {kind}: {result.status} without a reason"
    if result.path is None:
        # stopped before the run file was created: the reason is one line
        assert result.status == "failed" and result.message
        return
    run = load_run(result.path)
    assert run.status == result.status
    events = " | ".join(run.events["message"]).lower()
    if result.status == "failed":
        assert "exception" in events or "error" in events, events
    fired = (plan.commands_seen >= trigger if kind not in ("short", "open")
             else bench.clock.time() >= trigger)
    assert fired, f"{name} × {kind}: the run ended before the fault was due"
    noticed = any(w in events for w in NOTICED)
    if (name, kind) in REQUIRED_EVENTS:
        level, words = REQUIRED_EVENTS[(name, kind)]
        ev = run.events
        hits = ev[ev["message"].str.contains(words, regex=False)]
        assert len(hits) and set(hits["level"]) == {level}, \
            f"{name} × {kind}: no {level} event with {words!r}: {events[:500]}"
        assert result.status == "finished", f"{name} × {kind}: {result.message}"
    if (name, kind) not in UNNOTICED:
        # a broken, silent or lying link and a device fault leave a trace in /events
        assert noticed, f"{name} × {kind}: nothing in /events: {events[:500]}"
    print(f"{name:12s} {kind:7s} {result.status:8s} rows {len(run.data):4d} "
          f"noticed {noticed} {result.message[:80]}")
    if len(run.data):
        assert np.isfinite(run.data.iloc[:, 0].to_numpy()).all()
