"""Test helper: run a procedure on an in-process simulated bench, arming faults from
its records (used by the J-V-L and SCLC fault tests)."""
from __future__ import annotations


def run_on_bench(procedure_class, values: dict, out_dir, *, overrides: dict, arm=None):
    """Run a procedure through the run engine on an in-process simulated bench.

    ``arm(bench, topic, record)`` sees every record the procedure emits (it may arm a fault
    in the bench's fault plans at a known point of the run). Returns (result, run, bench).
    """
    from acquisition.runner import RunEngine
    from acquisition.store import load_run
    from instruments.station import open_station
    from procedures.base import build_procedure

    probe = build_procedure(procedure_class, values)
    probe.sim_overrides = dict(overrides)
    options = probe.simulated_bench_options(values.get("station", "sim"))
    with open_station("sim", roles=probe.required_roles(), sim_options=options) as station:
        bench = station.bench
        proc = build_procedure(procedure_class, values, station_object=station)
        on_emit = None if arm is None else (lambda topic, record: arm(bench, topic, record))
        result = RunEngine(proc, out_dir, on_emit=on_emit, flush_interval_s=0.2).run(
            handle_signals=False)
    return result, load_run(result.path), bench



def sigkill_once_logged(proc, folder, rows: int, timeout_s: float) -> int:
    """SIGKILL the child ``proc`` once the run file in ``folder`` holds ``rows`` committed
    rows (or at ``timeout_s``, or when it has exited); reap it. Returns the rows seen."""
    import signal
    import time

    from acquisition.store import load_run

    seen = 0
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and proc.poll() is None:
            files = list(folder.glob("*.h5"))
            if files:
                try:
                    seen = len(load_run(files[0], spectra=False).data)
                except (OSError, ValueError):      # between flushes or not created yet
                    seen = 0
                if seen >= rows:
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    return seen


def outputs_left_on(bench) -> list[str]:
    """What a simulated bench still sources: SMU outputs on, an LCR DC bias, a pixel carrying
    current (the photodiode SMU may stay on at 0 V: it measures). Empty: all off."""
    problems = []
    for ch in range(1, bench.channels + 1):
        for role in ("smu", "smu2450"):
            try:
                inst = bench.instrument(role, ch)
            except KeyError:
                continue
            if getattr(inst, "output", False):
                problems.append(f"channel {ch} {role} output on")
        # The photodiode's SMU is a meter: it may stay on, but only at 0 V bias.
        pd = bench.instrument("photodiode", ch)
        if getattr(pd, "output", False) and (pd.source_function != "VOLT"
                                             or pd.source_voltage != 0.0):
            problems.append(f"channel {ch} photodiode SMU sources {pd.source_function} "
                            f"{pd.source_voltage!r}")
        if ch == 1:
            for role in ("lcr", "lcr4284"):
                inst = bench.instrument(role, 1)
                if inst.bias_on:
                    problems.append(f"{role} DC bias on")
    for p in bench.pixels:
        if abs(p.current_A) > 1e-12:
            problems.append(f"pixel {p.index} still carries {p.current_A:.3g} A")
    return problems
