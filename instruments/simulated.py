"""Stations on the simulated bench: the only module of ``instruments`` that imports simulators.

``open_station("sim")`` starts a bench in-process (:func:`start_bench`) and connects the real
drivers to it over its transports; a station file written by ``qled sim serve`` runs on a
:class:`~simulators.clock.ScaledClock` and names the truth file the server keeps
(:func:`read_served_truth`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from simulators.clock import ScaledClock
from simulators.serve import TRUTH_FILE_FORMAT

from .station_config import validate_config

__all__ = ["start_bench", "build_device", "station_clock", "read_served_truth", "DEVICE_MODELS",
           "pixel_device_spec", "substrate_devices"]

#: Simulated device models and their presets (``build_device``'s ``model`` and ``preset``).
DEVICE_MODELS = {
    "led": ("passivated", "pristine", "uniform_junction"),
    "single_carrier": ("electron_only", "hole_only"),
    "pl_film": ("passivated", "pristine"),
}


def build_device(spec):
    """A simulated device from its description; a device object is returned as it is.

    ``spec`` is a mapping: ``model`` (a key of :data:`DEVICE_MODELS`), ``preset``,
    ``changes`` (parameter values replacing the preset's, e.g. ``area_cm2``) and, for an LED,
    ``sample_seed`` (seed of one pixel's draw from the batch spread, ``LEDParameters.sampled``;
    None: the preset itself) or, for a single-carrier device, ``passivated`` (bool).
    """
    if not isinstance(spec, dict):
        return spec
    import dataclasses

    import numpy as np

    model, preset = spec.get("model"), spec.get("preset")
    if model not in DEVICE_MODELS or preset not in DEVICE_MODELS[model]:
        raise ValueError(f"simulated device {model}:{preset} is not known: allowed "
                         + ", ".join(f"{m}:{p}" for m, ps in DEVICE_MODELS.items() for p in ps))
    changes = dict(spec.get("changes") or {})
    if model == "led":
        from simulators.device import LEDDevice, LEDParameters

        params = getattr(LEDParameters, preset)()
        if spec.get("sample_seed") is not None:
            params = params.sampled(np.random.default_rng(spec["sample_seed"]))
        return LEDDevice(dataclasses.replace(params, **changes))
    if model == "single_carrier":
        from simulators.device import SingleCarrierDevice, SingleCarrierParameters

        make = getattr(SingleCarrierParameters, preset)
        return SingleCarrierDevice(make(bool(spec.get("passivated", True)), **changes))
    from simulators.pl_film import PLFilm, PLFilmParameters

    return PLFilm(dataclasses.replace(getattr(PLFilmParameters, preset)(), **changes))


def pixel_device_spec(preset: str, pixel: int, area_cm2: float | None = None) -> dict:
    """The simulated LED of pixel ``pixel`` of a ``preset`` substrate, as data.

    The one seeding of a simulated pixel (every kind of run, lifetime channels and the switched
    substrate use it): the preset drawn from the batch spread (``LEDParameters.sampled``)
    with seed ``pixel``, so pixel k of a substrate is the same device whatever measures it
    (substrates of different presets differ by their preset). ``area_cm2`` replaces the
    preset's area.
    """
    if isinstance(pixel, bool) or int(pixel) != pixel or not 1 <= pixel <= 256:
        raise ValueError(f"pixel = {pixel!r} is out of range: allowed 1 … 256")
    changes = {} if area_cm2 is None else {"area_cm2": float(area_cm2)}
    return {"model": "led", "preset": preset, "sample_seed": int(pixel), "changes": changes}


def substrate_devices(preset: str, pixels: int, area_cm2: float | None = None) -> list[dict]:
    """``pixel_device_spec(preset, k)`` for k = 1 … ``pixels``: a switched substrate."""
    return [pixel_device_spec(preset, k, area_cm2) for k in range(1, int(pixels) + 1)]


def start_bench(roles: tuple, sim_options: dict | None):
    """Start an in-process bench for ``roles`` → (bench, validated config, calibration).

    ``sim_options`` are ``simulators.bench.Bench`` keyword arguments plus ``lcr_bias_source``
    (``"internal"`` or ``"smu"``: the LCR meter biased by the SMU through a bias tee, which the
    bench then has), the station's reconnect ride-out times ``ride_out_s`` /
    ``sweep_ride_out_s`` (as in a station file's ``[station]`` table) and ``timeout_ms``, the
    I/O time-out of every instrument.
    """
    from simulators.bench import Bench

    options = dict(sim_options or {})
    reconnect = {k: float(options.pop(k)) for k in ("ride_out_s", "sweep_ride_out_s")
                 if k in options}
    timeout_ms = options.pop("timeout_ms", None)
    if "devices" in options:
        options["devices"] = [build_device(d) for d in options["devices"]]
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
    config["station"].update(reconnect)
    if timeout_ms is not None:       # every instrument's I/O time-out (VISA and serial)
        for table in [config.get(r) for r in ("smu", "light_meter", "photodiode", "lcr",
                                              "switch", "thermometer", "ambient")] + \
                [t for ch in config.get("channel", []) for t in ch.values()]:
            if isinstance(table, dict):
                table["timeout_ms"] = int(timeout_ms)
    return bench, config, _sim_calibration(bench)


def station_clock(time_scale: float) -> ScaledClock:
    """The clock of a station file served by ``qled sim serve`` (its ``time_scale``)."""
    return ScaledClock(float(time_scale))


def read_served_truth(path, *, timeout_s: float = 5.0) -> dict:
    """The truth a served bench published at or after this call (see ``Station.truth``).

    The server (``qled sim serve``) re-takes the snapshot every 0.2 s, rewriting the file when
    it changed and otherwise only stamping its modification time with the snapshot's time;
    so a modification time at or after the call means a snapshot at least as new as the call.
    """
    import json
    import time

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
    smu_driver = "keithley2450" if getattr(bench, "smu_model", "2400") == "2450" else \
        "keithley2400"
    photodiode_driver = "keithley6485" if sim_options.get("photodiode") == "6485" else \
        "keithley2400"
    config: dict[str, Any] = {"station": {"name": "in-process simulated bench",
                                          "simulated": True,
                                          "time_scale": float(bench.clock.time_scale)}}
    if "smu" in res:
        config["smu"] = {"driver": smu_driver, "resource": res["smu"]}
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
    # The bench's environment: a Keithley 2000 on a Pt100 per channel, an HMT330 for the room.
    thermometer = {"driver": "keithley2000", "transducer": "pt100",
                   "sensor": "Pt100, 4-wire, on the simulated pixel's substrate"}
    if "thermometer" in res:
        config["thermometer"] = dict(thermometer, resource=res["thermometer"])
    if "ambient" in res:
        # a pty ignores the framing and refuses a second 7E1 open: 8N1 on the simulated line
        config["ambient"] = {"driver": "hmt330", "resource": res["ambient"], "data_bits": 8,
                             "parity": "N"}
    channels = []
    for entry in getattr(bench, "channel_resources", []) or []:
        ch: dict[str, Any] = {"smu": {"driver": smu_driver, "resource": entry["smu"]}}
        if "thermometer" in entry:
            ch["thermometer"] = dict(thermometer, resource=entry["thermometer"])
        if "photodiode" in entry:
            ch["photodiode"] = {"driver": photodiode_driver, "resource": entry["photodiode"],
                                "radius_mm": config.get("photodiode", {}).get("radius_mm", 5.0),
                                "distance_mm": config.get("photodiode", {}).get("distance_mm",
                                                                                20.0)}
        channels.append(ch)
    config["channel"] = channels
    if "switch" in res:
        config["switch"] = {"model": bench.switch, "resource": res["switch"],
                            "pixels": len(bench.pixels), "buses": bench.channels}
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
