"""Station configuration: a TOML file (or ``"sim"``) → connected role objects.

One table per role, validated before anything connects; every problem is reported on its own
line (unknown driver naming the known ones, bad resource string, missing role, option out of
range, unknown key)::

    [station]
    name = "lab 2, glovebox B"
    time_scale = 1.0            # only for a simulated bench served by `qled sim serve`
    # simulated = true and truth_file = "bench.truth.json": written by `qled sim serve`

    [smu]
    driver = "keithley2400"
    resource = "GPIB0::24::INSTR"
    timeout_ms = 5000
    nplc = 1.0                  # integration when the caller gives none (0.01 … 10); a
                                # procedure's own nplc parameter wins (J-V-L, SCLC, lifetime)

    [light_meter]
    driver = "cs2000"
    resource = "/dev/ttyUSB0"   # 115200 8N1 RTS/CTS by default
    speed = "fast"              # or "normal"; omitted: keep the instrument's stored mode

    [photodiode]
    driver = "keithley6485"
    resource = "GPIB0::14::INSTR"
    radius_mm = 5.0
    distance_mm = 20.0
    responsivity = "si_default" # or a CSV path: wavelength_nm,responsivity_A_W

    [lcr]
    driver = "e4980a"
    resource = "TCPIP::10.0.0.7::5025::SOCKET"
    option_001 = false
    bias_source = "internal"    # or "smu": DC bias from [smu] through a bias tee

    [[channel]]                 # lifetime channels, one per pixel
    smu = { driver = "keithley2400", resource = "GPIB0::25::INSTR" }
    photodiode = { driver = "keithley2400", resource = "GPIB0::26::INSTR", radius_mm = 5.0, distance_mm = 20.0 }

``open_station("sim")`` starts the simulated bench in-process and connects the same drivers to
it over its real transports (TCP sockets, pseudo-terminals).
"""

from __future__ import annotations

import logging
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from .resilience import EventCallback
from .transport import check_resource

log = logging.getLogger(__name__)

ROLES = ("smu", "light_meter", "photodiode", "lcr")
CHANNEL_ROLES = ("smu", "photodiode")

#: Drivers each role accepts.
DRIVERS: dict[str, tuple[str, ...]] = {
    "smu": ("keithley2400", "keithley2450"),
    "light_meter": ("cs2000", "pr655"),
    "photodiode": ("keithley2400", "keithley2450", "keithley6485"),
    "lcr": ("e4980a", "hp4284a"),
}

_BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)

# key → (kind, constraint); kinds: "str", "bool", "range" (lo, hi), "choice" (values).
_COMMON = {
    "driver": ("str", None), "resource": ("str", None),
    "timeout_ms": ("range", (1, 600_000)), "read_termination": ("str", None),
    "write_termination": ("str", None), "retries": ("range", (0, 20)),
    "backoff_s": ("range", (0, 10)), "baud_rate": ("choice", _BAUD_RATES),
    "rtscts": ("bool", None),
}
#: NPLC range of the source meters (Keithley 2400 and 2450: 0.01 … 10 power-line cycles).
SMU_NPLC_RANGE = (0.01, 10)

_ROLE_KEYS = {
    "smu": {"nplc": ("range", SMU_NPLC_RANGE)},
    "light_meter": {"spectrum": ("bool", None), "speed": ("choice", ("normal", "fast"))},
    "photodiode": {"radius_mm": ("range", (1e-3, 1e3)), "distance_mm": ("range", (0, 1e5)),
                   "responsivity": ("str", None), "polarity": ("choice", (-1, 1)),
                   "nplc": ("range", (0.01, 10)), "compliance_A": ("range", (1e-9, 1.05))},
    "lcr": {"option_001": ("bool", None), "bias_source": ("choice", ("internal", "smu")),
            "external_bias_compliance_A": ("range", (1e-9, 0.1))},
}
_STATION_KEYS = {"name": ("str", None), "simulated": ("bool", None),
                 "time_scale": ("range", (1e-6, 1e9)), "truth_file": ("str", None)}
_PHOTODIODE_REQUIRED = ("radius_mm", "distance_mm")


