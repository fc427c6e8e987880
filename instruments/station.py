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
it over its real transports (TCP sockets, pseudo-terminals). Any other station locks each
instrument's resource before connecting it, for as long as the station is open
(:mod:`instruments.resource_lock`): a second process is refused in one line naming the holder.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from .clock import WallClock
from .resilience import EventCallback, ReconnectPolicy
from .station_config import (CHANNEL_ROLES, OPTIONAL_ROLES, ROLES, StationConfigError,
                             load_config, validate_config)

__all__ = ["open_station", "Station", "Channel", "StationConfigError", "InstrumentUnreachable",
           "load_config",
           "validate_config", "ROLES", "CHANNEL_ROLES", "OPTIONAL_ROLES"]

log = logging.getLogger(__name__)


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
    from .keithley2400 import Keithley2400SourceMeter
    from .keithley2450 import Keithley2450SourceMeter

    cls = {"keithley2400": Keithley2400SourceMeter,
           "keithley2450": Keithley2450SourceMeter}[table["driver"]]
    smu = cls.open(table["resource"], name=name, **_link_options(table, on_event),
                   **_adapter_options(table))
    if "nplc" in table:
        smu.default_nplc = float(table["nplc"])
    if "max_voltage_V" in table:
        smu.max_voltage_V = float(table["max_voltage_V"])
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


def open_thermometer(table: dict, *, name: str = "thermometer", on_event=None):
    """Connect a Thermometer (device temperature) from a validated ``[thermometer]`` table."""
    from .keithley2000 import Keithley2000Thermometer

    return Keithley2000Thermometer.open(
        table["resource"], transducer=table.get("transducer", "pt100"),
        thermocouple_type=table.get("thermocouple_type", "K"),
        nplc=float(table.get("nplc", 1.0)), sensor=table.get("sensor", ""), name=name,
        **_link_options(table, on_event), **_adapter_options(table))


def open_ambient(table: dict, *, name: str = "ambient", on_event=None):
    """Connect an AmbientSensor (room T/RH) from a validated ``[ambient]`` table."""
    from .hmt330 import HMT330AmbientSensor

    options = {k: table[k] for k in ("timeout_ms", "baud_rate", "data_bits", "parity")
               if k in table}
    return HMT330AmbientSensor.open(table["resource"], name=name,
                                    **_link_options(table, on_event), **options)


class InstrumentUnreachable(ValueError):
    """An instrument of the station could not be reached at its address (one line naming the
    role and the address): nothing was sourced, the user fixes the cable, power or address."""


