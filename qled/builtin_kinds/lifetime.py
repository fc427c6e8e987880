"""The lifetime kind: constant-current stress of many channels, with a live status line.

``qled run lifetime --channels N`` stresses pixels P … P+N−1 at once through
:func:`procedures.lifetime_channels.run_channels` (one run file per channel) and redraws one
status line per channel on the terminal (state, stress time, L/L0, V, estimated time to the
stop fraction); ``qled resume FILE`` shows the same line.
"""
from __future__ import annotations

import math
import sys
import threading
from pathlib import Path

from procedures.lifetime import LifetimeProcedure

from qled.actions import after_store_failure, analyze_file, print_json, print_summary
from qled.commands.run import run_overrides
from qled.errors import EXIT_USAGE
from qled.gui.presets import PRESETS
from qled.kinds import Kind
from qled.progress import format_duration as _hms

__all__ = ["KIND", "status_lines"]


# The report modules import matplotlib and colour: loaded when a run is analysed or reported,
# not for `qled --help`.
def analyze(run) -> dict:
    from reports.lifetime import analyze_run

    return analyze_run(run)


def report(run, out_dir, **options):
    from reports.lifetime import write_run_report

    return write_run_report(run, out_dir, **options)

#: Figures printed per channel after a run (everything with --json).
SUMMARY_KEYS = ("l0_cd_m2", "t95_h", "t80_h", "t50_h", "t50_extrapolated",
                "voltage_rise_at_t50_V", "stop_reason")
HEADLINES = (("l0_cd_m2", "L0 cd/m2", ".0f"), ("t50_h", "T50 h", ".3g"),
             ("t50_extrapolated", "extrap.", ""))


def add_options(parser) -> None:
    group = next((g for g in parser._action_groups if g.title == "sample and device"), parser)
    group.add_argument("--channels", type=int, default=1, metavar="N",
                       help="pixels stressed at once, one run file each (default 1); channel "
                       "k stresses pixel P+k-1, P = --pixel (channels 1..N: pixels P..P+N-1)")
    for action in parser._actions:             # the generic --pixel help, told about channels
        if action.dest == "pixel":
            action.help += "; with --channels N, channel k is pixel P+k-1 (P+N-1 ≤ 64)"


def status_lines(procedures: dict) -> list[str]:
    """One line per channel: state, elapsed stress time, L/L0, V, estimated time to T_stop."""
    lines = []
    for c, p in sorted(procedures.items()):
        live = p.live
        eta = live["eta_t50_s"] - live["elapsed_s"] if math.isfinite(live["eta_t50_s"]) \
            else math.nan
        lines.append(f"ch{c:<2d} {live['state']:8s} t {_hms(live['elapsed_s'])}  "
                     f"L/L0 {live['relative']:.3f}  V {live['voltage_V']:.3f} V  "
                     f"T{int(round(100 * p.stop_fraction))} in ~{_hms(eta)}"
                     + (f"  ({p.stop_reason})" if p.stop_reason else ""))
    return lines


class _StatusBoard(threading.Thread):
    """Redraws the per-channel status lines on stderr at most ``rate_hz`` times a second."""

    def __init__(self, procedures: dict, rate_hz: float = 3.0, stream=None):
        super().__init__(daemon=True, name="lifetime-status")
        self.procedures, self.period = procedures, 1.0 / rate_hz
        self.stream = sys.stderr if stream is None else stream
        self.stop_event = threading.Event()
        self._drawn = 0

    def draw(self):
        lines = status_lines(self.procedures)
        if self.stream.isatty():
            if self._drawn:
                self.stream.write(f"\x1b[{self._drawn}F")
            self.stream.write("".join(f"\x1b[2K{line}\n" for line in lines))
            self._drawn = len(lines)
            self.stream.flush()

    def run(self):
        while not self.stop_event.wait(self.period):
            self.draw()

    def stop(self, final: bool = True):
        """Stop redrawing; ``final``: show the channels' last state once more."""
        self.stop_event.set()
        self.join()
        if not final:
            return
        if self.stream.isatty():
            self.draw()
        else:
            self.stream.write("\n".join(status_lines(self.procedures)) + "\n")


def run_command(args, values) -> int:
    """``qled run lifetime … [--channels N]``: N channels, live status, analysis per file."""
    from procedures.lifetime_channels import run_channels

    n = getattr(args, "channels", 1)
    n = 1 if n is None else int(n)
    if not 1 <= n <= 64:
        raise ValueError(f"--channels = {n} is out of range: allowed 1 … 64")
    board = {}

    procs = {}

    def started(procedures, station):
        procs.update(procedures)
        board["b"] = _StatusBoard(procedures)
        board["b"].start()

    from procedures.base import build_procedure

    checked = build_procedure(LifetimeProcedure, values)   # every value, one line if refused
    if "channel" in values:
        raise ValueError(f"--channel = {values['channel']} is not allowed with qled run "
                         "lifetime: channel k of --channels N is the station's channel k "
                         "(pixel P+k-1); leave --channel out")
    first = int(checked.pixel)
    top = LifetimeProcedure.pixel.maximum
    if not 1 <= first <= top - n + 1:
        raise ValueError(f"--pixel = {first} with --channels {n} is out of range: channel k is "
                         f"pixel {first}+k-1, so allowed 1 … {top - n + 1}")
    per_channel = [dict(values, pixel=first + c - 1) for c in range(1, n + 1)]
    results = []
    try:
        results = run_channels(per_channel, Path(args.out), overrides=run_overrides(args, values),
                               flush_interval_s=args.flush_interval, on_started=started)
    finally:
        if "b" in board:      # nothing to show for channels refused before they recorded
            board["b"].stop(final=any(r is not None and r.path for r in results))
    if results and all(r is not None and r.refused for r in results):
        messages = list(dict.fromkeys(r.message for r in results))
        print("\n".join(f"qled: error: {m}" for m in messages), file=sys.stderr)
        return EXIT_USAGE                  # a value the user can fix: nothing was recorded
    code = 0
    # a disk on which a channel's file just failed gets no more writes: no analyses at all
    failed_disk = any(r is not None and r.store_failed for r in results)
    for c, r in enumerate(results, start=1):
        if r is None or r.path is None:
            print(f"ch{c}: no run file ({getattr(r, 'message', 'failed')})", file=sys.stderr)
            code = 1
            continue
        print(f"ch{c} {r.status}: {r.path} ({r.rows} rows)"
              + (f" — {r.message}" if r.message else ""))
        if r.status != "finished" or procs.get(c) is not None and procs[c].fault_stop:
            code = 1
        if r.store_failed:             # nothing more on a disk that just failed
            after_store_failure(r)
        elif failed_disk and r.rows:
            print(f"qled: ch{c}: not analysed (another channel's file could not be written "
                  f"to this disk): qled analyze {r.path} once it has room", file=sys.stderr)
        elif r.rows:
            analysis = analyze_file(r.path)
            if analysis is not None:
                if args.json:
                    print_json(analysis)
                else:
                    print_summary({k: analysis.get(k) for k in SUMMARY_KEYS}, HEADLINES)
    return code


