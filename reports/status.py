"""The state of unattended runs: what ``qled status`` shows and alerts on.

:func:`run_states` reads each run file through :func:`acquisition.store.load_run` (a shared
lock for the few milliseconds of a read, never the writer's run lock, so a running writer is
never blocked) and classifies it:

``running``
    status ``running`` and a row committed within the stall limit.
``stalled``
    status ``running`` but no new row for ``k`` log intervals: a SIGKILLed or hung writer
    leaves its file ``running`` for ever, and only the age of its last commit
    (``last_flush_time``, wall clock) tells. The log interval is the run's own
    (``/parameters/log_interval_s``, on the run's clock; for kinds without one, the median
    step of the last 20 rows) divided by the simulated bench's ``time_scale``; the limit is ``k × max(that, flush interval)`` because rows reach the
    file at most once per flush.
``finished`` / ``aborted`` / ``failed``
    as the file records.
``channel stopped early``
    a finished lifetime channel with a fault stop (``channel N stopped safely: …``) or one
    that ended before its target (neither the stop fraction nor the duration cap reached).

Figures (L/L0, elapsed time) are the file's own: the last committed row, no smoothing.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from acquisition.store import journal_path, load_run

__all__ = ["RunState", "run_states", "run_state", "find_run_files", "STATES", "ALERT_STATES",
           "DEFAULT_FLUSH_INTERVAL_S"]

#: Every state a run can be shown in.
STATES = ("running", "stalled", "finished", "aborted", "failed", "channel stopped early",
          "unreadable")
#: States that raise an alert.
ALERT_STATES = ("stalled", "channel stopped early", "failed")
#: The writer's default flush interval [s] (``qled run --flush-interval``): a run's rows reach
#: the file at most this late, so a run is not stalled before that.
DEFAULT_FLUSH_INTERVAL_S = 1.0
#: The most points of a sparkline (a 10⁵-row lifetime run is drawn from every n-th row).
SPARK_POINTS = 400


@dataclass
class RunState:
    """One run as the status page shows it.

    ``elapsed_s`` is the run's clock at its last row (``time_s`` column; lifetime: the stress
    time), ``relative_luminance`` the last finite L/L0, ``last_row_age_s`` the wall-clock age
    of the last commit, ``since`` when the state began (ISO 8601 UTC), ``spark`` a thinned
    ``(time_s, L/L0)`` pair of arrays (or None).
    """
    path: Path
    state: str
    status: str = ""
    procedure: str = ""
    sample: str = ""
    pixel: str = ""
    channel: int | None = None
    start_time: str = ""
    end_time: str = ""
    since: str = ""
    reason: str = ""
    rows: int = 0
    elapsed_s: float = math.nan
    wall_elapsed_s: float = math.nan
    relative_luminance: float = math.nan
    last_row_age_s: float = math.nan
    log_interval_wall_s: float = math.nan
    stall_after_s: float = math.nan
    spark: tuple | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def kind(self) -> str:
        return self.procedure.rsplit(":", 1)[-1].removesuffix("Procedure").lower()

    def alert(self) -> dict:
        """The alert of this run's state (run, condition, since when, why) as a JSON object."""
        return {"run": self.name, "path": str(self.path), "condition": self.state,
                "since": self.since, "reason": self.reason, "sample": self.sample,
                "pixel": self.pixel, "channel": self.channel, "status": self.status,
                "last_row_age_s": _finite(self.last_row_age_s),
                "relative_luminance": _finite(self.relative_luminance),
                "elapsed_s": _finite(self.elapsed_s)}


def _finite(x: float):
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def parse_time(text: str) -> _dt.datetime | None:
    """An ISO 8601 UTC stamp of a run file (``…Z``) as an aware datetime; None if empty."""
    if not text:
        return None
    return _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def find_run_files(paths) -> list[Path]:
    """The run files (``*.h5``) under each path (a file or a folder, searched recursively),
    newest first by modification time; temporary and damaged copies are left out."""
    found: dict[Path, None] = {}
    for p in map(Path, paths):
        if p.is_dir():
            for f in p.rglob("*.h5"):
                if not f.name.startswith("."):
                    found[f] = None
        elif p.exists():
            found[p] = None
        else:
            raise FileNotFoundError(f"DIR = {str(p)!r} does not exist")

    def mtime(f: Path) -> float:
        try:
            return f.stat().st_mtime
        except OSError:
            return 0.0
    return sorted(found, key=mtime, reverse=True)


