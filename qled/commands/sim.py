"""``qled sim serve`` (a simulated bench in its own process) and ``qled sim devices``."""
from __future__ import annotations

from simulators.serve import add_serve_arguments

from qled.errors import EXIT_OK
from qled.kinds import kinds

__all__ = ["register", "device_lines"]


def register(subparsers) -> None:
    sim = subparsers.add_parser("sim", help="the simulated bench: serve it, list its devices",
                                description="The simulated bench: instruments that speak the "
                                "real wire protocols, backed by device physics with known truth.")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="SUBCOMMAND")
    sim_sub.required = True
    serve = sim_sub.add_parser(
        "serve", help="serve a simulated bench until SIGINT/SIGTERM (loopback only)",
        description="Serve a simulated bench in this process (loopback TCP and pseudo-"
        "terminals) until SIGINT/SIGTERM; --station-out writes a station file pointing at it, "
        "so 'qled run … --station FILE' exercises the real-hardware path.")
    add_serve_arguments(serve)
    devices = sim_sub.add_parser("devices", help="list the simulated devices of each kind",
                                 description="The devices '--station sim:<device>' accepts, "
                                 "per measurement kind (the first is plain 'sim').")
    devices.set_defaults(func=_devices)


def device_lines() -> list[str]:
    """``kind: sim:<a> (default), sim:<b> …`` for every registered kind."""
    lines = []
    for kind in kinds().values():
        names = tuple(kind.sim_devices or getattr(kind.procedure, "SIM_DEVICES", ()))
        if not names:
            continue
        listed = ", ".join(f"sim:{d}" + (" (= sim)" if i == 0 else "")
                           for i, d in enumerate(names))
        lines.append(f"{kind.name:14s} {listed}")
    return lines


def _devices(args) -> int:
    print("\n".join(device_lines()))
    return EXIT_OK
