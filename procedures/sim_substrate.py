"""The simulated bench of lifetime channels, described as data (procedures import no
simulators): one device per channel, or one switched substrate with a bus per channel.

Every simulated pixel is ``instruments.simulated.pixel_device_spec(preset, pixel)``, so
pixel k of a substrate is the same device for a J-V-L, a DLCP and a lifetime run.
"""
from __future__ import annotations

__all__ = ["channels_bench_options", "one_channel_bench_options"]


def channels_bench_options(presets: list[str], channel_values: list[dict], overrides: dict,
                           default_area_cm2: float) -> dict:
    """Bench options for channels 1 … n (``presets[c-1]``, ``channel_values[c-1]``).

    Unswitched (default): one device per channel, ``pixel_device_spec(preset, pixel)``
    (``pixel`` defaults to the channel number). With ``overrides["switch"]``
    (``"keithley7001"`` or ``"relay_box"``): one switched substrate of ``max(4, largest
    pixel)`` pixels (``overrides["pixels"]``), pixel k = ``pixel_device_spec(preset, k)``,
    one bus per channel; every channel then needs the same preset and its own pixel.
    """
    from instruments.simulated import pixel_device_spec, substrate_devices

    pixels = [int(v.get("pixel", c)) for c, v in enumerate(channel_values, start=1)]
    areas = [float(v.get("area_cm2", default_area_cm2)) for v in channel_values]
    options = {"channels": len(channel_values), "seed": 1,
               "serial_meters": any(v.get("light_route") == "spectroradiometer"
                                    for v in channel_values)}
    if overrides.get("switch"):
        if len(set(presets)) > 1:
            raise ValueError(f"station = {', '.join(sorted(set(presets)))}: a switched "
                             "substrate holds one device preset: allowed one for every channel")
        if len(set(pixels)) < len(pixels):
            raise ValueError(f"pixel = {pixels}: a switched pixel is on one channel only: "
                             "allowed distinct pixels")
        n = int(overrides.get("pixels", max(4, *pixels)))
        options.update(devices=substrate_devices(presets[0], n, areas[0]), pixels=n)
    else:
        options["devices"] = [pixel_device_spec(p, k, a)
                              for p, k, a in zip(presets, pixels, areas)]
    options.update(overrides)
    return options


def one_channel_bench_options(procedure, spec: str) -> dict:
    """Bench options of one lifetime channel run alone (``qled run lifetime --channel``,
    a resume): channels 1 … ``channel``, this channel's pixel where it belongs, the channels
    before it placeholders on other pixels (a switched substrate wires each pixel once)."""
    pixel, channel = int(procedure.pixel), int(procedure.channel)
    others = iter(k for k in range(1, 66) if k != pixel)
    values = [{"station": spec, "area_cm2": float(procedure.area_cm2),
               "light_route": procedure.light_route,
               "pixel": pixel if c == channel else next(others)} for c in range(1, channel + 1)]
    return channels_bench_options([procedure.sim_preset(spec)] * len(values), values, {
        "seed": channel, **procedure.sim_overrides}, float(procedure.area_cm2))
