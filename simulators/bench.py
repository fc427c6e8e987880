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

from .pixel import (AGEING_LAG_TOLERANCE, SHORT_RESISTANCE_OHM, OperatingPoint,
                    PhotodiodeLoad, Pixel, si_photodiode_responsivity_A_W)

__all__ = ["Pixel", "PhotodiodeLoad", "Bench", "OperatingPoint", "AGEING_LAG_TOLERANCE",
           "si_photodiode_responsivity_A_W", "SHORT_RESISTANCE_OHM", "make_device"]

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
                 smu2450_language: str = "SCPI", photodiode_dark_current_A: float = 20e-12,
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
        self._link_dir: str | None = None
        self.clock = ScaledClock(time_scale)
        self.faults = FaultPlan.from_obj(faults)
        if devices is None:
            devices = [make_device(device_preset, seed + k) for k in range(self.channels)]
        devices = list(devices)
        if len(devices) < self.channels:
            raise ValueError(f"devices: {len(devices)} given for {self.channels} channels: "
                             f"allowed one device per channel or more")
        self.pixels = [Pixel(d, self.clock, self.faults.for_pixel(k), index=k)
                       for k, d in enumerate(devices)]
        self._selected = 0
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
        if channel == 1:
            return lambda: self.pixels[self._selected]
        return lambda: self.pixels[channel - 1]

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
                pixel = _RoutedPixel(self._pixel_for(c))
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
                for role, inst in insts.items():
                    server = TcpServer(inst, name=f"ch{c}-{role}").start()
                    self._servers.append(server)
                    ch.servers[role] = server
                    ch.instruments[role] = inst
                if c == 1 and self.serial_meters:
                    self._start_serial(ch, pixel)
                self._channels.append(ch)
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
                "selected_pixel": self._selected, "faults": self.faults.to_obj()["faults"]}

    def truth(self) -> dict[str, Any]:
        """JSON-able true parameters: every pixel's device truth, photodiode, bench config."""
        return {"pixels": [{"index": p.index, "kind": type(p.device).__name__,
                            "device": p.device.truth()} for p in self.pixels],
                "photodiode": self.photodiode_calibration,
                "bench": self.config()}


class _RoutedPixel:
    """Forwards to whichever pixel a channel currently drives (``select_pixel``)."""

    def __init__(self, getter):
        self._get = getter

    def __getattr__(self, name):
        return getattr(self._get(), name)

    def apply(self, *args):
        return self._get().apply(*args)

    def spectral_radiance_W_sr_m2_nm(self, wavelength_nm):
        return self._get().spectral_radiance_W_sr_m2_nm(wavelength_nm)

    def capacitance(self, *args):
        return self._get().capacitance(*args)

    def dc_bias_V(self):
        return self._get().dc_bias_V()
