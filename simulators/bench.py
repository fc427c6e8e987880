"""The simulated bench: pixels (:mod:`simulators.pixel`) and the instruments that share them.

:class:`Bench` serves the instruments on real transports (loopback TCP for SCPI,
pseudo-terminals for the serial spectroradiometers) and tears them down cleanly.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Sequence

import numpy as np

from .clock import ScaledClock
from .faults import FaultPlan

from .thermal import Ambient, AmbientParameters, PixelThermal, ThermalParameters
from .pixel import (AGEING_LAG_TOLERANCE, SHORT_RESISTANCE_OHM, OpenCircuit, OperatingPoint,
                    PhotodiodeLoad, Pixel, si_photodiode_responsivity_A_W)
from .switch_matrix import CrosspointMatrix

__all__ = ["Pixel", "PhotodiodeLoad", "Bench", "OperatingPoint", "AGEING_LAG_TOLERANCE",
           "si_photodiode_responsivity_A_W", "SHORT_RESISTANCE_OHM", "make_device",
           "substrate_pixel"]

def _device_module():
    from . import device  # imported late: device physics is another module's concern
    return device


def _make_noise(enabled: bool, seed: int):
    """A seeded NoiseModel (or its zero preset) from simulators.device."""
    NoiseModel = getattr(_device_module(), "NoiseModel", None)
    if NoiseModel is None:  # device module without a noise model yet: noiseless readings
        return None
    if not enabled:
        return NoiseModel.zero()
    import inspect
    params = inspect.signature(NoiseModel).parameters
    if "seed" in params:
        return NoiseModel(seed=seed)
    if "rng" in params:
        return NoiseModel(rng=np.random.default_rng(seed))
    return NoiseModel()


def make_device(preset: str = "passivated", seed: int = 0):
    """An LEDDevice from a parameter preset name (``passivated``, ``pristine``, ``uniform_junction``)."""
    dev = _device_module()
    presets = ("passivated", "pristine", "uniform_junction")
    if preset not in presets:
        raise ValueError(f"device = {preset!r} is not allowed: use one of {', '.join(presets)}")
    params = getattr(dev.LEDParameters, preset)()
    return dev.LEDDevice(params, rng=np.random.default_rng(seed))


def substrate_pixel(preset: str, pixel: int):
    """Pixel ``pixel`` (1-based) of a simulated substrate: the preset drawn from the batch
    spread with seed ``pixel`` — the device ``instruments.simulated.pixel_device_spec(preset,
    pixel)`` describes, so a served switched bench holds the same pixels as an in-process one."""
    dev = _device_module()
    make_device(preset)                              # checks the preset name
    params = getattr(dev.LEDParameters, preset)().sampled(np.random.default_rng(int(pixel)))
    return dev.LEDDevice(params)


class _Channel:
    """One lifetime channel: a pixel, its SMU and its photodiode reader."""

    def __init__(self, number: int):
        self.number = number
        self.servers: dict[str, Any] = {}
        self.instruments: dict[str, Any] = {}


class Bench:
    """A simulated LED bench serving real transports.

    Parameters
    ----------
    devices : sequence of LEDDevice / SingleCarrierDevice, or None
        One device per pixel (default: one ``passivated`` LED per channel).
    channels : int
        Lifetime channels (≥ 1); channel *c* drives pixel *c − 1* with its own SMU
        and photodiode. Channel 1 also has the 2450, the LCR meters and the
        spectroradiometers, which follow :meth:`select_pixel`.
    seed : int
        Seed of the noise models (instrument *k* gets ``seed + k``).
    noise : bool
        False: zero-noise instruments (readings equal the truth).
    time_scale : float
        Simulated seconds per wall second of :attr:`clock`.
    faults : FaultPlan, dict, list or None
        Faults (see :mod:`simulators.faults`).
    photodiode : ``"smu"`` or ``"6485"``
        Whether the photodiode is read by a second 2400 or by a 6485.
    lcr_option_001 : bool
        Whether the E4980A (and the 4284A) carry option 001.
    lcr_bias_tee : bool
        Wire the LCR meters to the pixel through a bias tee fed by the channel's SMU: they
        then measure at the SMU's DC voltage plus their own bias (:mod:`simulators.e4980a`).
        False: they see their own bias only.
    photodiode_radius_mm, photodiode_distance_mm : float
        Detector geometry (sin²α = r²/(d²+r²)).
    serial_meters : bool
        Serve the CS-2000 and PR-655 on pseudo-terminals, published as stable symlinks in a
        per-bench temporary folder (removed on close).
    serial_restart_s : float or None
        After a ``drop`` fault hangs a serial meter up, serve it again on a fresh pty this
        many wall-clock seconds later, behind the same path (a re-plugged USB cable), so a
        driver's reconnect succeeds. None: the meter stays unplugged.
    smu_model : ``"2400"`` or ``"2450"``
        The SMU of every channel (role ``smu``): a Keithley 2400, or a 2450 in its state
        after ``*RST`` (front terminals). Channel 1 serves a 2450 as ``smu2450`` either way.
    smu2450_language : ``"SCPI"``, ``"TSP"`` or ``"SCPI2400"``
        The command set the 2450s are left in (``*LANG``; as shipped: SCPI).
    switch : ``"keithley7001"``, ``"relay_box"`` or None
        A pixel switch (role ``switch``): a 7001 with a 7012 matrix card on loopback TCP, or
        the relay box (:mod:`simulators.relay_box`) on a pty. Its relays are a
        :class:`~simulators.switch_matrix.CrosspointMatrix` of ``channels`` buses ×
        ``pixels`` pixels; channel *c*'s instruments (channel 1: also the 2450, the LCR
        meters, the light meters) see the pixel wired to bus *c*, an open circuit when none
        is. None: channel *c* drives pixel *c − 1* as without a switch.
    pixels : int or None
        Pixels of the switched substrate (default: the number of devices, at least 4).
    environment : bool
        Serve the environment instruments (:mod:`simulators.thermal`): a Keithley 2000 per
        channel reading its pixel's temperature (role ``thermometer``, TCP; channel 1's follows
        :meth:`select_pixel`) and one HMT330 T/RH transmitter for the room (role ``ambient``,
        a pty). The pixels heat with the power they dissipate either way.
    ambient, thermal : AmbientParameters / ThermalParameters, dict or None
        The room's drift and step, and every pixel's R_th and τ (defaults: see
        :mod:`simulators.thermal`).
    photodiode_dark_current_A, photodiode_dark_drift_A_per_h : float
        Dark current of every channel's photodiode at bench time 0 [A] and its linear
        drift [A/h] (:class:`~simulators.pixel.PhotodiodeLoad`; in :meth:`truth`).
    """

    def __init__(self, devices: Sequence[Any] | None = None, *, channels: int = 1, seed: int = 0,
                 noise: bool = True, time_scale: float = 1.0, faults: Any = None,
                 photodiode: str = "smu", lcr_option_001: bool = True, lcr_bias_tee: bool = False,
                 photodiode_radius_mm: float = 5.0, photodiode_distance_mm: float = 20.0,
                 device_preset: str = "passivated", serial_meters: bool = True,
                 serial_restart_s: float | None = 0.1, smu_model: str = "2400",
                 smu2450_language: str = "SCPI", switch: str | None = None,
                 pixels: int | None = None, environment: bool = True,
                 ambient: Any = None, thermal: Any = None,
                 photodiode_dark_current_A: float = 20e-12,
                 photodiode_dark_drift_A_per_h: float = 2e-12):
        if int(channels) != channels or channels < 1:
            raise ValueError(f"channels = {channels!r} is out of range: allowed integer >= 1")
        if photodiode not in ("smu", "6485"):
            raise ValueError(f"photodiode = {photodiode!r} is not allowed: use 'smu' or '6485'")
        if smu_model not in ("2400", "2450"):
            raise ValueError(f"smu_model = {smu_model!r} is not allowed: use '2400' or '2450'")
        if smu2450_language not in ("SCPI", "TSP", "SCPI2400"):
            raise ValueError(f"smu2450_language = {smu2450_language!r} is not allowed: use "
                             "'SCPI', 'TSP' or 'SCPI2400'")
        self.smu_model = smu_model
        self.smu2450_language = smu2450_language
        self.channels = int(channels)
        self.seed = int(seed)
        self.noise = bool(noise)
        self.photodiode = photodiode
        self.lcr_option_001 = bool(lcr_option_001)
        self.lcr_bias_tee = bool(lcr_bias_tee)
        self.device_preset = device_preset
        self.serial_meters = serial_meters
        if serial_restart_s is not None and not 0 <= serial_restart_s <= 60:
            raise ValueError(f"serial_restart_s = {serial_restart_s!r} is out of range: "
                             "allowed 0 … 60 s or None")
        self.serial_restart_s = serial_restart_s
        if switch not in (None, "keithley7001", "relay_box"):
            raise ValueError(f"switch = {switch!r} is not allowed: use 'keithley7001', "
                             "'relay_box' or None")
        self.switch = switch
        self._link_dir: str | None = None
        self.clock = ScaledClock(time_scale)
        self.faults = FaultPlan.from_obj(faults)
        n_devices = self.channels
        if switch is not None:
            n_devices = int(pixels) if pixels is not None else \
                max(4, len(devices) if devices is not None else 0)
        if devices is None and switch is not None:    # a substrate: pixel k seeded by k
            devices = [substrate_pixel(device_preset, k) for k in range(1, n_devices + 1)]
        if devices is None:
            devices = [make_device(device_preset, seed + k) for k in range(n_devices)]
        devices = list(devices)
        if switch is not None and len(devices) != n_devices:
            raise ValueError(f"devices: {len(devices)} given for a switched substrate of "
                             f"{n_devices} pixels: allowed one device per pixel")
        if len(devices) < self.channels:
            raise ValueError(f"devices: {len(devices)} given for {self.channels} channels: "
                             f"allowed one device per channel or more")
        self.pixels = [Pixel(d, self.clock, self.faults.for_pixel(k), index=k)
                       for k, d in enumerate(devices)]
        self._selected = 0
        self.matrix = None if switch is None else CrosspointMatrix(
            self.channels, len(self.pixels), self.clock, output_on=self._bus_output_on)
        self._open_circuit = OpenCircuit(self.clock)
        self.environment = bool(environment)
        self.ambient = Ambient(self.clock, ambient if isinstance(ambient, AmbientParameters)
                               else AmbientParameters(**(ambient or {})))
        tparams = thermal if isinstance(thermal, ThermalParameters) else \
            ThermalParameters(**(thermal or {}))
        self.thermals = [PixelThermal(self.clock, self.ambient, tparams) for _ in self.pixels]
        self._idle_thermal = PixelThermal(self.clock, self.ambient, tparams)
        self._geometry = (photodiode_radius_mm, photodiode_distance_mm)
        self._dark = {"dark_current_A": photodiode_dark_current_A,
                      "dark_drift_A_per_h": photodiode_dark_drift_A_per_h}
        PhotodiodeLoad(lambda: None, *self._geometry, **self._dark)   # validates them now
        self._servers: list[Any] = []
        self._channels: list[_Channel] = []
        self._noise_count = 0
        self._started = False

    # -- pixels -------------------------------------------------------------------------
    def select_pixel(self, index: int) -> Pixel:
        """Route channel 1's instruments to pixel ``index`` (0-based)."""
        if not 0 <= index < len(self.pixels):
            raise ValueError(f"index = {index!r} is out of range: allowed 0 … {len(self.pixels) - 1}")
        self._selected = index
        return self.pixels[index]

    @property
    def selected_pixel(self) -> Pixel:
        return self.pixels[self._selected]

    def _pixel_for(self, channel: int):
        if self.matrix is not None:
            return lambda: self._switched(channel)
        if channel == 1:
            return lambda: self.pixels[self._selected]
        return lambda: self.pixels[channel - 1]

    def _switched(self, bus: int):
        """The pixel the switch wires to ``bus``; an open circuit when no relay is closed."""
        k = self.matrix.pixel_on(bus)
        return self._open_circuit if k is None else self.pixels[k - 1]

    def _bus_output_on(self, bus: int) -> bool:
        """Whether any source wired to ``bus`` drives it now (SMU outputs, LCR DC bias)."""
        if not 1 <= bus <= len(self._channels):
            return False
        insts = self._channels[bus - 1].instruments
        return any(bool(getattr(insts.get(role), attr, False))
                   for role, attr in (("smu", "output"), ("smu2450", "output"),
                                      ("lcr", "bias_on"), ("lcr4284", "bias_on")))

    @property
    def relay_log(self) -> list:
        """Every relay change of the switch (:class:`~simulators.switch_matrix.RelayChange`)."""
        return [] if self.matrix is None else list(self.matrix.log)

    def _noise(self):
        self._noise_count += 1
        return _make_noise(self.noise, self.seed + 1000 * self._noise_count)

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> "Bench":
        from .e4980a import KeysightE4980A
        from .hp4284a import Agilent4284A
        from .keithley2400 import Keithley2400
        from .keithley2450 import Keithley2450
        from .keithley6485 import Keithley6485
        from .transports import TcpServer
        if self._started:
            return self
        self._started = True
        try:
            for c in range(1, self.channels + 1):
                ch = _Channel(c)
                pixel = _RoutedPixel(self._pixel_for(c), self._heat)
                pd_load = PhotodiodeLoad(self._pixel_for(c), *self._geometry, **self._dark,
                                         clock=self.clock)
                ch.photodiode_load = pd_load
                if self.smu_model == "2450":
                    smu = Keithley2450(pixel, self.clock, self.faults.for_instrument("smu", c),
                                       self._noise(), language=self.smu2450_language)
                else:
                    smu = Keithley2400(pixel, self.clock, self.faults.for_instrument("smu", c),
                                       self._noise())
                insts = {"smu": smu}
                if self.photodiode == "6485":
                    insts["photodiode"] = Keithley6485(pd_load, self.clock,
                                                       self.faults.for_instrument("photodiode", c), self._noise())
                else:
                    insts["photodiode"] = Keithley2400(pd_load, self.clock,
                                                       self.faults.for_instrument("photodiode", c), self._noise())
                if c == 1:
                    insts["smu2450"] = Keithley2450(pixel, self.clock, self.faults.for_instrument("smu2450", c),
                                                    self._noise(), language=self.smu2450_language)
                    insts["lcr"] = KeysightE4980A(pixel, self.clock, self.faults.for_instrument("lcr", c),
                                                  self._noise(), option_001=self.lcr_option_001,
                                                  bias_tee=self.lcr_bias_tee)
                    insts["lcr4284"] = Agilent4284A(pixel, self.clock, self.faults.for_instrument("lcr4284", c),
                                                    self._noise(), option_001=self.lcr_option_001,
                                                    bias_tee=self.lcr_bias_tee)
                if self.environment:
                    insts["thermometer"] = self._thermometer(c)
                for role, inst in insts.items():
                    server = TcpServer(inst, name=f"ch{c}-{role}").start()
                    self._servers.append(server)
                    ch.servers[role] = server
                    ch.instruments[role] = inst
                if c == 1 and self.serial_meters:
                    self._start_serial(ch, pixel)
                if c == 1 and self.environment:
                    self._start_ambient(ch)
                self._channels.append(ch)
            if self.switch is not None:
                self._start_switch(self._channels[0])
        except BaseException:
            self.close()
            raise
        return self

    def _start_serial(self, ch: _Channel, pixel) -> None:
        try:
            from .cs2000 import CS2000Simulator
            from .pr655 import PR655Simulator
            from .serial_pty import PtyServer
        except ImportError:  # serial meters not available in this checkout
            return
        if self._link_dir is None:
            self._link_dir = tempfile.mkdtemp(prefix="qled-bench-")
        for role, cls in (("spectroradiometer", CS2000Simulator), ("pr655", PR655Simulator)):
            handler = cls(pixel, self.clock, self.faults.for_instrument(role, ch.number), self._noise())
            server = PtyServer(handler, name=role, link=os.path.join(self._link_dir, role),
                               restart_after_s=self.serial_restart_s)
            server.start()
            self._servers.append(server)
            ch.servers[role] = server
            ch.instruments[role] = handler

    def _start_switch(self, ch: _Channel) -> None:
        """Serve the switch as channel 1's role ``switch`` (TCP for the 7001, a pty for the box)."""
        faults = self.faults.for_instrument("switch", 1)
        if self.switch == "keithley7001":
            from .keithley7001 import Keithley7001
            from .transports import TcpServer
            inst = Keithley7001(self.matrix, self.clock, faults)
            server = TcpServer(inst, name="switch").start()
        else:
            from .relay_box import RelayBox
            from .serial_pty import PtyServer
            if self._link_dir is None:
                self._link_dir = tempfile.mkdtemp(prefix="qled-bench-")
            inst = RelayBox(self.matrix, self.clock, faults)
            server = PtyServer(inst, name="switch", link=os.path.join(self._link_dir, "switch"),
                               restart_after_s=self.serial_restart_s).start()
        self._servers.append(server)
        ch.servers["switch"] = server
        ch.instruments["switch"] = inst
    # -- environment (simulators.thermal) -------------------------------------------------
    def _heat(self, pixel, point) -> None:
        """A new operating point of ``pixel``: its dissipated power I·V from now on."""
        if pixel.index >= 0:        # an open circuit (no relay closed) heats nothing
            self.thermals[pixel.index].set_power(point.voltage_V * point.current_A)

    def _thermal_of(self, pixel):
        """The thermal model a channel's thermometer reads: its pixel's; with no relay closed
        on a switched bench, an undriven pixel's (the substrate at room temperature)."""
        return self.thermals[pixel.index] if pixel.index >= 0 else self._idle_thermal

    def _thermometer(self, channel: int):
        from .keithley2000 import Keithley2000

        get = self._pixel_for(channel)
        return Keithley2000(lambda: self._thermal_of(get()), self.clock,
                            self.faults.for_instrument("thermometer", channel),
                            noise_K=0.01 if self.noise else 0.0,
                            seed=self.seed + 7919 * channel)

    def _start_ambient(self, ch: _Channel) -> None:
        from .hmt330 import HMT330Simulator
        from .serial_pty import PtyServer

        if self._link_dir is None:
            self._link_dir = tempfile.mkdtemp(prefix="qled-bench-")
        handler = HMT330Simulator(self.ambient, self.clock,
                                  self.faults.for_instrument("ambient", ch.number),
                                  noise_K=0.02 if self.noise else 0.0,
                                  noise_rh_percent=0.1 if self.noise else 0.0, seed=self.seed + 31)
        server = PtyServer(handler, name="ambient", link=os.path.join(self._link_dir, "ambient"),
                           restart_after_s=self.serial_restart_s)
        server.start()
        self._servers.append(server)
        ch.servers["ambient"] = server
        ch.instruments["ambient"] = handler

    def device_temperature_C(self, index: int, t_s: float | None = None) -> float:
        """True temperature of pixel ``index`` (0-based) at bench time ``t_s`` [°C] (now)."""
        return self.thermals[index].temperature_C(t_s)

    def environment_truth(self) -> dict[str, Any]:
        """Thermal parameters of every pixel (and the power it dissipates) and the room's
        drift; the true temperatures at any time: :meth:`device_temperature_C` and
        ``bench.ambient`` (not here: the truth changes only when the drive does)."""
        return {"ambient": self.ambient.truth(),
                "pixels": [dict(th.truth(), index=k, power_W=th.power_W())
                           for k, th in enumerate(self.thermals)]}

    def close(self) -> None:
        """Stop every server (idempotent); no threads, sockets or ptys are left."""
        for ch in self._channels:            # first stop instruments' own work (2450 sweeps)
            for inst in ch.instruments.values():
                stop = getattr(inst, "close", None)
                if stop is not None:
                    stop()
        while self._servers:
            self._servers.pop().close()
        if self._link_dir is not None:
            shutil.rmtree(self._link_dir, ignore_errors=True)
            self._link_dir = None
        self._channels = []
        self._started = False

    def __enter__(self) -> "Bench":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- what clients need -------------------------------------------------------------------
    @staticmethod
    def _address(server) -> str:
        return server.resource if hasattr(server, "resource") else server.path

    @property
    def channel_resources(self) -> list[dict[str, str]]:
        """Per channel: role → VISA resource string or pty path."""
        return [{role: self._address(s) for role, s in ch.servers.items()} for ch in self._channels]

    @property
    def resources(self) -> dict[str, str]:
        """Channel 1: role → VISA resource string or pty path."""
        return self.channel_resources[0] if self._channels else {}

    def instrument(self, role: str, channel: int = 1):
        """The simulator object behind a role (for tests and fault inspection)."""
        return self._channels[channel - 1].instruments[role]

    @property
    def photodiode_calibration(self) -> dict[str, Any]:
        """Geometry and responsivity table R(λ) [A/W] of the photodiode (same on every channel)."""
        r, d = self._geometry
        return PhotodiodeLoad(lambda: None, r, d, **self._dark).calibration()

    def config(self) -> dict[str, Any]:
        return {"channels": self.channels, "seed": self.seed, "noise": self.noise,
                "time_scale": self.clock.time_scale, "photodiode": self.photodiode,
                "lcr_option_001": self.lcr_option_001, "lcr_bias_tee": self.lcr_bias_tee,
                "device_preset": self.device_preset, "smu_model": self.smu_model,
                "smu2450_language": self.smu2450_language,
                "serial_restart_s": self.serial_restart_s,
                "photodiode_dark_current_A": self._dark["dark_current_A"],
                "photodiode_dark_drift_A_per_h": self._dark["dark_drift_A_per_h"],
                "selected_pixel": self._selected, "faults": self.faults.to_obj()["faults"],
                **({} if self.matrix is None else {
                    "switch": self.switch, "pixels": len(self.pixels),
                    "closed_crosspoints": [list(p) for p in self.matrix.closed()]})}

    def truth(self) -> dict[str, Any]:
        """JSON-able true parameters: every pixel's device truth, photodiode, bench config."""
        return {"pixels": [{"index": p.index, "kind": type(p.device).__name__,
                            "device": p.device.truth()} for p in self.pixels],
                "photodiode": self.photodiode_calibration,
                "environment": self.environment_truth(),
                "bench": self.config()}


class _RoutedPixel:
    """Forwards to whichever pixel a channel currently drives (``select_pixel``)."""

    def __init__(self, getter, on_apply=None):
        self._get = getter
        self._on_apply = on_apply

    def __getattr__(self, name):
        return getattr(self._get(), name)

    def apply(self, *args):
        pixel = self._get()
        point = pixel.apply(*args)
        if self._on_apply is not None:   # the pixel heats with what it dissipates
            self._on_apply(pixel, point)
        return point

    def spectral_radiance_W_sr_m2_nm(self, wavelength_nm):
        return self._get().spectral_radiance_W_sr_m2_nm(wavelength_nm)

    def capacitance(self, *args):
        return self._get().capacitance(*args)

    def dc_bias_V(self):
        return self._get().dc_bias_V()