@contextmanager
def _reaching(role: str, table: dict):
    """Turn a failure to connect ``role`` into :class:`InstrumentUnreachable`; a validation
    error (``ValueError``) and a Ctrl-C pass through unchanged."""
    try:
        yield
    except (ValueError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - pyvisa-py raises bare Exceptions on refusal
        text = str(exc).strip()
        reason = getattr(exc, "strerror", None) or (text.splitlines()[0] if text
                                                     else type(exc).__name__)
        where = f"{table.get('resource', '?')} ({table.get('driver', '?')})"
        raise InstrumentUnreachable(f"{role} at {where} is unreachable: {reason}") from None


@dataclass
class Channel:
    """One lifetime channel: its SMU and (optionally) its photodiode."""

    smu: Any
    photodiode: Any = None
    thermometer: Any = None


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
    thermometer: Any = None
    ambient: Any = None
    channels: list = field(default_factory=list)
    #: The pixel switch (:class:`~instruments.roles.Switch`) of a ``[switch]`` table, or None.
    switch: Any = None
    clock: Any = None
    identities: dict = field(default_factory=dict)
    simulated: bool = False
    config: dict = field(default_factory=dict)
    bench: Any = None
    truth_file: Optional[Path] = None
    _closed: bool = False
    _resource_locks: dict = field(default_factory=dict)

    def hold_resource(self, table: dict, role: str, on_event=None) -> None:
        """Lock ``table``'s resource for this process until :meth:`close` (one process per
        instrument, :mod:`instruments.resource_lock`); a resource this station already
        holds (one instrument in two roles) is not locked twice."""
        from .resource_lock import hold_resource, normalise_resource

        resource = table.get("resource")
        if not resource or normalise_resource(resource) in self._resource_locks:
            return
        lock = hold_resource(resource, role)
        self._resource_locks[lock.resource] = lock
        if lock.stale and on_event is not None:
            on_event("info", lock.stale_note())

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
        from .simulated import read_served_truth

        return read_served_truth(self.truth_file)

    def links(self):
        """Every instrument link of the station (one :class:`ResilientLink` per connection)."""
        seen = set()
        objects = [self.smu, self.light_meter, self.photodiode, self.lcr, self.thermometer,
                   self.ambient]
        for ch in self.channels:
            objects += [ch.smu, ch.photodiode, ch.thermometer]
        for obj in objects:
            for holder in (obj, getattr(obj, "smu", None)):   # an SMU photodiode's own SMU
                link = getattr(holder, "_link", None)
                if link is not None and id(link) not in seen:
                    seen.add(id(link))
                    yield link

    def set_reconnect_policy(self, kind: str) -> ReconnectPolicy:
        """Give every link the reconnect policy of ``kind`` — ``"unattended"`` (lifetime, PL
        stability: ``[station] ride_out_s``, default 60 s) or ``"sweep"`` (J-V-L, SCLC, DLCP,
        C-V: ``[station] sweep_ride_out_s``, default 2 s) — timed on the station clock."""
        table = self.config.get("station", {}) if isinstance(self.config, dict) else {}
        if kind == "unattended":
            policy = ReconnectPolicy.unattended(float(table.get("ride_out_s", 60.0)))
        elif kind == "sweep":
            policy = ReconnectPolicy.sweep(float(table.get("sweep_ride_out_s", 2.0)))
        else:
            raise ValueError(f"reconnect policy = {kind!r} is not allowed: unattended | sweep")
        for link in self.links():
            link.set_policy(policy, clock=self.clock)
        return policy

    def _sources(self):
        for obj in (self.smu, self.lcr):
            if obj is not None:
                yield obj
        for ch in self.channels:
            yield ch.smu

    def bus_sources(self, bus: int) -> list:
        """The connected sources wired to switch bus ``bus``: bus 1 the SMU and the LCR
        meter (its DC bias) and lifetime channel 1's SMU, bus c channel c's SMU."""
        found = [self.smu, self.lcr] if bus == 1 else []
        if 1 <= bus <= len(self.channels):
            found.append(self.channels[bus - 1].smu)
        return [s for s in found if s is not None]

    def source_on(self, bus: int) -> Optional[str]:
        """Name of a source on ``bus`` whose output (or LCR DC bias) is on, else None; the
        switch's ``output_guard``."""
        for source in self.bus_sources(bus):
            if getattr(source, "output", False) or getattr(source, "bias_on", False):
                return str(getattr(source, "name", "source"))
        return None

    def close(self) -> None:
        """Outputs off (all of them, errors logged), then every relay open, then close
        everything. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for source in self._sources():
            try:
                source.output_off()
            except Exception as exc:  # noqa: BLE001 - keep switching the others off
                log.error("station close: output off failed for %r: %s", source, exc)
        if self.switch is not None:     # relays move only once the outputs are off
            try:
                self.switch.close()
            except Exception as exc:  # noqa: BLE001
                log.error("station close: switch: %s", exc)
        objects = [self.lcr, self.light_meter, self.photodiode, self.smu, self.thermometer,
                   self.ambient]
        for ch in self.channels:
            objects += [ch.photodiode, ch.smu, ch.thermometer]
        for obj in objects:
            if obj is None:
                continue
            try:
                obj.close()
            except Exception as exc:  # noqa: BLE001
                log.error("station close: %r: %s", obj, exc)
        try:
            if self.bench is not None:
                try:
                    self.bench.__exit__(None, None, None)
                finally:
                    self.bench = None
        finally:
            for lock in self._resource_locks.values():
                lock.release()
            self._resource_locks.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return None


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
        from .simulated import start_bench

        bench, config, sim_cal = start_bench(roles, sim_options)
        clock = bench.clock
        simulated = True
    else:
        if sim_options:
            raise ValueError("sim_options is only allowed with spec = 'sim'")
        path = Path(spec)
        config = load_config(path, roles=roles)
        base_dir = path.parent
        simulated = bool(config["station"].get("simulated", False))
        time_scale = float(config["station"].get("time_scale", 1.0))
        if simulated or time_scale != 1.0:     # a bench served by `qled sim serve`
            from .simulated import station_clock

            clock = station_clock(time_scale)
        else:
            clock = WallClock()
        if "truth_file" in config["station"]:
            truth_file = Path(config["station"]["truth_file"])
            truth_file = truth_file if truth_file.is_absolute() else base_dir / truth_file

    station = Station(clock=clock, simulated=simulated, bench=bench, truth_file=truth_file)
    # Every instrument this process drives is locked first; an in-process bench's loopback
    # ports and terminals are private to this process and need none.
    hold = (lambda table, role: None) if bench is not None else \
        (lambda table, role: station.hold_resource(table, role, on_event))
    try:
        if "smu" in roles:
            hold(config["smu"], "smu")
            with _reaching("smu", config["smu"]):
                station.smu = open_source_meter(config["smu"], on_event=on_event)
        if "light_meter" in roles:
            hold(config["light_meter"], "light_meter")
            with _reaching("light_meter", config["light_meter"]):
                station.light_meter = open_light_meter(config["light_meter"], on_event=on_event)
        if "photodiode" in roles:
            hold(config["photodiode"], "photodiode")
            with _reaching("photodiode", config["photodiode"]):
                station.photodiode = open_photodiode(config["photodiode"], on_event=on_event,
                                                     base_dir=base_dir, calibration=sim_cal)
        if "lcr" in roles:
            bias_smu = station.smu
            if config["lcr"].get("bias_source") == "smu" and bias_smu is None:
                hold(config["smu"], "smu")
                with _reaching("smu", config["smu"]):
                    bias_smu = station.smu = open_source_meter(config["smu"], on_event=on_event)
            hold(config["lcr"], "lcr")
            with _reaching("lcr", config["lcr"]):
                station.lcr = open_lcr(config["lcr"], on_event=on_event, bias_smu=bias_smu)
        if "channel" in roles or "channels" in roles:
            for n, ch in enumerate(config["channel"], start=1):
                hold(ch["smu"], f"channel{n}.smu")
                with _reaching(f"channel {n} smu", ch["smu"]):
                    smu = open_source_meter(ch["smu"], name=f"channel{n}.smu",
                                            on_event=on_event)
                channel = Channel(smu)
                station.channels.append(channel)
                if "photodiode" in ch:
                    hold(ch["photodiode"], f"channel{n}.photodiode")
                    with _reaching(f"channel {n} photodiode", ch["photodiode"]):
                        channel.photodiode = open_photodiode(
                            ch["photodiode"], name=f"channel{n}.photodiode",
                            on_event=on_event, base_dir=base_dir, calibration=sim_cal)
                if "thermometer" in ch:
                    hold(ch["thermometer"], f"channel{n}.thermometer")
                    with _reaching(f"channel {n} thermometer", ch["thermometer"]):
                        channel.thermometer = open_thermometer(
                            ch["thermometer"], name=f"channel{n}.thermometer", on_event=on_event)
        # The environment roles are optional: opened whenever the station has them.
        for role, opener in (("thermometer", open_thermometer), ("ambient", open_ambient)):
            if role in config and getattr(station, role) is None:
                shared = [c.thermometer for c, t in zip(station.channels, config["channel"])
                          if c.thermometer is not None and role == "thermometer"
                          and t["thermometer"]["resource"] == config[role]["resource"]]
                if shared:          # one DMM as station and channel thermometer
                    station.thermometer = shared[0]
                    continue
                hold(config[role], role)
                with _reaching(role, config[role]):
                    setattr(station, role, opener(config[role], on_event=on_event))
        if "switch" in config:
            hold(config["switch"], "switch")
            with _reaching("switch", {**config["switch"], "driver": config["switch"]["model"]}):
                from .switch import open_switch

                station.switch = open_switch(config["switch"], on_event=on_event)
            station.switch.output_guard = station.source_on
            station.switch.open_all()      # a known state before anything is sourced
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
        if ch.thermometer is not None:
            identities[f"channel{n}.thermometer"] = ch.thermometer.idn
    if station.switch is not None:
        identities["switch"] = station.switch.idn
    station.identities = identities
    record = {k: v for k, v in config.items()}
    record["connected_roles"] = list(roles)
    record["identities"] = identities
    if station.photodiode is not None:
        record["photodiode_calibration"] = station.photodiode.calibration.describe()
    if station.lcr is not None:
        record["lcr_level_convention"] = "rms"
    if station.switch is not None:
        record["switch_identity"] = station.switch.describe()
    station.config = record
    return station
