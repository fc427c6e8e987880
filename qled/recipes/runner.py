"""Running a recipe: its steps in order, one run file per measurement, the record after each.

Each measurement is a normal procedure run, exactly as ``qled run KIND`` makes it (the run
engine, one file per run, its analysis in ``/analysis``); a lifetime block with ``channels``
runs its pixels of a substrate at once (:func:`procedures.lifetime_channels.run_channels`).
The record (:mod:`qled.recipes.record`) is saved before a step starts and when it ends.

* A failed measurement does not stop the recipe; a block whose condition finds no pixel with
  the metric (its source steps failed) is skipped with the reason.
* Ctrl-C / SIGTERM (or :attr:`RecipeRunner.stop_event`, the GUI's abort): the current run
  stops after its current point with outputs off, the step is recorded ``interrupted`` and
  the recipe stops (exit code 130).
* Resume (:meth:`RecipeRunner.run` on a loaded record) continues from the first unfinished
  step; for a step that was running or interrupted, each pixel's run file on disk (named in
  the record, or found by sample, pixel, kind and start time after a SIGKILL) decides:
  finished or failed → kept as the outcome (never measured twice); an unfinished lifetime →
  continued in place (``qled resume``'s lifetime resume, continuity check included); an
  unfinished sweep → kept as a partial file (named in the record) and measured again.
"""
from __future__ import annotations

import datetime as dt
import math
import signal
import threading
from pathlib import Path

from .model import Condition, Recipe
from .plan import expand_step, select_pixels
from .record import Record, now_utc
from .safety import outputs_off_recorded, relays_open_recorded

__all__ = ["RecipeRunner", "SAFE_STATE_CHECKS"]

#: Called after every step as ``check(step, out_dir)``; each returns a problem line or None
#: (recorded in the step's ``safety`` list and said). The place where "outputs off" (from
#: the run files' output records) and, with the pixel switch, "relays open" are asserted.
SAFE_STATE_CHECKS: list = [outputs_off_recorded, relays_open_recorded]