def resume_command(path, *, flush_interval_s: float = 1.0, handle_signals: bool = True,
                   stream=None, accept_discontinuity: bool = False, stop_event=None):
    """``qled resume FILE`` of a lifetime run → RunResult.

    :func:`acquisition.runner.resume_run` with the live status line of ``qled run lifetime``
    (:func:`status_lines`: state, stress time, L/L0, V, estimated time to the stop fraction)
    on ``stream`` (default stderr; redrawn on a terminal, printed once at the end otherwise).
    A run that cannot be resumed gets the engine's own one-line refusal; a pixel that does
    not continue the stored run is refused unless ``accept_discontinuity``. Setting
    ``stop_event`` (a ``threading.Event``: a recipe's stop, the GUI's abort) stops it too.
    """
    from acquisition.runner import RunEngine, restore_procedure, resume_run
    from acquisition.store import load_run, run_lock

    with run_lock(path, "qled resume"):      # one writer: before the file is even read
        run = load_run(path, spectra=True)
        procedure = None
        if run.status != "finished":
            procedure = restore_procedure(LifetimeProcedure, run.parameter_values())
            if not isinstance(procedure, LifetimeProcedure) or \
                    procedure.resume_from(run) is False:
                procedure = None
        del run
        if procedure is None:      # not ours to continue: the engine says why, in one line
            return resume_run(path, LifetimeProcedure, flush_interval_s=flush_interval_s,
                              handle_signals=handle_signals)
        procedure.accept_discontinuity = bool(accept_discontinuity)
        board = _StatusBoard({int(procedure.channel): procedure}, stream=stream)
        engine = RunEngine(procedure, resume_path=path, flush_interval_s=flush_interval_s)
        if stop_event is not None:
            engine._stop = stop_event      # one stop flag with the caller (as run_channels)
        board.start()
        result = None
        try:
            result = engine.run(handle_signals=handle_signals)
            return result
        finally:
            board.stop(final=result is not None and not result.refused)


def demo(out_dir: Path, *, progress=print) -> list[Path]:
    """Lifetime session: pristine and passivated pixels at three initial luminances each.

    Two simulated benches of three channels (noise on, seeded), photodiode route. The
    pristine device (T50 ≈ 84 s at 1000 cd/m²; its luminance peaks below 5000 cd/m², so
    1000/2000/4000) runs on a 50× clock logging every 0.5 s; the passivated one (T50 = 30 min
    at 1000 cd/m²; 1000/2000/5000) on a 900× clock logging every 5 s with a 15-minute cap, so
    its 1000 cd/m² pixel stops early and its T50 is extrapolated (bounded) — what a reviewer
    sees for a test stopped early.
    """
    from procedures.lifetime_channels import run_channels


    out_dir = Path(out_dir)
    sessions = (("pristine", (1000.0, 2000.0, 4000.0), 50.0, 0.5, 10.0),
                ("passivated", (1000.0, 2000.0, 5000.0), 900.0, 5.0, 15.0))
    paths = []
    for preset, l0s, scale, interval_s, cap_min in sessions:
        progress(f"lifetime: {preset} pixels at L0 = {', '.join(f'{x:g}' for x in l0s)} "
                 f"cd/m² on 3 channels, simulated clock {scale:g}×")
        values = [{"station": f"sim:{preset}", "sample": preset, "pixel": k, "l0_cd_m2": l0,
                   "log_interval_s": interval_s, "max_hours": cap_min / 60.0,
                   "operator": "qled demo"} for k, l0 in enumerate(l0s, start=1)]
        for r in run_channels(values, out_dir, overrides={"time_scale": scale},
                              handle_signals=False):
            if r is not None and r.path is not None:
                paths.append(Path(r.path))
                if r.rows:
                    analyze_file(r.path)
    return paths


KIND = Kind(
    name="lifetime", procedure=LifetimeProcedure, analyze=analyze, report=report,
    gui_preset=PRESETS["lifetime"], demo=demo, headlines=HEADLINES,
    metrics=("l0_cd_m2", "l0_max_cd_m2", "t95_h", "t90_h", "t80_h", "t50_h", "tau_h", "beta",
             "voltage_rise_at_t95_V", "voltage_rise_at_t50_V", "duration_h", "final_relative"),
    add_options=add_options, run_command=run_command, resume_command=resume_command)
