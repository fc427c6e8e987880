"""Many lifetime channels at once: one procedure, one run engine and one file per channel, on
one station.

:func:`run_channels` validates every channel before anything connects, opens the station once
(for the simulated bench: one device per channel, seeded by its pixel), lets the channels'
L0 searches run on real time, then stresses them concurrently, each in its own thread with
its own run file (with several channels named by its channel: ``…_lifetime_ch2.h5``);
SIGINT/SIGTERM or a shared stop event stop every channel with every output off. The ``qled run lifetime --channels N`` command and the GUI's Channels input use it.
"""
from __future__ import annotations

import functools
import signal
import threading
from pathlib import Path

from .lifetime import LifetimeProcedure

__all__ = ["StartGate", "run_channels"]


#: RunWriter.create builds its temporary skeleton under a name unique per process and second
#: only; channels of one process create their files one at a time.
_CREATE_LOCK = threading.Lock()


class StartGate:
    """Holds every channel's stress start until all L0 searches are over.

    On a simulated bench the shared clock runs at real time during the searches and goes back
    to its accelerated scale when the last channel arrives (or leaves after a failure).
    """

    def __init__(self, parties: int, clock=None, fast_scale: float | None = None):
        self._pending = int(parties)
        self._cond = threading.Condition()
        self._clock, self._fast = clock, fast_scale
        if parties <= 0:
            self._release()

    def _release(self):
        if self._clock is not None and self._fast is not None:
            self._clock.time_scale = self._fast

    def leave(self) -> None:
        """A channel that will not stress (search failed, stopped) stops holding the others."""
        with self._cond:
            self._pending -= 1
            if self._pending == 0:
                self._release()
            self._cond.notify_all()

    def arrive(self, should_stop=lambda: False) -> None:
        """Wait until every channel has arrived or left (returns early on a stop request)."""
        self.leave()
        with self._cond:
            while self._pending > 0 and not should_stop():
                self._cond.wait(0.05)


def _channel_engine(procedure, out: Path, flush_interval_s: float, on_emit=None,
                    stop_event=None, file_tag: str = ""):
    from acquisition.runner import RunEngine

    class ChannelEngine(RunEngine):
        def _open_writer(self):
            with _CREATE_LOCK:
                return super()._open_writer()

    engine = ChannelEngine(procedure, out, flush_interval_s=flush_interval_s, on_emit=on_emit,
                           file_tag=file_tag)
    if stop_event is not None:
        engine._stop = stop_event        # one stop flag for every channel (GUI abort)
    return engine


def _channel_router(procedures: dict):
    """``on_event`` for a shared station: route ``channel<N>.…`` messages to channel N."""
    def on_event(level, message):
        name = str(message).split(":", 1)[0]
        if name.startswith("channel") and "." in name:
            try:
                n = int(name[len("channel"):name.index(".")])
            except ValueError:
                n = None
            if n in procedures:
                procedures[n].log_event(level, message)
                return
        for proc in procedures.values():
            proc.log_event(level, message)
    return on_event


def _sim_options(channel_values: list[dict], overrides: dict) -> dict:
    """The simulated bench of the channels (``station`` 'sim:<preset>' per channel): see
    :func:`procedures.sim_substrate.channels_bench_options`."""
    from .sim_substrate import channels_bench_options

    return channels_bench_options(
        [LifetimeProcedure().sim_preset(str(v.get("station", "sim"))) for v in channel_values],
        channel_values, overrides, LifetimeProcedure.area_cm2.default)


def run_channels(channel_values: list[dict], out_dir, *, overrides: dict | None = None,
                 flush_interval_s: float = 1.0, handle_signals: bool = True,
                 on_started=None, station_spec: str | None = None, on_emit=None,
                 stop_event: threading.Event | None = None):
    """Run one lifetime procedure per channel concurrently on one station → list of RunResult.

    Parameters
    ----------
    channel_values : list of dict
        Parameter values per channel (``channel`` is set to 1, 2, … in order). For a
        simulated station every entry's ``station`` may name a preset (``sim:pristine``).
    out_dir : path
        Folder for the run files (one per channel).
    overrides : dict, optional
        Simulated bench options (``time_scale``, ``noise``, ``faults`` …).
    handle_signals : bool
        Install SIGINT/SIGTERM handlers (main thread only) that stop every channel.
    on_started : callable, optional
        ``on_started(procedures, station)`` once the channels run (live status, tests).
    station_spec : str, optional
        ``"sim"`` or a TOML path; default: the first channel's ``station``.
    on_emit : callable, optional
        ``on_emit(channel, topic, record)`` receives every record of every channel, in
        the channel's thread (live plots of the GUI).
    stop_event : threading.Event, optional
        Setting it stops every channel (the GUI's abort).
    """
    from acquisition.runner import check_output_dir
    from instruments.station import open_station

    from .base import build_procedure

    if not 1 <= len(channel_values) <= 64:
        raise ValueError(f"channels = {len(channel_values)} is out of range: allowed 1 … 64")
    out = check_output_dir(out_dir)
    switched = bool((overrides or {}).get("switch"))
    # A switched channel connects its own pixel (default: its channel number, as the device)
    values = [dict(v, channel=c, **({"pixel": v.get("pixel", c)} if switched else {}))
              for c, v in enumerate(channel_values, start=1)]
    procedures = {}
    for v in values:   # validate every channel before anything connects
        procedures[v["channel"]] = build_procedure(LifetimeProcedure, v)
    spec = str(station_spec or values[0].get("station", "sim"))
    roles = procedures[1].required_roles()
    router = _channel_router(procedures)
    if spec == "sim" or spec.startswith("sim:"):
        station = open_station("sim", roles=roles, on_event=router,
                               sim_options=_sim_options(values, overrides or {}))
    else:
        station = open_station(spec, roles=roles, on_event=router)
    engines = []
    try:
        if len(station.channels) < len(values):
            raise ValueError(f"channels = {len(values)} is out of range: the station has "
                             f"{len(station.channels)} lifetime channels, allowed 1 … "
                             f"{len(station.channels)}")
        fast = station.clock.time_scale if station.bench is not None else None
        if fast is not None and fast != 1.0:
            station.clock.time_scale = 1.0         # the L0 searches run on real time
        gate = StartGate(len(values), station.clock, fast)
        for c, v in enumerate(values, start=1):
            proc = build_procedure(LifetimeProcedure, v, station_object=station)
            proc._gate = gate
            procedures[c] = proc
            emit = None if on_emit is None else functools.partial(on_emit, c)
            tag = f"ch{c}" if len(values) > 1 else ""    # …_lifetime_ch2.h5, whatever order
            engines.append(_channel_engine(proc, out, flush_interval_s, emit, stop_event, tag))
        restore = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            def handler(signum, frame):
                for e in engines:
                    e.stop_signal = signum
                    e.stop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                restore[sig] = signal.signal(sig, handler)
        results = [None] * len(engines)

        def work(k):
            try:
                results[k] = engines[k].run(handle_signals=False)
            finally:
                engines[k].procedure._gate_leave()   # never hold the others

        threads = [threading.Thread(target=work, args=(k,), name=f"lifetime-ch{k + 1}",
                                    daemon=True) for k in range(len(engines))]
        try:
            for th in threads:
                th.start()
            if on_started is not None:
                on_started(procedures, station)
            while any(th.is_alive() for th in threads):
                for th in threads:
                    th.join(0.1)
        finally:
            for sig, h in restore.items():
                signal.signal(sig, h)
    finally:
        station.close()
    return results