def _finite_metrics(kind, analysis: dict | None) -> dict:
    from qled.actions import lookup

    out = {}
    for key in kind.metric_keys:
        value = lookup(analysis or {}, key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and math.isfinite(value):
            out[key] = float(value)
    return out


class RecipeRunner:
    """Runs (or resumes) the steps of ``record`` for ``recipe`` in ``record.folder``.

    ``say`` receives one line per step; ``on_change(record)`` is called after every record
    save (the GUI's live step table); ``progress``: show a bar per run (terminal).
    """

    def __init__(self, recipe: Recipe, record: Record, *, say=print, on_change=None,
                 progress: bool = True, flush_interval_s: float = 1.0):
        self.recipe, self.record = recipe, record
        self.out = record.folder
        self.say, self.on_change, self.progress = say, on_change, progress
        self.flush_interval_s = flush_interval_s
        self.stop_event = threading.Event()
        self.stop_signal: int | None = None

    # ---------------------------------------------------------------- record
    def _save(self) -> None:
        self.record.save()
        if self.on_change is not None:
            self.on_change(self.record)

    def stop(self) -> None:
        """Stop after the current point of the current run (GUI abort)."""
        self.stop_event.set()

    def _signals(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handler(signum, frame):     # between runs; during a run its engine's handler
            self.stop_signal = signum
            self.stop_event.set()

        return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    @property
    def _main(self) -> bool:
        return threading.current_thread() is threading.main_thread()

    # ---------------------------------------------------------------- run
    def run(self, command: str = "run") -> int:
        """Run every unfinished step → exit code (0 all done, 1 some failed, 130 stopped)."""
        from acquisition.store import run_lock

        # one recipe process per folder: a second run / resume / GUI is refused in one line
        # naming the holder (RunLocked); the kernel frees the lock of a killed holder
        with run_lock(self.record.path, f"qled recipe {command}"):
            return self._run(command)

    def _run(self, command: str) -> int:
        from qled.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK

        session = {"command": command, "started": now_utc(), "ended": None, "exit": None}
        self.record.data["sessions"].append(session)
        self.record.data["state"] = "running"
        self._save()
        restore = self._signals()
        code = EXIT_OK
        try:
            while (i := self.record.first_unfinished()) is not None:
                if self.stop_event.is_set():
                    code = EXIT_INTERRUPTED
                    break
                step = self.record.steps[i]
                if step["pixels"] is None:
                    self._resolve(i)
                    continue
                self._do_step(step)
                if step["state"] == "interrupted":
                    code = EXIT_INTERRUPTED
                    break
        finally:
            for sig, h in restore.items():
                signal.signal(sig, h)
            counts = self.record.counts()
            if code == EXIT_OK and counts["failed"]:
                code = EXIT_FAILED
            self.record.data["state"] = "interrupted" if code == EXIT_INTERRUPTED else \
                ("finished" if self.record.first_unfinished() is None else "running")
            session.update(ended=now_utc(), exit=code)
            self._save()
        return code

    def _resolve(self, i: int) -> None:
        """Apply the condition of step ``i``: replace it by the steps of the chosen pixels."""
        from .check import known_parameters

        step = self.record.steps[i]
        block = self.recipe.block(step["block"])
        sub = self.recipe.substrate(step["substrate"])
        cond: Condition = block.pixels
        chosen, figures, reason = select_pixels(self.record.steps[:i], sub.name, cond,
                                                sub.pixels)
        if not chosen:
            step.update(state="skipped", reason=reason, figures=figures, started=now_utc(),
                        ended=now_utc())
            self.say(f"[{step['id']}] {sub.name} {block.name}: skipped — {reason}")
            self._save()
            return
        new = expand_step(self.recipe, sub, block, chosen, known_parameters(block.kind),
                          cond.text)
        for s in new:
            s["figures"] = figures
        self.record.steps[i:i + 1] = new
        for k, s in enumerate(self.record.steps, 1):
            s["id"] = k
        self.say(f"{sub.name} {block.name}: {cond.text} → pixel(s) "
                 f"{', '.join(map(str, chosen))}")
        self._save()

    # ---------------------------------------------------------------- one step
    def _label(self, step) -> str:
        px = ",".join(map(str, step["pixels"]))
        return f"[{step['id']}/{len(self.record.steps)}] {step['substrate']} pixel {px} " \
               f"{step['block']}"

    def _do_step(self, step: dict) -> None:
        from qled.kinds import kinds

        kind = kinds()[step["kind"]]
        outcomes: dict[int, tuple] = {}       # pixel → (state, file name or None, reason)
        if step["state"] in ("running", "interrupted"):
            outcomes = self._continue(step, kind)
        todo = [p for p in step["pixels"] if p not in outcomes]
        if todo and not self.stop_event.is_set():
            step.update(state="running", started=step["started"] or now_utc(), ended=None)
            self._save()
            self.say(f"{self._label(step)}: measuring")
            outcomes.update(self._measure(step, kind, todo))
        elif todo:
            for p in todo:
                outcomes[p] = ("interrupted", None, "stopped before it started")
        self._conclude(step, kind, outcomes)

    def _conclude(self, step, kind, outcomes) -> None:
        from qled.actions import analyze_file
        from acquisition.store import load_run

        results, files, reasons = {}, list(step["run_files"]), []
        for p in step["pixels"]:
            state, name, reason = outcomes.get(p, ("interrupted", None, "not reached"))
            if name and name not in files:
                files.append(name)
            if state == "done" and name:
                run = load_run(self.out / name, spectra=False)
                analysis = (run.analysis or {}).get(kind.key)
                if analysis is None:
                    analysis = analyze_file(self.out / name)
                results[str(p)] = _finite_metrics(kind, analysis)
                fault = _fault_stop(run)
                if fault:                 # finished safely, but not as planned (as qled run)
                    state, reason = "failed", fault
                    outcomes[p] = (state, name, reason)
            if reason:
                reasons.append(f"pixel {p}: {reason}")
        states = [outcomes.get(p, ("interrupted",))[0] for p in step["pixels"]]
        state = "interrupted" if "interrupted" in states else \
            ("done" if all(s == "done" for s in states) else "failed")
        step.update(state=state, run_files=files, results=results, reason="; ".join(reasons),
                    ended=now_utc() if state != "interrupted" else None)
        safety = [msg for check in SAFE_STATE_CHECKS
                  if (msg := check(step, self.out)) is not None]
        if safety:
            step["safety"] = safety
            for msg in safety:
                self.say(f"qled: warning: {self._label(step)}: not in a safe state: {msg}")
        self._save()
        shown = next((k for k, _, _ in kind.headlines if "." not in k), None)
        figures = ", ".join(f"px {p}: {shown} {m[shown]:.4g}" for p, m in results.items()
                            if shown in m)
        self.say(f"{self._label(step)}: {state}" + (f" ({figures})" if figures else "")
                 + (f" — {step['reason']}" if step["reason"] else ""))

    def _outcome(self, result) -> tuple:
        """(state, file name, reason) of one RunResult."""
        name = Path(result.path).name if result.path is not None else None
        if result.status == "finished":
            return ("done", name, "")
        if result.status == "aborted":
            # a recipe's run aborts only on a stop request (signal, GUI abort), also one its
            # own engine received (a resumed lifetime): the recipe stops after it
            self.stop_event.set()
            return ("interrupted", name, result.message or "stopped")
        return ("failed", name, result.message or result.status)

    def _measure(self, step, kind, pixels) -> dict:
        """Measure ``pixels`` of ``step`` afresh → {pixel: outcome}."""
        from acquisition.runner import RunEngine
        from procedures.base import build_procedure
        from qled.progress import Progress

        values = [step["parameters"][step["pixels"].index(p)] for p in pixels]
        block = self.recipe.block(step["block"])
        if block.channels:
            from procedures.lifetime_channels import run_channels

            results = run_channels(values, self.out, overrides=dict(step["sim"]),
                                   flush_interval_s=self.flush_interval_s,
                                   handle_signals=self._main, stop_event=self.stop_event)
            return {p: self._outcome(r) if r is not None else ("failed", None, "no result")
                    for p, r in zip(pixels, results)}
        out = {}
        for p, v in zip(pixels, values):
            if self.stop_event.is_set():
                out[p] = ("interrupted", None, "stopped before it started")
                continue
            try:
                proc = build_procedure(kind.procedure, v)
            except ValueError as exc:            # validated before: the station changed?
                out[p] = ("failed", None, " ".join(str(exc).split()))
                continue
            proc.sim_overrides = {**proc.sim_overrides, **step["sim"]}
            engine = RunEngine(proc, self.out, flush_interval_s=self.flush_interval_s,
                               command="qled recipe")
            engine._stop = self.stop_event   # one stop flag: signals, GUI abort, the recipe
            if self.progress:
                with Progress(f"{step['substrate']} px {p} {step['block']}") as bar:
                    engine.progress = bar
                    result = engine.run(handle_signals=self._main)
            else:
                result = engine.run(handle_signals=self._main)
            self.stop_signal = engine.stop_signal or self.stop_signal
            out[p] = self._outcome(result)
        return out

    # ---------------------------------------------------------------- resume
    def _files_of(self, step, kind) -> dict[int, Path]:
        """Run files of ``step`` on disk by pixel: those the record names, then files no step
        names whose sample, pixel, kind and start time match (a kill before the record saw
        them)."""
        from acquisition.store import load_run
        from qled.kinds import kind_of_run

        found: dict[int, Path] = {}
        named = set(step["run_files"])
        candidates = [self.out / n for n in step["run_files"]]
        referenced = self.record.referenced_files()
        candidates += [p for p in sorted(self.out.glob("*.h5")) if p.name not in referenced]
        started = _parse_time(step.get("started"))
        for path in candidates:
            if not path.is_file():
                continue
            try:
                run = load_run(path, spectra=False)
                if kind_of_run(run).name != kind.name:
                    continue
            except Exception:  # noqa: BLE001 - an unreadable stranger is not ours
                continue
            attrs = run.attrs
            if attrs.get("sample") != step["substrate"]:
                continue
            try:
                pixel = int(attrs.get("pixel"))
            except (TypeError, ValueError):
                continue
            if pixel not in step["pixels"] or pixel in found:
                continue
            if path.name not in named:
                t = _parse_time(attrs.get("start_time"))
                if started is None or t is None or t < started - dt.timedelta(seconds=2):
                    continue
            found[pixel] = path
        return found

    def _continue(self, step, kind) -> dict:
        """Outcomes of the pixels of an unfinished step that its files on disk settle."""
        from acquisition.store import load_run

        outcomes = {}
        partial = list(step["partial_files"])
        for pixel, path in self._files_of(step, kind).items():
            status = load_run(path, spectra=False).status
            if status == "finished":
                outcomes[pixel] = ("done", path.name, "")
            elif status == "failed":
                outcomes[pixel] = ("failed", path.name, "run failed (see its /events)")
            elif kind.resume_command is not None and kind.name == "lifetime":
                if self.stop_event.is_set():
                    outcomes[pixel] = ("interrupted", path.name, "stopped before it resumed")
                    continue
                self.say(f"{self._label(step)}: continuing {path.name} in place")
                result = kind.resume_command(path, flush_interval_s=self.flush_interval_s,
                                             handle_signals=self._main,
                                             stop_event=self.stop_event)
                if result.refused:          # e.g. killed before its first row
                    partial.append(path.name)
                    step.setdefault("partial_reasons", {})[path.name] = \
                        f"not continued: {result.message}"
                    self.say(f"  not continued ({result.message}): measured again")
                else:
                    outcomes[pixel] = self._outcome(result)
            else:
                partial.append(path.name)   # an interrupted sweep: kept, measured again
        step["partial_files"] = list(dict.fromkeys(partial))
        step["run_files"] = [n for n in step["run_files"] if n not in step["partial_files"]]
        self._save()
        return outcomes


def _fault_stop(run) -> str:
    """The reason a run stopped itself safely on a device fault (lifetime), or ''."""
    messages = run.events["message"] if len(run.events) else []
    for message in messages:
        if "stopped safely:" in str(message):
            return " ".join(str(message).split())
    return ""


def _parse_time(text):
    if not text:
        return None
    try:
        t = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.timezone.utc)
