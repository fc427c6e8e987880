"""What every qled-bench procedure shares: station handling, run metadata, events, safe exit.

A procedure talks to *roles* (``instruments.roles``) obtained from a station, emits rows,
and knows nothing about files: the run engine (``acquisition.runner``) or the GUI routes
its records to the HDF5 store. Parameters are PyMeasure parameters with units; they are
validated (ranges and cross-checks) before the station is opened, so nothing is sourced
with a bad value.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
from pymeasure.experiment import (BooleanParameter, FloatParameter, IntegerParameter,
                                  ListParameter, Parameter, Procedure)

__all__ = ["QledProcedure", "build_procedure", "describe_parameter", "read_error_queue",
           "SAMPLE", "SWEEP", "LIMITS", "INSTRUMENTS", "MEASUREMENT", "STRESS", "GROUP_ORDER",
           "first_current_collapse", "ERROR_QUEUE_MAX_READ", "OPEN_FLOOR_A",
           "OPEN_CONDUCTING_A", "OPEN_COLLAPSE_RATIO", "OPEN_CIRCUIT_WORDS"]

#: Groups of parameters, as ``qled run KIND --help`` shows them (:attr:`QledProcedure.
#: PARAMETER_GROUPS` assigns each parameter to one; unassigned ones are MEASUREMENT).
SAMPLE = "sample and device"
SWEEP = "sweep"
STRESS = "stress"
MEASUREMENT = "measurement"
LIMITS = "limits and safety"
INSTRUMENTS = "instruments"
#: The order in which the groups are shown.
GROUP_ORDER = (SAMPLE, SWEEP, STRESS, MEASUREMENT, LIMITS, INSTRUMENTS)

#: Most error-queue entries read at once (a queue that never empties must not hang a run).
ERROR_QUEUE_MAX_READ = 20

#: Open-circuit watch of a sweep (J-V-L, SCLC). A conducting device's |I| never falls by
#: orders of magnitude while |V| rises (a diode's forward current, a single-carrier film's
#: ohmic / space-charge-limited current, a diode's reverse leakage all grow with |V|), so on a
#: branch of rising |V| a point whose |I| is below ``OPEN_FLOOR_A`` (about the noise floor of
#: an SMU's low current ranges; an open pixel reads 0 ± a few pA) and more than
#: ``OPEN_COLLAPSE_RATIO`` times below the previous point's, after that point carried at least
#: ``OPEN_CONDUCTING_A`` (clearly above the floor), means the contact is gone: one warning
#: event, the sweep goes on (the data show the rest).
OPEN_FLOOR_A = 1e-9
OPEN_CONDUCTING_A = 1e-8
OPEN_COLLAPSE_RATIO = 1e3
#: Words every open-circuit warning ends with (collapse or no current at all).
OPEN_CIRCUIT_WORDS = "open circuit / lost contact?"


def read_error_queue(smu, limit: int = ERROR_QUEUE_MAX_READ) -> list[tuple[int, str]]:
    """Entries of a SourceMeter's error queue (its ``read_errors()``), at most ``limit``;
    a role without one reads as an empty queue."""
    reader = getattr(smu, "read_errors", None)
    if not callable(reader):
        return []
    return [(int(c), str(m)) for c, m in list(reader(limit) or [])[:limit]]


def first_current_collapse(previous_abs_A: float, currents_A, watch_from: int = 0) -> int:
    """Index of the first point of ``currents_A`` [A] (a run of consecutive points on a branch
    of rising |V|) whose current collapsed (see :data:`OPEN_FLOOR_A`), or -1.

    ``previous_abs_A`` is |I| of the point before the first one (0: none); the point at index
    ``i`` is compared with its predecessor only for ``i ≥ watch_from``. The vector form of the
    per-point test of the point-by-point loops (hardware list sweeps).
    """
    a = np.abs(np.asarray(currents_A, float))
    if a.size == 0:
        return -1
    before = np.concatenate(([previous_abs_A], a[:-1]))
    before[:max(0, watch_from)] = 0.0
    hit = (a < OPEN_FLOOR_A) & (before > OPEN_CONDUCTING_A) & (before > OPEN_COLLAPSE_RATIO * a)
    idx = np.flatnonzero(hit)
    return int(idx[0]) if idx.size else -1


def describe_parameter(param) -> str:
    """Allowed values of a PyMeasure parameter as text (for one-line error messages)."""
    units = f" {param.units}" if getattr(param, "units", None) else ""
    if isinstance(param, (FloatParameter, IntegerParameter)):
        return f"allowed {param.minimum:g} … {param.maximum:g}{units}"
    if isinstance(param, ListParameter):
        return "allowed " + " | ".join(str(c) for c in param.choices)
    if isinstance(param, BooleanParameter):
        return "allowed true | false"
    return "a text value"


def build_procedure(cls: type[Procedure], values: dict[str, Any], **kwargs) -> Procedure:
    """Instantiate ``cls`` with parameter ``values``; a bad value raises one clear ValueError.

    PyMeasure's own messages ("FloatParameter value is above the maximum") do not name the
    parameter; this one does, with the allowed range.
    """
    procedure = cls(**kwargs)
    params = procedure._parameters
    for name, value in values.items():
        if name not in params:
            known = ", ".join(sorted(params))
            raise ValueError(f"unknown parameter '{name}' for {cls.__name__}: known are {known}")
        try:
            setattr(procedure, name, value)
            params[name].value = value
        except (ValueError, TypeError):
            raise ValueError(f"{name} = {value!r} is not accepted: "
                             f"{describe_parameter(params[name])}") from None
        if isinstance(params[name], (FloatParameter, IntegerParameter)) and \
                not math.isfinite(float(params[name].value)):
            # PyMeasure's range check lets NaN through (every comparison with NaN is False)
            raise ValueError(f"{name} = {value!r} is not accepted: a finite number, "
                             f"{describe_parameter(params[name])}")
    procedure.refresh_parameters()
    procedure.check_parameters()
    if hasattr(procedure, "validate"):
        procedure.validate()
    return procedure


class QledProcedure(Procedure):
    """Base class: a station, identification, truth and events for the run record.

    Subclasses set ``REQUIRED_ROLES`` (names of station roles they use), define
    ``DATA_COLUMNS`` with unit-suffixed names, implement ``validate()`` for cross-parameter
    checks (raise ``ValueError`` naming the parameter and the allowed range), ``execute()``,
    and ``outputs_off()``, which must switch off everything the procedure can source and
    is called from ``shutdown()`` on every exit path.
    """

    station = Parameter("Station", default="sim")
    sample = Parameter("Sample", default="sample")
    pixel = IntegerParameter("Pixel", minimum=1, maximum=64, default=1)
    operator = Parameter("Operator", default="")

    REQUIRED_ROLES: tuple[str, ...] = ("smu",)
    #: ``"sweep"`` (someone watches: give up after seconds) or ``"unattended"`` (ride out a
    #: minute of outage); see :meth:`instruments.station.Station.set_reconnect_policy`.
    RECONNECT_POLICY = "sweep"
    #: Parameter name → group of ``qled run --help`` (:data:`SAMPLE`, :data:`SWEEP` …; shown
    #: in :data:`GROUP_ORDER`, parameters in the order listed here); subclasses extend it.
    PARAMETER_GROUPS: dict[str, str] = {"sample": SAMPLE, "pixel": SAMPLE, "operator": SAMPLE,
                                        "station": INSTRUMENTS}
    #: Bumped when what a procedure records changes meaning.
    PROCEDURE_VERSION = "1"
    #: Most recent events kept in memory (``_events``); the run file keeps every one.
    KEEP_EVENTS = 200

    def __init__(self, station_object=None, **kwargs):
        self._station = station_object
        self._owns_station = station_object is None
        self._events: deque[dict] = deque(maxlen=self.KEEP_EVENTS)  # /events has them all
        self._open_circuit_noted = False
        super().__init__(**kwargs)

    # -- validation -------------------------------------------------------------------
    def validate(self) -> None:
        """Cross-parameter checks; override in subclasses (called before any connection)."""

    @staticmethod
    def require(condition: bool, message: str) -> None:
        if not condition:
            raise ValueError(message)

    # -- life cycle -------------------------------------------------------------------
    def startup(self):
        self.validate()
        if self._station is None:
            self._station = self._open_station()
        self.clock = self._station.clock
        self.t0 = self.clock.time()
        setter = getattr(self._station, "set_reconnect_policy", None)
        if setter is not None:
            policy = setter(self.RECONNECT_POLICY)
            self.log_event("info", f"reconnect policy {self.RECONNECT_POLICY}: a broken link is "
                           f"retried for {policy.ride_out_s:g} s before the run gives up")
        self._note_nplc_precedence()
        from .routing import connect_pixel

        self._routing = connect_pixel(self)     # None without a switch
        self.record_environment("start")

    def _open_station(self):
        from instruments.station import open_station  # heavy import, only when run

        spec = str(self.station)
        if spec == "sim" or spec.startswith("sim:"):
            return open_station("sim", roles=self.required_roles(), on_event=self.log_event,
                                sim_options=self.simulated_bench_options(spec))
        return open_station(spec, roles=self.required_roles(), on_event=self.log_event)

    #: Extra ``simulators.bench.Bench`` keyword arguments for ``station = "sim…"`` (the CLI
    #: sets e.g. ``{"time_scale": 1000}``; tests set ``{"noise": False}``).
    sim_overrides: dict = {}

    def simulated_bench_options(self, spec: str) -> dict:
        """Bench options for ``sim`` / ``sim:<preset>``: one device for this pixel.

        The device is ``instruments.simulated.pixel_device_spec(preset, pixel)`` (one of
        :attr:`SIM_DEVICES`, seeded by pixel number and preset: pixel k is the same device for
        every kind of run), its area set to the procedure's ``area_cm2`` when it has one (the
        operator's measured area is the truth). With ``sim_overrides["switch"]``
        (``"keithley7001"`` or ``"relay_box"``) the bench is a switched substrate of
        ``max(4, pixel)`` pixels (``sim_overrides["pixels"]`` to choose), pixel k =
        ``pixel_device_spec(preset, k)``, and the run connects its pixel through the switch.
        Devices are described as data: procedures do not import the simulators.
        """
        from instruments.simulated import pixel_device_spec, substrate_devices

        preset = self.sim_preset(spec)
        area = float(self.area_cm2) if hasattr(self, "area_cm2") else None
        options = {"devices": [pixel_device_spec(preset, int(self.pixel), area)],
                   "seed": int(self.pixel)}
        if self.sim_overrides.get("switch"):
            pixels = int(self.sim_overrides.get("pixels", max(4, int(self.pixel))))
            options["devices"] = substrate_devices(preset, pixels, area)
            options["pixels"] = pixels
        options.update(self.sim_overrides)
        return options

    #: Simulated devices this procedure runs on (``station = "sim:<device>"``); the first is
    #: the device of plain ``"sim"``.
    SIM_DEVICES: tuple[str, ...] = ("passivated", "pristine", "uniform_junction")

    def sim_preset(self, spec: str) -> str:
        """The device named by ``sim`` / ``sim:<device>``; ValueError naming the allowed ones."""
        preset = spec.partition(":")[2] or self.SIM_DEVICES[0]
        if preset not in self.SIM_DEVICES:
            raise ValueError(f"station = {spec!r} is not allowed: use a TOML path, 'sim' or "
                             f"sim:<{'|'.join(self.SIM_DEVICES)}>")
        return preset

    def check_source_request(self, smu, **asks) -> None:
        """Refuse (one-line ValueError) what ``smu`` cannot do, before anything is sourced or
        recorded: each ask is ``kind=(value, "how the user gave it", factor)`` with kind one of
        ``voltage_V``, ``current_A``, ``compliance_A``, ``compliance_V`` (the keys of the
        role's ``limits``) and ``value × factor`` the user's figure (e.g. mA for a current).

        The limits are the model's range narrowed by the station's ``max_voltage_V``; a role
        without ``limits`` (a test double) is not checked.
        """
        limits = getattr(smu, "limits", None)
        if not isinstance(limits, dict):
            return
        units = {"voltage_V": "V", "current_A": "A", "compliance_A": "A", "compliance_V": "V"}
        for kind, (value, what, factor) in asks.items():
            lo, hi = limits[kind]
            if kind.startswith("compliance"):
                lo = max(lo, 0.0)
                ok = lo <= abs(value) <= hi
            else:
                ok = lo <= value <= hi
            if not (math.isfinite(value) and ok):
                name = getattr(smu, "name", "smu")
                source = "the instrument's range" + (
                    ", narrowed by the station's max_voltage_V" if units[kind] == "V" and
                    getattr(smu, "max_voltage_V", None) is not None else "")
                raise ValueError(f"{what} = {value * factor:g} is out of range for {name}: "
                                 f"allowed {lo * factor:g} … {hi * factor:g} "
                                 f"(= {lo:g} … {hi:g} {units[kind]}, {source})")

    def required_roles(self) -> tuple[str, ...]:
        return self.REQUIRED_ROLES

    def shutdown(self):
        station = self._station
        if station is None:
            return
        try:
            self.outputs_off()
            if getattr(self, "_routing", None) is not None:
                from .routing import release_pixel

                release_pixel(self)     # after the outputs are off
        finally:
            try:
                self.record_environment("end")
            finally:
                if self._owns_station:
                    station.close()
                    self._station = None

    # -- environment (procedures.environment) ---------------------------------------------
    def environment_now(self) -> dict:
        """Device temperature and room T/RH now (NaN where the station has no sensor); the
        first absence and every failed reading are noted in ``/events``."""
        from .environment import read_environment, thermometer_for

        station = self._station
        if not getattr(self, "_environment_noted", False):
            self._environment_noted = True
            channel = getattr(self, "channel", None)
            missing = [r for r, obj in (("thermometer", thermometer_for(station, channel)),
                                        ("ambient", getattr(station, "ambient", None)))
                       if obj is None]
            if missing:
                self.log_event("info", f"environment: no {' and no '.join(missing)} in the "
                               "station: recorded as NaN")
        return read_environment(station, getattr(self, "channel", None), on_problem=lambda
                                role, why: self.log_event("warning", f"environment: {role} "
                                                          f"reading failed ({why}): NaN"))

    def record_environment(self, when: str) -> dict:
        """One ``environment <when>: …`` event (start and end of every run; schema.md)."""
        from .environment import environment_message

        if self._station is None:
            return {}
        values = self.environment_now()
        self.log_event("info", environment_message(when, values))
        return values

    def outputs_off(self) -> None:
        """Switch off every output this procedure may have turned on."""
        for role in ("smu", "lcr"):
            instrument = getattr(self._station, role, None)
            if instrument is None:
                continue
            off = getattr(instrument, "output_off", None) or getattr(instrument, "bias_off", None)
            if off is not None:
                off()

    # -- helpers for subclasses -------------------------------------------------------
    @property
    def instruments(self):
        return self._station

    def elapsed_s(self) -> float:
        return self.clock.time() - self.t0

    #: Longest wall-clock time a wait runs without looking at the stop flag [s].
    STOP_POLL_WALL_S = 0.1

    def wait(self, seconds: float) -> bool:
        """Wait ``seconds`` on the station clock, seeing a stop request (Ctrl-C, SIGTERM,
        GUI abort) within :attr:`STOP_POLL_WALL_S` of wall time. Returns False if it was cut
        short by a stop request, True otherwise.

        Every wait of a procedure goes through here, so a stop takes effect in about a
        second whatever the dwell, settle or log interval (a plain ``clock.sleep(300)`` would
        hold a PL-stability log for five minutes).
        """
        end = self.clock.time() + max(0.0, float(seconds))
        slice_s = self.STOP_POLL_WALL_S * float(getattr(self.clock, "time_scale", 1.0))
        while True:
            if self.should_stop():
                return False
            remaining = end - self.clock.time()
            if remaining <= 0:
                return True
            self.clock.sleep(min(remaining, slice_s))

    def log_event(self, level: str, message: str) -> None:
        """Record an event (reconnect, compliance, limit, fault) in the run's ``/events``
        (the run engine stamps its time on the run's clock)."""
        event = {"level": level, "message": message}
        stress = self.event_stress_time_s()
        if stress is not None:
            event["stress_time_s"] = stress
        self._events.append(event)
        emit = getattr(self, "emit", None)
        if callable(emit):
            try:
                emit("event", event)
            except NotImplementedError:
                # No run engine attached (before the run or after it ended, e.g. the
                # station's closing output-off read-backs): the event stays in _events only.
                pass

    def record_error_queue(self, instrument, when: str, *,
                           goes_on: str = "measurement continues") -> int:
        """Drain ``instrument``'s error queue (:func:`read_error_queue`); each entry → a
        warning in ``/events`` naming the instrument, code and text, read ``when`` (e.g.
        "after the forward sweep", "at t = 12 s"). Returns the number of entries.

        Call it at cheap moments (between branches, at the end), not per point. A queue that
        cannot be read is recorded too (warning) and the procedure goes on: a link that is
        gone for good shows at the next measurement.
        """
        name = getattr(instrument, "name", "smu")
        try:
            errors = read_error_queue(instrument)
        except Exception as exc:  # noqa: BLE001 - a status query never ends a measurement
            self.log_event("warning", f"{name}: error queue not readable {when}: "
                           f"{type(exc).__name__}: {str(exc).strip()[:200]}")
            return 0
        for code, text in errors:
            self.log_event("warning", f"{name}: instrument error {code}, {text} (error queue "
                           f"read {when}); {goes_on}")
        if len(errors) >= ERROR_QUEUE_MAX_READ:
            self.log_event("warning", f"{name}: {len(errors)} errors read, more may be queued")
        return len(errors)

    def note_current_collapse(self, before_A: float, after_A: float, voltage_V: float,
                              branch: str) -> None:
        """One warning per run: |I| collapsed on a branch of rising |V| (see
        :data:`OPEN_FLOOR_A`); the sweep goes on."""
        if self._open_circuit_noted:
            return
        self._open_circuit_noted = True
        self.log_event("warning", f"current collapsed from {before_A:.3g} A to {after_A:.3g} A "
                       f"at V = {voltage_V:g} V on the {branch} sweep: {OPEN_CIRCUIT_WORDS} "
                       "(sweep continues)")

    def note_no_current(self, up_to_V: float, branch: str, expected: str) -> None:
        """One warning per run (none after a collapse): no point of a branch that reached
        ``up_to_V`` carried |I| ≥ :data:`OPEN_FLOOR_A`; ``expected`` says why it should."""
        if self._open_circuit_noted:
            return
        self._open_circuit_noted = True
        self.log_event("warning", f"no device current: |I| < {OPEN_FLOOR_A:g} A on the whole "
                       f"{branch} sweep up to {up_to_V:g} V ({expected}): {OPEN_CIRCUIT_WORDS}")

    def event_stress_time_s(self) -> float | None:
        """Stress time [s] to record with an event (``/events/stress_time_s``), None where the
        procedure has no stress (yet); lifetime overrides it."""
        return None

    def _simulated_truth(self, st) -> dict | None:
        """The simulated bench's truth for ``/truth``: in-process or published by ``qled sim
        serve``; None on real hardware. A served bench whose truth cannot be read gives no
        ``/truth`` (and a warning event), not a failed run."""
        if not getattr(st, "simulated", False) or not hasattr(st, "truth"):
            return None
        try:
            return st.truth()
        except RuntimeError as exc:
            self.log_event("warning", f"no simulated truth recorded: {exc}")
            return None

    def _note_nplc_precedence(self) -> None:
        """Say in ``/events`` when this procedure's NPLC overrides the station's ``[smu] nplc``.

        Precedence: a procedure with an ``nplc`` parameter integrates at that value (it is in
        ``/parameters``); the station file's ``[smu] nplc`` is the SMU's default for
        everything else (see ``instruments.station.open_source_meter``).
        """
        if "nplc" not in getattr(self, "_parameters", {}):
            return
        own = float(self.nplc)
        config = getattr(self._station, "config", None)
        if not isinstance(config, dict):
            return
        tables = []
        if getattr(self._station, "smu", None) is not None:
            tables.append(("[smu]", config.get("smu") or {}))
        channel = getattr(self, "channel", None)
        channels = config.get("channel") or []
        if isinstance(channel, int) and 1 <= channel <= len(channels):
            tables.append((f"[[channel]] #{channel} smu", channels[channel - 1].get("smu") or {}))
        for where, table in tables:
            station_nplc = table.get("nplc")
            if station_nplc is not None and float(station_nplc) != own:
                self.log_event("info", f"station {where} nplc = {float(station_nplc):g} "
                               f"overridden by this procedure's nplc = {own:g}")

    def run_metadata(self) -> dict:
        """Metadata the store writes at the start of the run (called after ``startup``)."""
        st = self._station
        return {
            "sample": str(self.sample),
            "pixel": str(self.pixel),
            "operator": str(self.operator),
            "simulated": bool(getattr(st, "simulated", False)),
            # which crosspoint this run closed, and the switch, beside the station record
            "station": getattr(st, "config", {}) if getattr(self, "_routing", None) is None
            else {**getattr(st, "config", {}), "routing": self._routing},
            "instruments": dict(getattr(st, "identities", {})),
            "truth": self._simulated_truth(st),
            "spectrum_axis_nm": None,
            "procedure_version": self.PROCEDURE_VERSION,
        }
