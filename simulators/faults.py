"""Declarative fault injection for the simulated bench.

A :class:`Fault` says *what* goes wrong, *where* and *when*; a :class:`FaultPlan`
holds several and, once split per instrument with :meth:`FaultPlan.for_instrument`,
counts that instrument's commands and tells the simulator what to do with each one.

Fault kinds
-----------
``drop``
    The simulator closes the connection instead of answering (TCP: the server
    closes the socket; pty: the port hangs up). The client sees EOF / a reset.
    A new connection is accepted afterwards.
``delay``
    The reply to the triggering command is held back ``delay_s`` wall-clock
    seconds (wall-clock because client time-outs are), then sent.
``garble``
    The reply is replaced by bytes of the same length that parse as neither a
    number nor a valid reply (the line terminator is kept).
``error``
    An entry ``code, message`` is pushed on the instrument's error queue
    (default ``-221, "Settings conflict"``, a standard SCPI code; serial meters
    map it to their own error reply).
``short`` / ``open``
    The pixel ``pixel`` becomes a short circuit (≈ 1 Ω, no light) or an open
    circuit (no current, no light) from the trigger time for ``duration_s``
    simulated seconds (``None``: for the rest of the run).
``over_range``
    A light meter reports over range (too bright) while active.
``outage``
    The instrument is unreachable for ``duration_s`` simulated seconds from the trigger
    (a network or gateway outage, a power-cycled unit): every command it receives meanwhile
    is answered by closing the connection (TCP) or hanging up (pty), so a client's reconnect
    succeeds at the socket level and fails at its first exchange until the outage ends.
``measure_status``
    An LCR meter's readings carry the ``:FETCh?`` status ``code`` while active (E4980A:
    +1 overload, +3 signal source overloaded, +4 ALC unable to regulate; 4284A also +2),
    with the data the meter gives under that condition (9.9E37 for +1/+2; see
    :mod:`simulators.lcr_model`).
``calc_error``
    A CS-2000's measurements taken while active carry its calculation-error numbers in
    place of every value (``-9.9999e9``, ``-9.9e9``, ``-9.999``, ``-9999``, ``-9.9999``
    in text, ``D1BA43B6`` in hex: Communication Specifications Rev. 7.00 §5, pp. 78-81).
``meter_error``
    A light meter's measurements taken while active end with the error ``code``: a CS-2000
    completion reply ``ER<code>`` (10, 51, 52, 71, 81, 82, 83, 84 or 99; Rev. 7.00 §4,
    pp. 76-77), a PR-655 quality code (-1, -2, -3, -4, -8, -9, -10 or -12; PR-655/670
    manual p. 122).

Triggers
--------
Exactly one of ``at_command`` (1-based index of the command the instrument
receives, counted per instrument; a ``;``-chained SCPI message counts once) or
``at_time_s`` (simulated seconds on the bench clock; fires on the first command
at or after it). ``drop``/``delay``/``garble``/``error`` act on ``count``
consecutive commands; state faults (``short``/``open``/``over_range``) hold for
``duration_s``.

JSON form (``qled sim serve --faults FILE.json``)::

    {"faults": [
      {"kind": "drop", "instrument": "smu", "at_command": 120},
      {"kind": "short", "pixel": 0, "at_time_s": 3600, "duration_s": 60},
      {"kind": "error", "instrument": "lcr", "at_command": 5, "code": -222,
       "message": "Data out of range"}
    ]}

Contract for simulator authors: call ``plan.on_command(clock.time())`` once per
received command and obey the returned :class:`FaultActions`; ask
``plan.active(kind, clock.time())`` for state faults.
"""
from __future__ import annotations

import dataclasses
import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

__all__ = ["Fault", "FaultActions", "FaultPlan", "garble", "FAULT_KINDS", "COMMAND_KINDS", "STATE_KINDS"]

#: Faults that act on the reply to individual commands.
COMMAND_KINDS = ("drop", "delay", "garble", "error")
#: Faults that change a state for a while (device, light meter, a whole instrument).
STATE_KINDS = ("short", "open", "over_range", "outage", "measure_status", "calc_error",
               "meter_error")
FAULT_KINDS = COMMAND_KINDS + STATE_KINDS

#: Codes a ``meter_error`` fault may carry: CS-2000 ``ERnn`` measurement errors (positive)
#: and PR-655/670 measurement quality codes (negative).
METER_ERROR_CODES = (10, 51, 52, 71, 81, 82, 83, 84, 99, -1, -2, -3, -4, -8, -9, -10, -12)

#: Instrument-less kinds: they act on a pixel, not on one instrument's replies.
PIXEL_KINDS = ("short", "open")


