"""Sweeps and the trigger model of the simulated Keithley 2450 (a mixin of the simulator).

What the manual says, and what is modelled:

- A sweep command (``:SOURce[1]:SWEep:<function>:LINear`` / ``:LINear:STEP`` / ``:LOG`` /
  ``:LIST``) "clears any existing trigger models, creates a source configuration list, and
  populates the trigger model"; **nothing runs until** ``:INITiate`` (Keithley *Model 2450
  Reference Manual* 2450-901-01 Rev. B (RM-B) p.6-81 … 6-87; 2450 TSP help WH-2450 30563,
  30565, 30566, 31499 ``smu.source.sweeplinear/…step/…log/…list``).
- Sweep delay −1 = auto delay (the default of LIN, STEP and LOG), 0 = none, otherwise 50 µs …
  10 ks, *added* to the source delay (WH-2450 30563); the LIST sweep's delay defaults to 0
  (WH-2450 31499).
- ``failAbort`` ON (the default) aborts the sweep when the source limit is exceeded, OFF
  completes it (RM-B p.6-81; WH-2450 30563). *The point at which the limit was exceeded is
  stored before the sweep stops (guess).*
- ``dual`` ON runs start → stop → start (2·points − 1 readings), default OFF (WH-2450 30563);
  count 0 = until ``:ABORt``; rangeType BEST (default) / AUTO / FIXed (FIXed: a level beyond
  the range gives the range's maximum, WH-2450 30563).
- ``:INITiate`` is an *overlapped* command: the trigger model runs while later commands
  arrive (RM-B p.B-10 ``*WAI``). ``*WAI`` postpones later commands until it is done, ``*OPC?``
  answers ``1`` then, ``*OPC`` sets the OPC bit then (RM-B p.B-6, p.B-10; WH-2450 29803).
  "When the trigger model is executing, most sent commands are not executed. If a command
  cannot be processed, an error event message is generated in the event log" (WH-2450
  29803): here everything but the common commands, ``:ABORt``, ``:TRIGger:STATe?`` and the
  ``:SYSTem:ERRor``/``:EVENtlog``/``:STATus`` queries is refused with **-200** *(guess: the
  code was not found)*; a second ``:INITiate`` gives -213 "Init ignored" *(guess, the SCPI
  standard's code)*. ``:ABORt`` stops the trigger model, sweeps included (WH-2450 30227).
- *The sweep turns the output on and leaves it on (guess)*; the readings go to the sweep's
  buffer *without clearing it first (guess)*; the source level stays at the last point's
  (the configuration list sets it, guess).
- A source list (``:SOURce[1]:LIST:<function> <v>, …`` ≤ 100 values, ``…:APPend``)
  holds at most 2500 values (RM-B p.6-78/6-79; the 2500 total: 2461 manual p.6-102, a
  sibling).

The instrument provides ``self._lock`` (the engine's), ``self.point_start(function, level,
range_mode)`` → pending point, ``self.point_wait(pending, extra_delay_s)`` and
``self.point_finish(pending, buffer)`` → reading, ``self.source_function`` …
"""
from __future__ import annotations

import threading

import numpy as np

from .keithley2450_format import SSTAT_LIMIT
from .scpi import Bool, Choice, Integer, Number, NumberList, QString, SCPIError, scpi

__all__ = ["TriggerModel", "Sweep"]

_RANGE_TYPE = Choice("BEST", "AUTO", "FIXed")
_LIMITS = {"VOLT": 210.0, "CURR": 1.05}
_MAX_LIST = 2500
#: Commands the trigger model lets through while it runs (see the module docstring).
_ALLOWED_WHILE_RUNNING = frozenset({
    "_opc", "_opc_q", "_wai", "_abort", "_stb_q", "_esr_q", "_ese_q", "_sre_q", "_idn",
    "_lang_q", "_tst_q", "_rst", "_cls", "_trig_state", "_syst_err", "_syst_err_count",
    "_syst_even_next", "_syst_even_count", "_oper_event", "_oper_cond", "_ques_event",
    "_ques_cond", "_init"})


