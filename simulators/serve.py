"""Serving a simulated bench from its own process until SIGINT/SIGTERM (``qled sim serve``).

:func:`add_serve_arguments` declares the options (the ``qled`` program and ``python -m
simulators.serve`` share them), :func:`serve_command` runs the server; it can also write a
station file pointing at the served instruments and keep the devices' truth beside it
(:class:`TruthPublisher`).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

#: Format tag of the truth file (read by ``instruments.simulated.read_served_truth``).
TRUTH_FILE_FORMAT = "qled-bench served truth 1"
#: How often the served bench re-takes its truth snapshot [wall s].
TRUTH_REFRESH_S = 0.2


def add_serve_arguments(serve) -> None:
    """The server's options on an argparse parser, whose ``func`` default becomes :func:`serve_command`."""
    serve.add_argument("--json", action="store_true", help="print one JSON object of resources")
    serve.add_argument("--station-out", metavar="FILE",
                       help="also write a station TOML (must not exist) and, beside it, "
                       "<name>.truth.json: the simulated devices' truth, kept current")
    serve.add_argument("--channels", type=int, default=1, help="lifetime channels (default 1)")
    serve.add_argument("--time-scale", type=float, default=1.0, help="simulated s per wall s")
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--no-noise", action="store_true", help="zero-noise instruments")
    serve.add_argument("--faults", metavar="FILE.json", help="fault plan (see simulators.faults)")
    serve.add_argument("--device", default="passivated",
                       choices=("passivated", "pristine", "uniform_junction"))
    serve.add_argument("--photodiode", default="smu", choices=("smu", "6485"))
    serve.add_argument("--switch", choices=("keithley7001", "relay_box"),
                       help="a pixel switch: a substrate of --pixels pixels, one bus per channel")
    serve.add_argument("--pixels", type=int, default=4, help="pixels of the switched substrate")
    serve.add_argument("--lcr-bias-tee", action="store_true",
                       help="a standard E4980A (no option 001) whose DC bias comes from the SMU "
                       "through a bias tee (the station file says bias_source = \"smu\")")
    serve.set_defaults(func=serve_command)


