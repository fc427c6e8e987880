"""Safe-state checks after a recipe step: what its run files say the outputs were at the end.

:func:`outputs_off_recorded` reads each run file's ``/events``: the station records every
output change of an SMU / photodiode meter with its read-back (``smu: output off (read
back: off)``, ``channel2.smu: …``); the last one of each instrument must be *off, read back
off*. It is the first entry of :data:`qled.recipes.runner.SAFE_STATE_CHECKS`;
:func:`relays_open_recorded` the second: a run whose pixel was wired through the station's
switch (``pixel k connected to bus b``) must end with that bus opened and read back open
(``switch: bus b opened (read back: open)``, :func:`procedures.routing.release_pixel`).
"""
from __future__ import annotations

import re
from pathlib import Path

__all__ = ["last_output_states", "outputs_off_recorded", "last_relay_states",
           "relays_open_recorded"]

_OUTPUT = re.compile(r"^([\w.]+): output (on|off) \(read back: (\w+)\)")
_CONNECTED = re.compile(r"^pixel (\d+) connected to bus (\d+)")
_OPENED = re.compile(r"^switch: bus (\d+) opened \(read back: ([^)]*)\)")


def last_output_states(events_messages) -> dict[str, tuple[str, str]]:
    """{instrument: (last commanded state, its read-back)} from a run's event messages."""
    last = {}
    for message in events_messages:
        m = _OUTPUT.match(str(message))
        if m:
            last[m.group(1)] = (m.group(2), m.group(3))
    return last


def _ended_run_events(step: dict, out_dir):
    """(file name, event messages) of each run file of an ended ``step`` whose session ended
    (a killed one, still ``running``, is ended by the next session's resume)."""
    from acquisition.store import load_run

    if step.get("state") not in ("done", "failed", "interrupted"):
        return
    for name in step.get("run_files") or []:
        path = Path(out_dir) / name
        if not path.is_file():
            continue
        run = load_run(path, spectra=False)
        if run.status != "running":
            yield name, run.events["message"]


def outputs_off_recorded(step: dict, out_dir) -> str | None:
    """A problem line when a run file of ``step`` ends with an output not read back off."""
    for name, messages in _ended_run_events(step, out_dir):
        for inst, (state, back) in last_output_states(messages).items():
            if state != "off" or back != "off":
                return f"{name}: {inst} output last recorded {state} (read back {back})"
    return None


def last_relay_states(events_messages) -> dict[int, str]:
    """{bus: last recorded relay state} from a run's event messages: ``"pixel k"`` after a
    connect, the read-back text (``"open"``) after the bus was opened."""
    last = {}
    for message in events_messages:
        text = str(message)
        m = _CONNECTED.match(text)
        if m:
            last[int(m.group(2))] = f"pixel {m.group(1)}"
            continue
        m = _OPENED.match(text)
        if m:
            last[int(m.group(1))] = m.group(2)
    return last


def relays_open_recorded(step: dict, out_dir) -> str | None:
    """A problem line when a run file of ``step`` wired a pixel through the switch and does not
    end with that bus opened and read back open."""
    for name, messages in _ended_run_events(step, out_dir):
        for bus, state in last_relay_states(messages).items():
            if state != "open":
                return f"{name}: switch bus {bus} last recorded {state}, not read back open"
    return None
