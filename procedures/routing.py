"""Pixel routing of a run: the station's switch wires this procedure's pixel to its bus.

``startup`` (after the station is open) calls :func:`connect_pixel`: the sources of that bus
off, then ``switch.connect(pixel, bus)`` (break-before-make, read back), one event; bus =
the procedure's lifetime ``channel`` or 1. ``shutdown`` calls :func:`release_pixel` after
``outputs_off()``: that bus opened (closing the station opens every relay). Without a switch
both do nothing: the pixel is wired by hand, as before.
"""
from __future__ import annotations

__all__ = ["connect_pixel", "release_pixel", "procedure_bus", "bench_pixel_index"]


def procedure_bus(procedure) -> int:
    """The switch bus of a procedure: its lifetime channel, else 1."""
    channel = getattr(procedure, "channel", None)
    return int(channel) if isinstance(channel, int) and channel >= 1 else 1


def connect_pixel(procedure) -> dict | None:
    """Wire ``procedure.pixel`` to its bus; returns the routing record (run metadata) or None
    without a switch. A pixel or bus the switch does not have is one-line ValueError."""
    station = procedure.instruments
    switch = getattr(station, "switch", None)
    if switch is None:
        return None
    pixel, bus = int(procedure.pixel), procedure_bus(procedure)
    if pixel > switch.pixels:
        raise ValueError(f"pixel = {pixel} is out of range for the station's switch: allowed "
                         f"1 … {switch.pixels}")
    if bus > switch.buses:
        raise ValueError(f"channel = {bus} is out of range for the station's switch: allowed "
                         f"1 … {switch.buses} (its buses)")
    for source in station.bus_sources(bus):       # relays move with the outputs off
        off = getattr(source, "output_off", None) or getattr(source, "bias_off", None)
        if off is not None and (getattr(source, "output", False) or
                                getattr(source, "bias_on", False)):
            off()
    switch.connect(pixel, bus=bus)
    describe = getattr(switch, "describe", lambda: {})()
    procedure.log_event("info", f"pixel {pixel} connected to bus {bus} (switch "
                        f"{describe.get('model', '?')}, {switch.idn})")
    return {"pixel": pixel, "bus": bus, "connections": {str(b): p for b, p in
                                                        switch.connections().items()},
            **describe}


def release_pixel(procedure) -> None:
    """Open this procedure's bus (the outputs are already off)."""
    station = procedure.instruments
    switch = getattr(station, "switch", None)
    if switch is None:
        return
    bus = procedure_bus(procedure)
    switch.disconnect(bus)
    left = switch.connections()          # read back: the run file says the relays are open
    if bus in left:
        procedure.log_event("error", f"switch: bus {bus} opened (read back: pixel {left[bus]} "
                            "still closed)")
    else:
        procedure.log_event("info", f"switch: bus {bus} opened (read back: open)")


def bench_pixel_index(procedure) -> int:
    """0-based index of the simulated bench's pixel this procedure drives: its pixel through
    the switch, else (unswitched bench) its channel's pixel."""
    if getattr(procedure, "_routing", None) is not None:
        return int(procedure.pixel) - 1
    return procedure_bus(procedure) - 1