def run_states(paths, *, now: _dt.datetime | None = None, stall_intervals: int = 2,
               flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S, recent: int = 20
               ) -> list[RunState]:
    """The state of the runs in ``paths`` (files or folders): every running one and the
    ``recent`` most recent others, running and stalled first."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    live, rest = [], []
    for f in find_run_files(paths):
        # a run that has not ended cleanly keeps its journal: only those and the `recent`
        # newest others are read (a share of 10⁴ finished files costs a directory listing)
        if len(rest) >= recent and not journal_path(f).exists():
            continue
        s = run_state(f, now=now, stall_intervals=stall_intervals,
                      flush_interval_s=flush_interval_s)
        if s.status == "running":
            live.append(s)
        elif len(rest) < recent:
            rest.append(s)
    return live + rest


def run_state(path, *, now: _dt.datetime | None = None, stall_intervals: int = 2,
              flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S) -> RunState:
    """The state of one run file (``unreadable`` with the reason if it cannot be read)."""
    path = Path(path)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    try:
        run = load_run(path, spectra=False, lock_timeout_s=1.0)
    except Exception as exc:       # noqa: BLE001 - one bad file must not hide the others
        text = " ".join(str(exc).split()) or type(exc).__name__
        return RunState(path, "unreadable", reason=text, since=_iso(now))
    a, params = run.attrs, run.parameter_values()
    s = RunState(path, a.get("status", ""), status=str(a.get("status", "")),
                 procedure=str(a.get("procedure", "")), sample=str(a.get("sample", "")),
                 pixel=str(a.get("pixel", "")), start_time=str(a.get("start_time", "")),
                 end_time=str(a.get("end_time", "")), rows=len(run.data))
    if "channel" in params:
        s.channel = int(params["channel"])
    data = run.data
    if "time_s" in data and len(data):
        s.elapsed_s = float(data["time_s"].iloc[-1])
    elif a.get("clock_s") is not None:
        s.elapsed_s = float(a["clock_s"])
    if "relative_luminance_fraction" in data:
        rel = data["relative_luminance_fraction"].to_numpy(float)
        ok = np.isfinite(rel)
        if ok.any():
            s.relative_luminance = float(rel[ok][-1])
            t = data["time_s"].to_numpy(float)[ok]
            step = max(1, math.ceil(len(t) / SPARK_POINTS))
            idx = np.r_[np.arange(0, len(t), step), len(t) - 1]
            s.spark = (t[np.unique(idx)], rel[ok][np.unique(idx)])
    start, end = parse_time(s.start_time), parse_time(s.end_time)
    last = parse_time(str(a.get("last_flush_time", ""))) or start
    if start is not None:
        s.wall_elapsed_s = ((end or now) - start).total_seconds()
    if last is not None:
        s.last_row_age_s = (now - last).total_seconds()
    scale = _time_scale(run.attrs.get("station", {}))
    interval = params.get("log_interval_s")
    if interval is None and "time_s" in data and len(data) >= 3:
        # kinds without a log interval (sweeps): the typical recent step between rows
        step = np.diff(data["time_s"].to_numpy(float)[-21:])
        step = step[np.isfinite(step) & (step > 0)]
        interval = float(np.median(step)) if len(step) else None
    if interval is not None:
        s.log_interval_wall_s = float(interval) / scale
    # the writer's own flush interval when the file records it (files of 2026-12-08 on)
    flush_s = a.get("flush_interval_s")
    flush_s = float(flush_s) if isinstance(flush_s, (int, float)) and flush_s > 0 else \
        float(flush_interval_s)
    s.stall_after_s = int(stall_intervals) * max(
        s.log_interval_wall_s if math.isfinite(s.log_interval_wall_s) else 0.0, flush_s)
    _classify(s, run, params, last)
    return s


def _classify(s: RunState, run, params: dict, last: _dt.datetime | None) -> None:
    if s.status == "running":
        if s.last_row_age_s > s.stall_after_s:
            s.state, s.since = "stalled", _iso(last)
            s.reason = (f"no new row for {s.last_row_age_s:.1f} s (limit {s.stall_after_s:.3g} s"
                        f" = {s.stall_after_s / max(s.log_interval_wall_s, 1e-12):.3g} log "
                        f"intervals of {s.log_interval_wall_s:.3g} s)"
                        if math.isfinite(s.log_interval_wall_s) else
                        f"no new row for {s.last_row_age_s:.1f} s")
        else:
            s.state, s.since = "running", s.start_time
        return
    s.since = s.end_time or s.start_time
    if s.status == "failed":
        s.reason = _last_event(run, ("error",)) or "the run failed"
        return
    if s.status != "finished" or s.kind != "lifetime":
        if s.status == "aborted":
            s.reason = _last_event(run, ("error", "warning")) or "aborted"
        return
    fault = _last_event(run, ("error",), contains="stopped safely")
    if fault:
        s.state, s.reason = "channel stopped early", fault
        return
    messages = " ".join(run.events["message"].astype(str))
    target = float(params.get("stop_fraction", math.nan))
    reached = ": done" in messages or "duration cap" in messages
    if not reached and not (s.relative_luminance <= target):
        s.state = "channel stopped early"
        s.reason = (f"ended at L/L0 = {s.relative_luminance:.3g} before its target "
                    f"{target:g} and before its duration cap")


def _last_event(run, levels, contains: str = "") -> str:
    ev = run.events
    if not len(ev):
        return ""
    m = ev[ev["level"].isin(levels) & ev["message"].astype(str).str.contains(contains,
                                                                              regex=False)]
    if not len(m):
        return ""
    return " ".join(str(m["message"].iloc[-1]).split())[:300]


def _time_scale(station: dict) -> float:
    """The simulated bench's clock speed-up recorded with the run (1 on real hardware)."""
    for key in ("station", "sim", "bench"):
        sub = station.get(key) if isinstance(station, dict) else None
        if isinstance(sub, dict) and sub.get("time_scale"):
            return float(sub["time_scale"])
    if isinstance(station, dict) and station.get("time_scale"):
        return float(station["time_scale"])
    return 1.0


def _iso(t: _dt.datetime | None) -> str:
    if t is None:
        return ""
    return t.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename: a browser or a
    share reader never sees a half-written page."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path