class StationConfigError(ValueError):
    """The station configuration is invalid; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str], source: str = "station"):
        self.errors = list(errors)
        super().__init__("\n".join(f"{source}: {e}" for e in self.errors))


def _check_value(where: str, key: str, value: Any, kind: str, constraint) -> Optional[str]:
    if kind == "str":
        if not isinstance(value, str):
            return f"[{where}] {key} = {value!r} must be a string"
    elif kind == "bool":
        if not isinstance(value, bool):
            return f"[{where}] {key} = {value!r} must be true or false"
    elif kind == "range":
        lo, hi = constraint
        # the range test first: math.isfinite(10**400) raises OverflowError
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not lo <= value <= hi or not math.isfinite(value):
            return f"[{where}] {key} = {value!r} is out of range: allowed {lo:g} … {hi:g}"
    elif kind == "choice":
        if value not in constraint or isinstance(value, bool):
            allowed = ", ".join(repr(c) for c in constraint)
            return f"[{where}] {key} = {value!r} is not allowed: use one of {allowed}"
    return None


def _check_table(role: str, where: str, table: Any, errors: list[str]) -> Optional[dict]:
    if not isinstance(table, dict):
        errors.append(f"[{where}] must be a table with driver = … and resource = …")
        return None
    known = {**_COMMON, **_ROLE_KEYS[role]}
    for key in table:
        if key not in known:
            errors.append(f"[{where}] unknown key {key!r}: allowed {', '.join(sorted(known))}")
    driver = table.get("driver")
    if driver is None:
        errors.append(f"[{where}] driver is missing: use one of {', '.join(DRIVERS[role])}")
    elif driver not in DRIVERS[role]:
        errors.append(f"[{where}] unknown driver {driver!r}: known drivers for {role} are "
                      f"{', '.join(DRIVERS[role])}")
    resource = table.get("resource")
    if resource is None:
        errors.append(f"[{where}] resource is missing (e.g. 'GPIB0::24::INSTR')")
    else:
        try:
            check_resource(resource, parameter=f"[{where}] resource")
        except ValueError as exc:
            errors.append(str(exc))
    for key, value in table.items():
        if key in known and key not in ("driver", "resource"):
            problem = _check_value(where, key, value, *known[key])
            if problem:
                errors.append(problem)
    if role == "light_meter" and "speed" in table and driver not in (None, "cs2000"):
        errors.append(f"[{where}] speed applies to driver 'cs2000' only (not {driver!r})")
    if role == "photodiode":
        for key in _PHOTODIODE_REQUIRED:
            if key not in table:
                errors.append(f"[{where}] {key} is missing: the photodiode geometry "
                              "(radius_mm, distance_mm) is required")
    return dict(table)


def validate_config(data: dict, *, roles: Iterable[str] = (), source: str = "station",
                    base_dir: Optional[Path] = None) -> dict:
    """Check a parsed station mapping; return it normalised or raise StationConfigError.

    ``roles`` are the roles the caller needs (``"channel"`` asks for at least one
    ``[[channel]]``); a missing one is an error.
    """
    errors: list[str] = []
    if not isinstance(data, dict):
        raise StationConfigError(["the station file must contain TOML tables"], source)
    out: dict[str, Any] = {}
    allowed_tables = set(ROLES) | {"station", "channel"}
    for key in data:
        if key not in allowed_tables:
            shown = key if str(key).isprintable() else repr(key)   # one line per problem
            errors.append(f"unknown table [{shown}]: allowed {', '.join(sorted(allowed_tables))}")
    station = data.get("station", {})
    if not isinstance(station, dict):
        errors.append("[station] must be a table")
        station = {}
    for key, value in station.items():
        if key not in _STATION_KEYS:
            errors.append(f"[station] unknown key {key!r}: allowed "
                          f"{', '.join(sorted(_STATION_KEYS))}")
            continue
        problem = _check_value("station", key, value, *_STATION_KEYS[key])
        if problem:
            errors.append(problem)
    if "truth_file" in station and station.get("simulated") is not True:
        errors.append("[station] truth_file applies to a simulated bench only "
                      "(simulated = true, as `qled sim serve --station-out` writes)")
    out["station"] = dict(station)
    for role in ROLES:
        if role in data:
            table = _check_table(role, role, data[role], errors)
            if table is not None:
                out[role] = table
    channels = data.get("channel", [])
    if not isinstance(channels, list):
        errors.append("[[channel]] must be an array of tables (write [[channel]], not [channel])")
        channels = []
    out["channel"] = []
    for n, channel in enumerate(channels, start=1):
        if not isinstance(channel, dict):
            errors.append(f"[[channel]] #{n} must be a table")
            continue
        entry = {}
        for key in channel:
            if key not in CHANNEL_ROLES:
                errors.append(f"[[channel]] #{n} unknown key {key!r}: allowed "
                              f"{', '.join(CHANNEL_ROLES)}")
        if "smu" not in channel:
            errors.append(f"[[channel]] #{n} smu is missing: each channel needs "
                          "smu = {{ driver = …, resource = … }}")
        for role in CHANNEL_ROLES:
            if role in channel:
                table = _check_table(role, f"channel.{n}.{role}", channel[role], errors)
                if table is not None:
                    entry[role] = table
        out["channel"].append(entry)
    lcr = out.get("lcr")
    if lcr and lcr.get("bias_source") == "smu" and "smu" not in data:
        errors.append("[lcr] bias_source = 'smu' needs an [smu] table (the SMU feeding the "
                      "bias tee)")
    for role in roles:
        if role in ("channel", "channels"):
            if not channels:
                errors.append("no [[channel]] tables: this procedure needs at least one "
                              "lifetime channel")
        elif role not in ROLES:
            errors.append(f"unknown role {role!r} requested: roles are {', '.join(ROLES)}, "
                          "channel")
        elif role not in data:
            errors.append(f"[{role}] is missing: this procedure needs a {role} "
                          f"(drivers: {', '.join(DRIVERS[role])})")
    # A photodiode responsivity file must exist before we connect anything.
    for where, table in _photodiode_tables(out):
        resp = table.get("responsivity", "si_default")
        if isinstance(resp, str) and resp != "si_default":
            path = Path(resp)
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            if not path.is_file():
                errors.append(f"[{where}] responsivity = {resp!r}: no such file "
                              "(give 'si_default' or a CSV of wavelength_nm,responsivity_A_W)")
    if errors:
        raise StationConfigError(errors, source)
    return out


def _photodiode_tables(config: dict):
    if "photodiode" in config:
        yield "photodiode", config["photodiode"]
    for n, channel in enumerate(config.get("channel", []), start=1):
        if "photodiode" in channel:
            yield f"channel.{n}.photodiode", channel["photodiode"]


def load_config(path, *, roles: Iterable[str] = ()) -> dict:
    """Read and validate a station TOML file (nothing is connected)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise StationConfigError([f"cannot read the station file: {exc.strerror}"],
                                 str(path)) from None
    except UnicodeDecodeError as exc:   # TOML is UTF-8 by definition
        raise StationConfigError([f"not UTF-8 text (byte {exc.start}): a TOML file is UTF-8"],
                                 str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StationConfigError([f"not valid TOML: {exc}"], str(path)) from None
    return validate_config(data, roles=roles, source=str(path), base_dir=path.parent)


# ----------------------------------------------------------------------------- connecting

def _adapter_options(table: dict) -> dict:
    keys = ("timeout_ms", "read_termination", "write_termination", "baud_rate", "rtscts")
    return {k: table[k] for k in keys if k in table}


def _link_options(table: dict, on_event) -> dict:
    return {"retries": int(table.get("retries", 3)), "backoff_s": float(table.get("backoff_s",
                                                                                   0.05)),
            "on_event": on_event}


def open_source_meter(table: dict, *, name: str = "smu", on_event=None):
    """Connect a SourceMeter from a validated table.

    ``nplc`` in the table becomes the meter's ``default_nplc``: the integration of every
    ``configure_*_source`` call that gives none (e.g. the LCR meter's bias through a tee).
    A caller's explicit ``nplc`` (a procedure's NPLC parameter) wins.
    """
    from .keithley import Keithley2400SourceMeter, Keithley2450SourceMeter

    cls = {"keithley2400": Keithley2400SourceMeter,
           "keithley2450": Keithley2450SourceMeter}[table["driver"]]
    smu = cls.open(table["resource"], name=name, **_link_options(table, on_event),
                   **_adapter_options(table))
    if "nplc" in table:
        smu.default_nplc = float(table["nplc"])
    return smu


def open_light_meter(table: dict, *, name: str = "light_meter", on_event=None):
    from .konica_minolta import CS2000LightMeter
    from .photo_research import PR655LightMeter

    if table["driver"] == "cs2000":
        return CS2000LightMeter.open(table["resource"], name=name,
                                     spectrum=table.get("spectrum", True),
                                     speed=table.get("speed"),
                                     **_link_options(table, on_event),
                                     **_adapter_options(table))
    return PR655LightMeter.open(table["resource"], name=name, **_link_options(table, on_event),
                                **_adapter_options(table))


def open_photodiode(table: dict, *, name: str = "photodiode", on_event=None, base_dir=None,
                    calibration=None):
    from .photodiode import PicoammeterPhotodiode, SMUPhotodiode, load_calibration

    if calibration is None:
        calibration = load_calibration(table.get("responsivity", "si_default"),
                                       radius_mm=table["radius_mm"],
                                       distance_mm=table["distance_mm"], base_dir=base_dir)
    polarity = int(table.get("polarity", 1))
    nplc = float(table.get("nplc", 1.0))
    if table["driver"] == "keithley6485":
        return PicoammeterPhotodiode.open(table["resource"], calibration, polarity=polarity,
                                          nplc=min(nplc, 6.0), name=name,
                                          **_link_options(table, on_event),
                                          **_adapter_options(table))
    smu = open_source_meter(table, name=name, on_event=on_event)
    try:
        return SMUPhotodiode(smu, calibration, polarity=polarity, nplc=nplc,
                             compliance_A=float(table.get("compliance_A", 1e-3)))
    except Exception:
        smu.close()
        raise


def open_lcr(table: dict, *, name: str = "lcr", on_event=None, bias_smu=None):
    from .hp import HP4284ALCRMeter
    from .keysight import KeysightE4980ALCRMeter

    cls = {"e4980a": KeysightE4980ALCRMeter, "hp4284a": HP4284ALCRMeter}[table["driver"]]
    bias_source = "external" if table.get("bias_source") == "smu" else "internal"
    meter = cls.open(table["resource"], option_001=bool(table.get("option_001", False)),
                     name=name, bias_source=bias_source,
                     bias_smu=bias_smu if bias_source == "external" else None,
                     **_link_options(table, on_event), **_adapter_options(table))
    if "external_bias_compliance_A" in table:
        meter.external_bias_compliance_A = float(table["external_bias_compliance_A"])
    return meter


@dataclass
class Channel:
    """One lifetime channel: its SMU and (optionally) its photodiode."""

    smu: Any
    photodiode: Any = None


@dataclass
class Station:
    """Connected role objects, the clock, identities and the JSON-able configuration.

    Close it (or use it as a context manager): outputs go off first, then connections close,
    then an in-process simulated bench stops.
    """

    smu: Any = None
    light_meter: Any = None
    photodiode: Any = None
    lcr: Any = None
    channels: list = field(default_factory=list)
    clock: Any = None
    identities: dict = field(default_factory=dict)
    simulated: bool = False
    config: dict = field(default_factory=dict)
    bench: Any = None
    truth_file: Optional[Path] = None
    _closed: bool = False

    def truth(self) -> Optional[dict]:
        """The simulated devices' true parameters now, as ``Bench.truth()`` returns them.

        In-process bench: asked directly. Bench served by ``qled sim serve``: read from the
        truth file it keeps up to date (``[station] truth_file``), waiting for a snapshot
        taken after this call (≤ 0.2 s), so the pixels' ageing state is as current as it
        is in-process. None when there is no truth to give (real hardware, or a simulated
        station file without a truth file). RuntimeError when the truth file cannot be read
        or its server has stopped refreshing it.
        """
        if self.bench is not None:
            return self.bench.truth()
        if self.truth_file is None:
            return None
        return read_served_truth(self.truth_file)

    def _sources(self):
        for obj in (self.smu, self.lcr):
            if obj is not None:
                yield obj
        for ch in self.channels:
            yield ch.smu

    def close(self) -> None:
        """Outputs off (all of them, errors logged), then close everything. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for source in self._sources():
            try:
                source.output_off()
            except Exception as exc:  # noqa: BLE001 - keep switching the others off
                log.error("station close: output off failed for %r: %s", source, exc)
        objects = [self.lcr, self.light_meter, self.photodiode, self.smu]
        for ch in self.channels:
            objects += [ch.photodiode, ch.smu]
        for obj in objects:
            if obj is None:
                continue
            try:
                obj.close()
            except Exception as exc:  # noqa: BLE001
                log.error("station close: %r: %s", obj, exc)
        if self.bench is not None:
            try:
                self.bench.__exit__(None, None, None)
            finally:
                self.bench = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return None


def read_served_truth(path, *, timeout_s: float = 5.0) -> dict:
    """The truth a served bench published at or after this call (see ``Station.truth``).

    The server (``qled sim serve``) re-takes the snapshot every 0.2 s, rewriting the file when
    it changed and otherwise only stamping its modification time with the snapshot's time;
    so a modification time at or after the call means a snapshot at least as new as the call.
    """
    import json
    import time

    from simulators.commands import TRUTH_FILE_FORMAT

    path = Path(path)
    asked_ns = time.time_ns()
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fresh = path.stat().st_mtime_ns >= asked_ns
        except OSError as exc:
            raise RuntimeError(f"truth file {path}: {exc.strerror or exc}") from None
        if fresh:
            break
        if time.monotonic() >= deadline:
            raise RuntimeError(f"truth file {path} was not refreshed for {timeout_s:g} s: "
                               "is the `qled sim serve` that wrote it still running?")
        time.sleep(0.02)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RuntimeError(f"truth file {path} cannot be read: {exc}") from None
    if not isinstance(record, dict) or record.get("format") != TRUTH_FILE_FORMAT \
            or not isinstance(record.get("truth"), dict):
        raise RuntimeError(f"truth file {path} is not a served bench's truth "
                           f"(format {TRUTH_FILE_FORMAT!r} expected)")
    return record["truth"]


def _sim_config(bench, roles: tuple, sim_options: dict) -> dict:
    """A station mapping pointing at the in-process bench's transports."""
    res = bench.resources
    photodiode_driver = "keithley6485" if sim_options.get("photodiode") == "6485" else \
        "keithley2400"
    config: dict[str, Any] = {"station": {"name": f"in-process simulated bench",
                                          "simulated": True,
                                          "time_scale": float(bench.clock.time_scale)}}
    if "smu" in res:
        config["smu"] = {"driver": "keithley2400", "resource": res["smu"]}
    if "spectroradiometer" in res:
        # Fast mode: a dark pixel costs ~17 simulated s per reading instead of ~4 min.
        config["light_meter"] = {"driver": "cs2000", "resource": res["spectroradiometer"],
                                 "speed": "fast"}
    if "photodiode" in res:
        cal = getattr(bench, "photodiode_calibration", None)
        config["photodiode"] = {"driver": photodiode_driver, "resource": res["photodiode"],
                                "radius_mm": float(getattr(cal, "radius_mm", 5.0)),
                                "distance_mm": float(getattr(cal, "distance_mm", 20.0))}
    if "lcr" in res:
        # lcr_bias_source = "smu": DC bias from the bench's 2400 through a bias tee.
        config["lcr"] = {"driver": "e4980a", "resource": res["lcr"],
                         "option_001": bool(sim_options.get("lcr_option_001", True)),
                         "bias_source": sim_options.get("lcr_bias_source", "internal")}
    channels = []
    for entry in getattr(bench, "channel_resources", []) or []:
        ch: dict[str, Any] = {"smu": {"driver": "keithley2400", "resource": entry["smu"]}}
        if "photodiode" in entry:
            ch["photodiode"] = {"driver": photodiode_driver, "resource": entry["photodiode"],
                                "radius_mm": config.get("photodiode", {}).get("radius_mm", 5.0),
                                "distance_mm": config.get("photodiode", {}).get("distance_mm",
                                                                                20.0)}
        channels.append(ch)
    config["channel"] = channels
    return config


def _sim_calibration(bench):
    """The bench's own photodiode calibration as a PhotodiodeCalibration (exact truth)."""
    from .photodiode import PhotodiodeCalibration

    cal = getattr(bench, "photodiode_calibration", None)
    if cal is None:
        return None
    if isinstance(cal, PhotodiodeCalibration):
        return cal
    get = cal.get if isinstance(cal, dict) else (lambda k, d=None: getattr(cal, k, d))
    return PhotodiodeCalibration(get("wavelength_nm"), get("responsivity_A_W"),
                                 float(get("radius_mm")), float(get("distance_mm")),
                                 source="simulated bench")


def open_station(spec, *, roles: Iterable[str] = ("smu", "light_meter"),
                 on_event: Optional[EventCallback] = None,
                 sim_options: Optional[dict] = None) -> Station:
    """Open a station: ``"sim"`` (in-process simulated bench) or a TOML path.

    Parameters
    ----------
    spec : str or Path
        ``"sim"`` or the path of a station TOML file (a bench served by
        ``qled sim serve --station-out FILE`` is such a file).
    roles : iterable of str
        Roles to connect (``"smu"``, ``"light_meter"``, ``"photodiode"``, ``"lcr"``,
        ``"channel"``); each must be configured. Others in the file stay unconnected.
    on_event : callable, optional
        ``on_event(level, message)`` receives reconnection attempts (see resilience).
    sim_options : dict, optional
        Keyword arguments for ``simulators.bench.Bench`` when ``spec == "sim"``, plus
        ``lcr_bias_source`` (``"internal"``, the default, or ``"smu"``: the LCR meter's DC
        bias from the SMU through a bias tee, which the bench then has).
    """
    roles = tuple(roles)
    bench = None
    base_dir = None
    sim_cal = None
    truth_file = None
    if str(spec) == "sim":
        from simulators.bench import Bench

        options = dict(sim_options or {})
        lcr_bias_source = options.pop("lcr_bias_source", "internal")
        # The simulated bench is wired as the station says: a bias tee when the SMU biases.
        options.setdefault("lcr_bias_tee", lcr_bias_source == "smu")
        bench = Bench(**options)
        bench.__enter__()
        try:
            config = validate_config(
                _sim_config(bench, roles, {**options, "lcr_bias_source": lcr_bias_source}),
                roles=roles, source="sim")
        except Exception:
            bench.__exit__(None, None, None)
            raise
        clock = bench.clock
        simulated = True
        sim_cal = _sim_calibration(bench)
    else:
        if sim_options:
            raise ValueError("sim_options is only allowed with spec = 'sim'")
        path = Path(spec)
        config = load_config(path, roles=roles)
        base_dir = path.parent
        from simulators.clock import ScaledClock

        clock = ScaledClock(float(config["station"].get("time_scale", 1.0)))
        simulated = bool(config["station"].get("simulated", False))
        if "truth_file" in config["station"]:
            truth_file = Path(config["station"]["truth_file"])
            truth_file = truth_file if truth_file.is_absolute() else base_dir / truth_file

    station = Station(clock=clock, simulated=simulated, bench=bench, truth_file=truth_file)
    try:
        if "smu" in roles:
            station.smu = open_source_meter(config["smu"], on_event=on_event)
        if "light_meter" in roles:
            station.light_meter = open_light_meter(config["light_meter"], on_event=on_event)
        if "photodiode" in roles:
            station.photodiode = open_photodiode(config["photodiode"], on_event=on_event,
                                                 base_dir=base_dir, calibration=sim_cal)
        if "lcr" in roles:
            bias_smu = station.smu
            if config["lcr"].get("bias_source") == "smu" and bias_smu is None:
                bias_smu = station.smu = open_source_meter(config["smu"], on_event=on_event)
            station.lcr = open_lcr(config["lcr"], on_event=on_event, bias_smu=bias_smu)
        if "channel" in roles or "channels" in roles:
            for n, ch in enumerate(config["channel"], start=1):
                smu = open_source_meter(ch["smu"], name=f"channel{n}.smu", on_event=on_event)
                channel = Channel(smu)
                station.channels.append(channel)
                if "photodiode" in ch:
                    channel.photodiode = open_photodiode(
                        ch["photodiode"], name=f"channel{n}.photodiode", on_event=on_event,
                        base_dir=base_dir, calibration=sim_cal)
    except BaseException:
        station.close()
        raise
    identities = {}
    for role in ROLES:
        obj = getattr(station, role)
        if obj is not None:
            identities[role] = obj.idn
    for n, ch in enumerate(station.channels, start=1):
        identities[f"channel{n}.smu"] = ch.smu.idn
        if ch.photodiode is not None:
            identities[f"channel{n}.photodiode"] = ch.photodiode.idn
    station.identities = identities
    record = {k: v for k, v in config.items()}
    record["connected_roles"] = list(roles)
    record["identities"] = identities
    if station.photodiode is not None:
        record["photodiode_calibration"] = station.photodiode.calibration.describe()
    if station.lcr is not None:
        record["lcr_level_convention"] = "rms"
    station.config = record
    return station