def station_toml(bench, pid: int, truth_file: str | None = None) -> str:
    """Station file pointing at the served instruments (format read by instruments.station).

    ``truth_file``: the truth file's path relative to the station file (``[station]
    truth_file``; see :class:`TruthPublisher`).
    """
    res = bench.resources
    cal = bench.photodiode_calibration
    pd_driver = "keithley6485" if bench.photodiode == "6485" else "keithley2400"
    lines = ["[station]", f'name = "simulated bench (pid {pid})"', "simulated = true",
             f"time_scale = {bench.clock.time_scale!r}"]
    if truth_file is not None:
        lines.append(f"truth_file = {json.dumps(str(truth_file))}")   # a TOML basic string
    lines += ["",
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
    thermometer = 'driver = "keithley2000", transducer = "pt100"'
    if "thermometer" in res:      # the environment: a DMM per channel, the room's T/RH
        lines += ["[thermometer]", *thermometer.split(", "), f'resource = "{res["thermometer"]}"',
                  ""]
    if "ambient" in res:
        lines += ["[ambient]", 'driver = "hmt330"', f'resource = "{res["ambient"]}"',
                  'data_bits = 8', 'parity = "N"', ""]     # a pty refuses a second 7E1 open
    if bench.channel_resources:          # lifetime channels (one per pixel), even just one
        for ch in bench.channel_resources:
            lines += ["[[channel]]",
                      f'smu = {{ driver = "keithley2400", resource = "{ch["smu"]}" }}',
                      f'photodiode = {{ driver = "{pd_driver}", resource = "{ch["photodiode"]}", '
                      f'radius_mm = {cal["radius_mm"]!r}, distance_mm = {cal["distance_mm"]!r} }}']
            if "thermometer" in ch:
                lines.append(f'thermometer = {{ {thermometer}, resource = "{ch["thermometer"]}" }}')
            lines.append("")
    if getattr(bench, "switch", None) is not None:      # the pixel switch, one bus per channel
        lines += ["[switch]", f'model = "{bench.switch}"', f'resource = "{res["switch"]}"',
                  f"pixels = {len(bench.pixels)}", f"buses = {bench.channels}", ""]
    return "\n".join(lines)


def truth_path(station_out: str | Path) -> Path:
    """The truth file beside a station file: ``bench.toml`` → ``bench.truth.json``."""
    return Path(station_out).with_suffix(".truth.json")


def _refuse_existing(station_out: str | Path) -> None:
    path, truth = Path(station_out), truth_path(station_out)
    if path.exists():
        raise FileExistsError(f"--station-out {path} already exists: choose a new file name")
    if truth.exists():
        raise FileExistsError(f"--station-out {path}: its truth file {truth} already exists: "
                              "choose a new file name")


def write_new_file(path: str | Path, text: str) -> None:
    """Write atomically; refuse to overwrite (FileExistsError, one line)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"--station-out {path} already exists: choose a new file name")
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=".station-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.link(tmp, path)  # fails if path appeared meanwhile: never overwrites
    finally:
        os.unlink(tmp)


class TruthPublisher:
    """Keeps ``bench.truth()`` in a JSON file for processes that use the served bench.

    ``Station.truth()`` of a station file with ``truth_file`` reads it: the truth a run
    records is then the same as against the in-process bench (every pixel, the photodiode,
    the bench configuration with its selected pixel). The devices' ageing state changes while
    they are driven, so :meth:`publish` (called every ``TRUTH_REFRESH_S``) re-takes the
    snapshot, rewrites the file atomically when it changed and in any case sets the file's
    modification time to the time the snapshot was taken: a reader waits for a modification
    time at or after its request and so never records a snapshot older than its run.
    """

    def __init__(self, bench, path: str | Path):
        self.bench = bench
        self.path = Path(path)
        self._text: str | None = None

    def _snapshot(self) -> tuple[int, str]:
        taken_ns = time.time_ns()
        record = {"format": TRUTH_FILE_FORMAT, "pid": os.getpid(), "truth": self.bench.truth()}
        return taken_ns, json.dumps(record)

    def create(self) -> None:
        """Write the first snapshot; refuses to overwrite an existing file."""
        taken_ns, text = self._snapshot()
        write_new_file(self.path, text)
        os.utime(self.path, ns=(taken_ns, taken_ns))
        self._text = text

    def publish(self) -> None:
        taken_ns, text = self._snapshot()
        if text != self._text:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".truth-", suffix=".json")
            try:
                with os.fdopen(fd, "w") as fh:
                    fh.write(text)
                os.utime(tmp, ns=(taken_ns, taken_ns))
                os.replace(tmp, self.path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            self._text = text
        else:
            os.utime(self.path, ns=(taken_ns, taken_ns))


def serve_command(args) -> int:
    from .bench import Bench
    from .faults import FaultPlan
    faults = FaultPlan.load(args.faults) if args.faults else None
    if args.station_out:
        _refuse_existing(args.station_out)
    stop = threading.Event()
    handler = lambda signum, frame: stop.set()
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Bench(channels=args.channels, seed=args.seed, noise=not args.no_noise,
                   time_scale=args.time_scale, faults=faults, photodiode=args.photodiode,
                   device_preset=args.device, lcr_bias_tee=args.lcr_bias_tee,
                   lcr_option_001=not args.lcr_bias_tee, switch=args.switch,
                   pixels=args.pixels if args.switch else None) as bench:
            info = dict(bench.resources)
            info.update(channels=bench.channels, time_scale=bench.clock.time_scale, pid=os.getpid(),
                        channel_resources=bench.channel_resources)
            publisher = None
            if args.station_out:
                # The truth file first: a station file that exists names one that exists.
                publisher = TruthPublisher(bench, truth_path(args.station_out))
                publisher.create()
                write_new_file(args.station_out, station_toml(bench, os.getpid(),
                                                              publisher.path.name))
                info["station"] = str(Path(args.station_out).resolve())
                info["truth_file"] = str(publisher.path.resolve())
            if args.json:
                print(json.dumps(info), flush=True)
            else:
                for key, value in info.items():
                    print(f"{key}: {value}", flush=True)
            failing = False
            while not stop.wait(TRUTH_REFRESH_S):
                if publisher is None:
                    continue
                try:
                    publisher.publish()
                    failing = False
                except Exception as exc:  # noqa: BLE001 - keep serving; readers see a stale
                    if not failing:       # file and record no truth, saying why
                        print(f"qled sim serve: truth file {publisher.path} not updated: {exc}",
                              file=sys.stderr, flush=True)
                    failing = True
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return 0


def main(argv=None) -> int:
    """``python -m simulators.serve …``: the same server without the ``qled`` program.

    Benchmarks and tests that need a bench in its own process use it, so they depend on
    nothing but the simulators package.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m simulators.serve",
                                     description="serve a simulated bench until SIGINT/SIGTERM")
    add_serve_arguments(parser)
    parser.set_defaults(func=serve_command)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
