"""Safe-state checks after a recipe step: what its run files say the outputs were at the end.

:func:`outputs_off_recorded` reads each run file's ``/events``: the station records every
output change of an SMU / photodiode meter with its read-back (``smu: output off (read
back: off)``, ``channel2.smu: …``); the last one of each instrument must be *off, read back
off*. It is the first entry of :data:`qled.recipes.runner.SAFE_STATE_CHECKS`; the pixel
switch adds "relays open" there (same signature: ``check(step, out_dir) -> problem | None``).
"""
from __future__ import annotations

import re
from pathlib import Path

__all__ = ["last_output_states", "outputs_off_recorded"]

_OUTPUT = re.compile(r"^([\w.]+): output (on|off) \(read back: (\w+)\)")


def last_output_states(events_messages) -> dict[str, tuple[str, str]]:
    """{instrument: (last commanded state, its read-back)} from a run's event messages."""
    last = {}
    for message in events_messages:
        m = _OUTPUT.match(str(message))
        if m:
            last[m.group(1)] = (m.group(2), m.group(3))
    return last


def outputs_off_recorded(step: dict, out_dir) -> str | None:
    """A problem line when a run file of ``step`` ends with an output not read back off."""
    from acquisition.store import load_run

    if step.get("state") not in ("done", "failed", "interrupted"):
        return None
    for name in step.get("run_files") or []:
        path = Path(out_dir) / name
        if not path.is_file():
            continue
        run = load_run(path, spectra=False)
        if run.status == "running":       # killed: the next session's resume ends it
            continue
        for inst, (state, back) in last_output_states(run.events["message"]).items():
            if state != "off" or back != "off":
                return f"{name}: {inst} output last recorded {state} (read back {back})"
    return None
