"""Station files: a TOML file (or a mapping) validated into a station configuration.


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
    working_distance_mm = 350.0 # meter to sample: the run records the measured spot size
                                # and warns when the spot is larger than the pixel

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

    [thermometer]               # optional: device temperature (lifetime rows, run start/end)
    driver = "keithley2000"
    resource = "GPIB0::16::INSTR"
    transducer = "pt100"        # 4-wire Pt100, or "thermocouple" (thermocouple_type J|K|T)
    sensor = "Pt100 glued beside pixel 1"

    [ambient]                   # optional: room temperature and humidity
    driver = "hmt330"
    resource = "/dev/ttyUSB1"   # 4800 baud 7E1, the transmitter's factory setting
    # baud_rate = 4800, data_bits = 7, parity = "E": give them if the transmitter differs

    [[channel]]                 # lifetime channels, one per pixel
    smu = { driver = "keithley2400", resource = "GPIB0::25::INSTR" }
    photodiode = { driver = "keithley2400", resource = "GPIB0::26::INSTR", radius_mm = 5.0, distance_mm = 20.0 }

    [switch]                    # pixel switch: buses (rows) x pixels (columns)
    model = "keithley7001"      # or "relay_box" (docs/relay-box-protocol.md)
    resource = "GPIB0::7::INSTR"
    pixels = 8                  # pixels of the substrate
    buses = 1                   # bus 1 = [smu]; bus c = [[channel]] c (default 1)
    slot = 1                    # 7001: the slot of the 7012 matrix card
    bus_rows = [1]              # optional explicit map: matrix row of bus b
    pixel_columns = [1, 2, 3, 4, 5, 6, 7, 8]   # optional: matrix column of pixel k

Nothing here connects to anything: :mod:`instruments.station` opens what a validated
configuration names.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Iterable, Optional

from .transport import check_resource


ROLES = ("smu", "light_meter", "photodiode", "lcr", "thermometer", "ambient")
CHANNEL_ROLES = ("smu", "photodiode", "thermometer")
#: Roles a station may have and a procedure never requires: opened when configured.
OPTIONAL_ROLES = ("thermometer", "ambient")

#: Drivers each role accepts.
DRIVERS: dict[str, tuple[str, ...]] = {
    "smu": ("keithley2400", "keithley2450"),
    "light_meter": ("cs2000", "pr655"),
    "photodiode": ("keithley2400", "keithley2450", "keithley6485"),
    "lcr": ("e4980a", "hp4284a"),
    "thermometer": ("keithley2000",),
    "ambient": ("hmt330",),
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
    "smu": {"nplc": ("range", SMU_NPLC_RANGE),
            # safety limit on |V| the SMU may apply or allow as compliance (the pixels' own)
            "max_voltage_V": ("range", (0.1, 210.0))},
    "light_meter": {"spectrum": ("bool", None), "speed": ("choice", ("normal", "fast")),
                    "working_distance_mm": ("range", (1.0, 1e5))},
    "photodiode": {"radius_mm": ("range", (1e-3, 1e3)), "distance_mm": ("range", (0, 1e5)),
                   "responsivity": ("str", None), "polarity": ("choice", (-1, 1)),
                   "nplc": ("range", (0.01, 10)), "compliance_A": ("range", (1e-9, 1.05))},
    "lcr": {"option_001": ("bool", None), "bias_source": ("choice", ("internal", "smu")),
            "external_bias_compliance_A": ("range", (1e-9, 0.1))},
    "thermometer": {"transducer": ("choice", ("pt100", "thermocouple")),
                    "thermocouple_type": ("choice", ("J", "K", "T")),
                    "nplc": ("range", (0.01, 10)), "sensor": ("str", None)},
    # serial framing of the transmitter (factory setting 4800 baud, 7 data bits, even parity)
    "ambient": {"data_bits": ("choice", (7, 8)), "parity": ("choice", ("N", "E", "O"))},
}
_STATION_KEYS = {"name": ("str", None), "simulated": ("bool", None),
                 "time_scale": ("range", (1e-6, 1e9)), "truth_file": ("str", None),
                 # reconnect ride-out [s]: unattended logs (lifetime, PL) and sweeps
                 "ride_out_s": ("range", (0, 86400)), "sweep_ride_out_s": ("range", (0, 3600))}
_PHOTODIODE_REQUIRED = ("radius_mm", "distance_mm")
#: Switch models and the largest buses × pixels (matrix rows × columns) each wires.
SWITCH_LIMITS = {"keithley7001": (4, 10), "relay_box": (8, 16)}
_SWITCH_KEYS = {"model": ("choice", tuple(SWITCH_LIMITS)), "resource": ("str", None),
                "pixels": ("range", (1, 64)), "buses": ("range", (1, 8)),
                "slot": ("choice", (1, 2)), "bus_rows": ("list", None),
                "pixel_columns": ("list", None),
                **{k: v for k, v in _COMMON.items() if k not in ("driver", "resource")}}


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
    if role == "thermometer" and "thermocouple_type" in table \
            and table.get("transducer") != "thermocouple":
        errors.append(f"[{where}] thermocouple_type applies to transducer = 'thermocouple' only")
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
    allowed_tables = set(ROLES) | {"station", "channel", "switch"}
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
    if "switch" in data:
        switch = _check_switch(data["switch"], errors)
        if switch is not None:
            out["switch"] = switch
            if len(out["channel"]) > switch["buses"] and switch["buses"] >= 1:
                errors.append(f"[switch] buses = {switch['buses']} but the station has "
                              f"{len(out['channel'])} [[channel]] tables: allowed buses >= "
                              "the number of lifetime channels")
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


def _check_switch(table: Any, errors: list[str]) -> Optional[dict]:
    """The ``[switch]`` table: model, resource, pixels, buses (default 1), optional map."""
    if not isinstance(table, dict):
        errors.append("[switch] must be a table with model = …, resource = …, pixels = …")
        return None
    for key, value in table.items():
        if key not in _SWITCH_KEYS:
            errors.append(f"[switch] unknown key {key!r}: allowed {', '.join(sorted(_SWITCH_KEYS))}")
        elif _SWITCH_KEYS[key][0] != "list":
            problem = _check_value("switch", key, value, *_SWITCH_KEYS[key])
            if problem:
                errors.append(problem)
    for key in ("model", "resource", "pixels"):
        if key not in table:
            errors.append(f"[switch] {key} is missing (model: {', '.join(SWITCH_LIMITS)}; "
                          "resource: e.g. 'GPIB0::7::INSTR'; pixels: 1 … 64)")
    if isinstance(table.get("resource"), str):
        try:
            check_resource(table["resource"], parameter="[switch] resource")
        except ValueError as exc:
            errors.append(str(exc))
    def _int_in(key, lo, hi, default=None):
        v = table.get(key, default)
        return not isinstance(v, bool) and isinstance(v, int) and lo <= v <= hi
    if table.get("model") not in SWITCH_LIMITS or not _int_in("pixels", 1, 64) \
            or not _int_in("buses", 1, 8, 1):
        return None           # the map cannot be checked without these (already reported)
    out = dict(table)
    out.setdefault("buses", 1)
    out["pixels"], out["buses"] = int(out["pixels"]), int(out["buses"])
    max_rows, max_cols = SWITCH_LIMITS[out["model"]]
    for key, count, limit, what, name in (
            ("bus_rows", out["buses"], max_rows, "rows", "buses"),
            ("pixel_columns", out["pixels"], max_cols, "columns", "pixels")):
        if key not in table:
            if count > limit:
                errors.append(f"[switch] {name} = {count} is out of range for {out['model']}: "
                              f"allowed 1 … {limit}")
            out[key] = list(range(1, count + 1))
            continue
        values = table[key]
        if not isinstance(values, list) or len(values) != count or any(
                isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= limit
                for v in values) or len(set(values)) != len(values):
            errors.append(f"[switch] {key} = {values!r} is not allowed: {count} distinct "
                          f"integers 1 … {limit} ({out['model']} has {limit} {what})")
    if "slot" in table and out["model"] != "keithley7001":
        errors.append(f"[switch] slot applies to model 'keithley7001' only (not {out['model']!r})")
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