@dataclass(frozen=True)
class Fault:
    """One fault: what goes wrong, on which instrument or pixel, and when.

    Parameters
    ----------
    kind : str
        One of :data:`FAULT_KINDS` (see the module docstring for semantics).
    instrument : str or None
        Role name of the instrument (``"smu"``, ``"photodiode"``, ``"lcr"``,
        ``"spectroradiometer"``, …). Required except for ``short``/``open``.
    channel : int
        Bench channel (1-based) of that instrument.
    pixel : int
        Pixel index (0-based) for ``short``/``open``.
    at_command : int or None
        Trigger: 1-based command number on that instrument.
    at_time_s : float or None
        Trigger: simulated time [s] on the bench clock.
    count : int
        Number of consecutive commands a command fault acts on (≥ 1).
    duration_s : float or None
        How long a state fault lasts [simulated s]; ``None`` = until the end.
    delay_s : float
        Reply delay of a ``delay`` fault [wall-clock s].
    code, message : int, str
        Error-queue entry of an ``error`` fault.
    """

    kind: str
    instrument: str | None = None
    channel: int = 1
    pixel: int = 0
    at_command: int | None = None
    at_time_s: float | None = None
    count: int = 1
    duration_s: float | None = None
    delay_s: float = 5.0
    code: int = -221
    message: str = "Settings conflict"

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind = {self.kind!r} is not allowed: use one of {', '.join(FAULT_KINDS)}")
        if (self.at_command is None) == (self.at_time_s is None):
            raise ValueError(f"fault {self.kind!r}: give exactly one of at_command (>= 1) or at_time_s (>= 0 s)")
        if self.at_command is not None and (int(self.at_command) != self.at_command or self.at_command < 1):
            raise ValueError(f"at_command = {self.at_command!r} is out of range: allowed integer >= 1")
        if self.at_time_s is not None and not (self.at_time_s >= 0 and math.isfinite(self.at_time_s)):
            raise ValueError(f"at_time_s = {self.at_time_s!r} is out of range: allowed finite >= 0 s")
        if self.kind not in PIXEL_KINDS and not self.instrument:
            raise ValueError(f"fault {self.kind!r}: instrument is required (a role name such as 'smu')")
        if self.kind == "measure_status" and self.code not in (1, 2, 3, 4):
            raise ValueError(f"code = {self.code!r} is out of range for measure_status: "
                             "allowed 1, 2, 3 or 4 (a :FETCh? status)")
        if self.kind == "meter_error" and self.code not in METER_ERROR_CODES:
            raise ValueError(f"code = {self.code!r} is out of range for meter_error: allowed "
                             f"{', '.join(str(c) for c in METER_ERROR_CODES)}")
        if self.kind in PIXEL_KINDS and self.at_time_s is None:
            raise ValueError(f"fault {self.kind!r}: a device fault needs at_time_s (>= 0 s), not at_command")
        if int(self.count) != self.count or self.count < 1:
            raise ValueError(f"count = {self.count!r} is out of range: allowed integer >= 1")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ValueError(f"duration_s = {self.duration_s!r} is out of range: allowed > 0 s or null")
        if not (self.delay_s >= 0 and math.isfinite(self.delay_s)):
            raise ValueError(f"delay_s = {self.delay_s!r} is out of range: allowed finite >= 0 s")
        if int(self.channel) != self.channel or self.channel < 1:
            raise ValueError(f"channel = {self.channel!r} is out of range: allowed integer >= 1")
        if int(self.pixel) != self.pixel or self.pixel < 0:
            raise ValueError(f"pixel = {self.pixel!r} is out of range: allowed integer >= 0")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Fault":
        """Build a fault from a JSON-style dict; unknown keys are rejected."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"fault has unknown key(s) {', '.join(unknown)}: allowed {', '.join(sorted(names))}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class FaultActions:
    """What a simulator must do with the command it just received."""

    drop: bool = False
    delay_s: float = 0.0
    garble: bool = False
    errors: list[tuple[int, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.drop or self.garble or self.delay_s > 0 or bool(self.errors)


_NO_ACTION = FaultActions()


class FaultPlan:
    """A set of faults plus the run-time counters of one instrument.

    Parameters
    ----------
    faults : iterable of Fault or dict
        The faults; dicts are parsed with :meth:`Fault.from_dict`.

    Notes
    -----
    A plan made by the bench holds every fault; each simulator gets its own
    view from :meth:`for_instrument` (fresh command counter) and each pixel
    from :meth:`for_pixel`. Thread-safe.
    """

    def __init__(self, faults: Iterable[Fault | dict] = ()):
        self.faults: tuple[Fault, ...] = tuple(
            f if isinstance(f, Fault) else Fault.from_dict(f) for f in faults)
        self._lock = threading.Lock()
        self._commands = 0
        # Per fault: simulated time when it fired, and how many commands it has acted on.
        self._fired_at: dict[int, float] = {}
        self._acted: dict[int, int] = {}

    # -- construction -------------------------------------------------------
    @classmethod
    def from_obj(cls, obj: Any) -> "FaultPlan":
        """From ``{"faults": [...]}``, a list of dicts, ``None`` or a FaultPlan."""
        if obj is None:
            return cls()
        if isinstance(obj, FaultPlan):
            return cls(obj.faults)
        if isinstance(obj, dict):
            if set(obj) != {"faults"}:
                raise ValueError("faults JSON must be {\"faults\": [ {...}, ... ]} or a list of fault objects")
            obj = obj["faults"]
        if not isinstance(obj, (list, tuple)):
            raise ValueError("faults must be a list of fault objects")
        return cls(obj)

    @classmethod
    def load(cls, path: str | Path) -> "FaultPlan":
        """Read a JSON fault file (see the module docstring)."""
        text = Path(path).read_text()
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"faults file {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_obj(obj)

    def to_obj(self) -> dict[str, Any]:
        return {"faults": [f.to_dict() for f in self.faults]}

    def for_instrument(self, instrument: str, channel: int = 1) -> "FaultPlan":
        """A fresh plan with the faults of one instrument (role name, channel)."""
        return FaultPlan(f for f in self.faults
                         if f.instrument == instrument and f.channel == channel
                         and f.kind not in PIXEL_KINDS)

    def for_pixel(self, pixel: int) -> "FaultPlan":
        """A fresh plan with the short/open faults of one pixel."""
        return FaultPlan(f for f in self.faults if f.kind in PIXEL_KINDS and f.pixel == pixel)

    def __len__(self) -> int:
        return len(self.faults)

    def __repr__(self) -> str:
        return f"FaultPlan({list(self.faults)!r})"

    # -- run time -----------------------------------------------------------
    @property
    def commands_seen(self) -> int:
        """Commands counted so far by :meth:`on_command`."""
        return self._commands

    def on_command(self, now_s: float) -> FaultActions:
        """Count one received command at simulated time ``now_s``; return the actions."""
        if not self.faults:
            self._commands += 1
            return _NO_ACTION
        actions = FaultActions()
        with self._lock:
            self._commands += 1
            n = self._commands
            for i, f in enumerate(self.faults):
                if f.kind == "outage":
                    self._fires(i, f, n, now_s)          # records the start
                    start = self._fired_at.get(i)
                    if start is not None and (f.duration_s is None
                                              or now_s < start + f.duration_s):
                        actions.drop = True
                    continue
                if not self._fires(i, f, n, now_s):
                    continue
                if f.kind == "drop":
                    actions.drop = True
                elif f.kind == "delay":
                    actions.delay_s = max(actions.delay_s, f.delay_s)
                elif f.kind == "garble":
                    actions.garble = True
                elif f.kind == "error":
                    actions.errors.append((int(f.code), str(f.message)))
        return actions

    def _fires(self, i: int, f: Fault, n: int, now_s: float) -> bool:
        """Whether fault ``i`` acts on command ``n``; state faults only record their start."""
        if i not in self._fired_at:
            due = (n >= f.at_command) if f.at_command is not None else (now_s >= f.at_time_s)
            if not due:
                return False
            self._fired_at[i] = now_s
        if f.kind in STATE_KINDS:
            return False
        acted = self._acted.get(i, 0)
        if acted >= f.count:
            return False
        self._acted[i] = acted + 1
        return True

    def active(self, kind: str, now_s: float) -> bool:
        """Whether a state fault of ``kind`` holds at simulated time ``now_s``."""
        return self.active_fault(kind, now_s) is not None

    def active_fault(self, kind: str, now_s: float) -> Fault | None:
        """The first state fault of ``kind`` that holds at simulated time ``now_s``."""
        if kind not in STATE_KINDS:
            raise ValueError(f"kind = {kind!r} is not a state fault: use one of {', '.join(STATE_KINDS)}")
        with self._lock:
            for i, f in enumerate(self.faults):
                if f.kind != kind:
                    continue
                start = self._fired_at.get(i)
                if start is None and f.at_time_s is not None and now_s >= f.at_time_s:
                    start = self._fired_at[i] = f.at_time_s
                if start is None or now_s < start:
                    continue
                if f.duration_s is None or now_s < start + f.duration_s:
                    return f
        return None


def garble(reply: bytes, terminator: bytes = b"\n") -> bytes:
    """Deterministically corrupt a reply: same length, unparseable, terminator kept."""
    body = reply[: len(reply) - len(terminator)] if reply.endswith(terminator) else reply
    tail = reply[len(body):]
    # '#' and '~' are not valid in numbers, SCPI strings or meter replies.
    junk = bytes(b"#~"[k % 2] for k in range(len(body))) or b"#"
    return junk + tail
