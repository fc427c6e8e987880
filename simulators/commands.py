"""``qled sim serve``: serve a simulated bench from this process until SIGINT/SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path


def register(subparsers) -> None:
    sim = subparsers.add_parser("sim", help="simulated bench")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="SUBCOMMAND")
    sim_sub.required = True
    serve = sim_sub.add_parser("serve", help="serve a simulated bench until SIGINT/SIGTERM")
    serve.add_argument("--json", action="store_true", help="print one JSON object of resources")
    serve.add_argument("--station-out", metavar="FILE", help="also write a station TOML (must not exist)")
    serve.add_argument("--channels", type=int, default=1, help="lifetime channels (default 1)")
    serve.add_argument("--time-scale", type=float, default=1.0, help="simulated s per wall s")
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--no-noise", action="store_true", help="zero-noise instruments")
    serve.add_argument("--faults", metavar="FILE.json", help="fault plan (see simulators.faults)")
    serve.add_argument("--device", default="passivated",
                       choices=("passivated", "pristine", "uniform_junction"))
    serve.add_argument("--photodiode", default="smu", choices=("smu", "6485"))
    serve.add_argument("--lcr-bias-tee", action="store_true",
                       help="a standard E4980A (no option 001) whose DC bias comes from the SMU "
                       "through a bias tee (the station file says bias_source = \"smu\")")
    serve.set_defaults(func=serve_command)


def station_toml(bench, pid: int) -> str:
    """Station file pointing at the served instruments (format read by instruments.station)."""
    res = bench.resources
    cal = bench.photodiode_calibration
    pd_driver = "keithley6485" if bench.photodiode == "6485" else "keithley2400"
    lines = ["[station]", f'name = "simulated bench (pid {pid})"', "simulated = true",
             f"time_scale = {bench.clock.time_scale!r}", "",
             "[smu]", 'driver = "keithley2400"', f'resource = "{res["smu"]}"', ""]
    if "spectroradiometer" in res:
        lines += ["[light_meter]", 'driver = "cs2000"', f'resource = "{res["spectroradiometer"]}"',
                  'speed = "fast"', ""]
    lines += ["[photodiode]", f'driver = "{pd_driver}"', f'resource = "{res["photodiode"]}"',
              f'radius_mm = {cal["radius_mm"]!r}', f'distance_mm = {cal["distance_mm"]!r}',
              'responsivity = "si_default"', "",
              "[lcr]", 'driver = "e4980a"', f'resource = "{res["lcr"]}"',
              f"option_001 = {'true' if bench.lcr_option_001 else 'false'}"]
    if getattr(bench, "lcr_bias_tee", False):
        lines.append('bias_source = "smu"')
    lines.append("")
    if bench.channels > 1:
        for ch in bench.channel_resources:
            lines += ["[[channel]]",
                      f'smu = {{ driver = "keithley2400", resource = "{ch["smu"]}" }}',
                      f'photodiode = {{ driver = "{pd_driver}", resource = "{ch["photodiode"]}", '
                      f'radius_mm = {cal["radius_mm"]!r}, distance_mm = {cal["distance_mm"]!r} }}', ""]
    return "\n".join(lines)


def write_new_file(path: str | Path, text: str) -> None:
    """Write atomically; refuse to overwrite (FileExistsError, one line)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"--station-out {path} already exists: choose a new file name")
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=".station-", suffix=".toml")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.link(tmp, path)  # fails if path appeared meanwhile: never overwrites
    finally:
        os.unlink(tmp)


def serve_command(args) -> int:
    from .bench import Bench
    from .faults import FaultPlan
    faults = FaultPlan.load(args.faults) if args.faults else None
    if args.station_out and Path(args.station_out).exists():
        raise FileExistsError(f"--station-out {args.station_out} already exists: choose a new file name")
    stop = threading.Event()
    handler = lambda signum, frame: stop.set()
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Bench(channels=args.channels, seed=args.seed, noise=not args.no_noise,
                   time_scale=args.time_scale, faults=faults, photodiode=args.photodiode,
                   device_preset=args.device, lcr_bias_tee=args.lcr_bias_tee,
                   lcr_option_001=not args.lcr_bias_tee) as bench:
            info = dict(bench.resources)
            info.update(channels=bench.channels, time_scale=bench.clock.time_scale, pid=os.getpid(),
                        channel_resources=bench.channel_resources)
            if args.station_out:
                write_new_file(args.station_out, station_toml(bench, os.getpid()))
                info["station"] = str(Path(args.station_out).resolve())
            if args.json:
                print(json.dumps(info), flush=True)
            else:
                for key, value in info.items():
                    print(f"{key}: {value}", flush=True)
            while not stop.wait(0.2):
                pass
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return 0


def main(argv=None) -> int:
    """``python -m simulators.commands serve …``: the same server without the ``qled`` CLI.

    Benchmarks and tests that need a bench in its own process use it, so they depend on
    nothing but the simulators package.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m simulators.commands")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sim", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