class Sweep:
    """A loaded trigger model: the source levels of one pass and how to run them."""

    __slots__ = ("function", "levels", "delay_s", "count", "range_type", "fail_abort",
                 "buffer")

    def __init__(self, function, levels, delay_s, count, range_type, fail_abort, buffer):
        self.function, self.levels, self.delay_s = function, list(levels), delay_s
        self.count, self.range_type, self.fail_abort = count, range_type, fail_abort
        self.buffer = buffer


def _check_delay(delay_s: float) -> float:
    """−1 (auto), 0, or 50 µs … 10 ks (WH-2450 30563)."""
    if delay_s == -1 or delay_s == 0 or 50e-6 <= delay_s <= 1e4:
        return delay_s
    raise SCPIError(-222)


class TriggerModel:
    """Sweep commands, source lists, ``:INITiate`` / ``:ABORt`` / ``*WAI`` / ``*OPC?``."""

    def _init_trigger_model(self) -> None:
        self._sweep: Sweep | None = None
        self._running = False
        self._abort_requested = False
        self._worker: threading.Thread | None = None
        self._idle = threading.Condition(self._lock)
        self._last_block = 0
        self.source_lists = {"VOLT": [], "CURR": []}

    # -- loading a sweep -----------------------------------------------------------------
    def _load(self, function, levels, delay_s, count, range_type, fail_abort, buffer_name):
        limit = _LIMITS[function]
        if any(abs(v) > limit * 1.000001 for v in levels):
            raise SCPIError(-222)
        buffer = self._buffer(buffer_name)
        if buffer.style in ("WRIT", "FULLWRIT"):      # WH-2450 30563: not a sweep buffer
            raise SCPIError(-221)
        if not 0 <= count <= 268_435_455:
            raise SCPIError(-222)
        self._sweep = Sweep(function, levels, _check_delay(delay_s), count, range_type,
                            fail_abort, buffer.name)

    _LIN_PARAMS = (Number(-210, 210), Number(-210, 210), Integer(2, 1_000_000),
                   Number(-1, 1e4), Integer(0, 268_435_455), _RANGE_TYPE, Bool(), Bool(),
                   QString())

    @scpi(":SOURce[1]:SWEep:VOLTage:LINear", params=_LIN_PARAMS, required=3)
    def _sweep_lin_v(self, start, stop, points, delay=-1, count=1, range_type="BEST",
                     fail_abort=True, dual=False, buffer="defbuffer1"):
        self._linear("VOLT", start, stop, points, delay, count, range_type, fail_abort,
                     dual, buffer)

    @scpi(":SOURce[1]:SWEep:CURRent:LINear", params=_LIN_PARAMS, required=3)
    def _sweep_lin_i(self, start, stop, points, delay=-1, count=1, range_type="BEST",
                     fail_abort=True, dual=False, buffer="defbuffer1"):
        self._linear("CURR", start, stop, points, delay, count, range_type, fail_abort,
                     dual, buffer)

    def _linear(self, function, start, stop, points, delay, count, range_type, fail_abort,
                dual, buffer):
        levels = np.linspace(start, stop, points).tolist()
        self._load(function, _dual(levels, dual), delay, count, range_type, fail_abort, buffer)

    _STEP_PARAMS = (Number(-210, 210), Number(-210, 210), Number(0, 420), Number(-1, 1e4),
                    Integer(0, 268_435_455), _RANGE_TYPE, Bool(), Bool(), QString())

    @scpi(":SOURce[1]:SWEep:VOLTage:LINear:STEP", params=_STEP_PARAMS, required=3)
    def _sweep_step_v(self, start, stop, step, delay=-1, count=1, range_type="BEST",
                      fail_abort=True, dual=False, buffer="defbuffer1"):
        self._step("VOLT", start, stop, step, delay, count, range_type, fail_abort, dual,
                   buffer)

    @scpi(":SOURce[1]:SWEep:CURRent:LINear:STEP", params=_STEP_PARAMS, required=3)
    def _sweep_step_i(self, start, stop, step, delay=-1, count=1, range_type="BEST",
                      fail_abort=True, dual=False, buffer="defbuffer1"):
        self._step("CURR", start, stop, step, delay, count, range_type, fail_abort, dual,
                   buffer)

    def _step(self, function, start, stop, step, delay, count, range_type, fail_abort, dual,
              buffer):
        """Points = (stop − start) / step + 1, ascending or descending; the step must be
        more than 0 and give a whole number of steps, else -221 "settings conflict"
        (WH-2450 30565; *the rounding tolerance is a guess*)."""
        if step <= 0:
            raise SCPIError(-221)
        steps = abs(stop - start) / step
        if abs(steps - round(steps)) > 1e-6 * max(1.0, steps) or not 1 <= round(steps) < 1e6:
            raise SCPIError(-221)
        levels = np.linspace(start, stop, int(round(steps)) + 1).tolist()
        self._load(function, _dual(levels, dual), delay, count, range_type, fail_abort, buffer)

    _LOG_PARAMS = (Number(-210, 210), Number(-210, 210), Integer(2, 1_000_000),
                   Number(-1, 1e4), Integer(0, 268_435_455), _RANGE_TYPE, Bool(), Bool(),
                   QString(), Number(-210, 210))

    @scpi(":SOURce[1]:SWEep:VOLTage:LOG", params=_LOG_PARAMS, required=3)
    def _sweep_log_v(self, start, stop, points, delay=-1, count=1, range_type="BEST",
                     fail_abort=True, dual=False, buffer="defbuffer1", asymptote=0.0):
        self._log_sweep("VOLT", start, stop, points, delay, count, range_type, fail_abort,
                        dual, buffer, asymptote)

    @scpi(":SOURce[1]:SWEep:CURRent:LOG", params=_LOG_PARAMS, required=3)
    def _sweep_log_i(self, start, stop, points, delay=-1, count=1, range_type="BEST",
                     fail_abort=True, dual=False, buffer="defbuffer1", asymptote=0.0):
        self._log_sweep("CURR", start, stop, points, delay, count, range_type, fail_abort,
                        dual, buffer, asymptote)

    def _log_sweep(self, function, start, stop, points, delay, count, range_type, fail_abort,
                   dual, buffer, asymptote):
        """Log spacing of ``level − asymptote`` from start to stop; start and stop from
        1 pA / 1 pV (WH-2450 30566; *the asymptote as an offset of the log axis is a
        guess*)."""
        a, b = start - asymptote, stop - asymptote
        if a * b <= 0 or min(abs(start), abs(stop)) < 1e-12:
            raise SCPIError(-221)
        levels = (asymptote + np.geomspace(a, b, points)).tolist()
        self._load(function, _dual(levels, dual), delay, count, range_type, fail_abort, buffer)

    _LIST_PARAMS = (Integer(1, _MAX_LIST), Number(0, 1e4), Integer(0, 268_435_455), Bool(),
                    QString())

    @scpi(":SOURce[1]:SWEep:VOLTage:LIST", params=_LIST_PARAMS, required=1)
    def _sweep_list_v(self, start_index, delay=0.0, count=1, fail_abort=True,
                      buffer="defbuffer1"):
        self._list_sweep("VOLT", start_index, delay, count, fail_abort, buffer)

    @scpi(":SOURce[1]:SWEep:CURRent:LIST", params=_LIST_PARAMS, required=1)
    def _sweep_list_i(self, start_index, delay=0.0, count=1, fail_abort=True,
                      buffer="defbuffer1"):
        self._list_sweep("CURR", start_index, delay, count, fail_abort, buffer)

    def _list_sweep(self, function, start_index, delay, count, fail_abort, buffer):
        """``:SOURce[1]:SWEep:<function>:LIST <startIndex>[, <delay>[, <count>[, <failAbort>
        [, "<buffer>"]]]]`` on the source list (RM-B p.6-85; WH-2450 31499: delay default 0,
        failAbort ON). An empty list or a start beyond it: -221 *(guess)*."""
        values = self.source_lists[function]
        if not values or start_index > len(values):
            raise SCPIError(-221)
        # Each point recalls its stored settings, the present source ranging included.
        self._load(function, values[start_index - 1:], delay, count, None, fail_abort, buffer)

    # -- source lists ---------------------------------------------------------------------
    def _list_set(self, function, values, append=False):
        if len(values) > 100:                          # ≤ 100 values per command (RM-B p.6-78)
            raise SCPIError(-108)
        current = self.source_lists[function] if append else []
        if len(current) + len(values) > _MAX_LIST:
            raise SCPIError(-222)
        self.source_lists[function] = current + list(values)

    @scpi(":SOURce[1]:LIST:VOLTage", params=(NumberList(-210, 210, max_len=_MAX_LIST),))
    def _list_v(self, values):
        self._list_set("VOLT", values)

    @scpi(":SOURce[1]:LIST:CURRent", params=(NumberList(-1.05, 1.05, max_len=_MAX_LIST),))
    def _list_i(self, values):
        self._list_set("CURR", values)

    @scpi(":SOURce[1]:LIST:VOLTage:APPend", params=(NumberList(-210, 210, max_len=_MAX_LIST),))
    def _list_v_append(self, values):
        self._list_set("VOLT", values, append=True)

    @scpi(":SOURce[1]:LIST:CURRent:APPend", params=(NumberList(-1.05, 1.05, max_len=_MAX_LIST),))
    def _list_i_append(self, values):
        self._list_set("CURR", values, append=True)

    @scpi(":SOURce[1]:LIST:VOLTage?")
    def _list_v_q(self):
        return ",".join(self.format_number(v) for v in self.source_lists["VOLT"])

    @scpi(":SOURce[1]:LIST:CURRent?")
    def _list_i_q(self):
        return ",".join(self.format_number(v) for v in self.source_lists["CURR"])

    # -- running ---------------------------------------------------------------------------
    def _gate_running(self, name: str, query: bool) -> None:
        if name not in _ALLOWED_WHILE_RUNNING:
            raise SCPIError(-200)
        if name == "_init":
            raise SCPIError(-213)

    @scpi(":INITiate[:IMMediate]")
    def _init(self):
        """Start the loaded trigger model in the background (overlapped). No trigger model
        loaded: -221 *(guess; a 2450 shows "no trigger model found", pymeasure issue #221)*."""
        if self._sweep is None:
            raise SCPIError(-221)
        self._abort_requested = False
        self._running = True
        self.gate = self._gate_running
        self.notify_event(2731)               # idle → running (WH-2450 40158)
        self._worker = threading.Thread(target=self._run, args=(self._sweep,),
                                        name="sim-2450-trigger-model", daemon=True)
        self._worker.start()

    def _run(self, sweep: Sweep) -> None:
        buffer = self._buffers.get(sweep.buffer)
        outcome = 2732                        # completed
        try:
            with self._lock:
                self.begin_sweep(sweep)
            passes = 0
            while sweep.count == 0 or passes < sweep.count:
                for level in sweep.levels:
                    with self._lock:
                        if self._abort_requested or buffer is None:
                            outcome = 2728
                            return
                        pending = self.point_start(sweep.function, level, sweep.range_type)
                        self._last_block += 1
                    self.point_wait(pending, 0.0 if sweep.delay_s == -1 else sweep.delay_s)
                    with self._lock:
                        reading = self.point_finish(pending, buffer)
                    if sweep.fail_abort and reading is not None and reading[4] & SSTAT_LIMIT:
                        outcome = 2728        # aborted on the source limit (guess: 2728)
                        return
                passes += 1
        finally:
            with self._lock:
                self._running = False
                self.gate = None
                self.notify_event(outcome)
                self._idle.notify_all()

    def wait_idle(self) -> None:
        while self._running:
            self._idle.wait(0.5)

    @scpi(":ABORt")
    def _abort(self):
        """Stop the trigger model, sweeps included (WH-2450 30227)."""
        self._abort_requested = True

    @scpi(":TRIGger:STATe?")
    def _trig_state(self):
        """``<state>;<state>;<block>`` — the SCPI form of ``trigger.model.state()``
        (WH-2450 25741: IDLE, RUNNING, EMPTY …). *The SCPI reply text is a guess.*"""
        if self._sweep is None:
            return f"EMPTY;EMPTY;{self._last_block}"
        state = "RUNNING" if self._running else "IDLE"
        return f"{state};{state};{self._last_block}"

    def stop_trigger_model(self, timeout_s: float = 5.0) -> None:
        """Abort and wait for the worker (``*RST``, closing the bench)."""
        worker = self._worker
        self._abort_requested = True
        if worker is not None and worker is not threading.current_thread():
            with self._idle:
                self._idle.wait_for(lambda: not self._running, timeout_s)


def _dual(levels: list, dual: bool) -> list:
    """start → stop, then back to start without repeating stop (WH-2450 30563)."""
    return levels + levels[-2::-1] if dual else levels

