"""Reconnect on a broken or silent link: bounded retries, exponential back-off, restored state.

A :class:`ResilientLink` owns one driver. Every exchange goes through :meth:`ResilientLink.call`;
on a transport error (VISA timeout, connection reset, serial failure, garbled reply) it closes
the resource, waits ``backoff_s · 2^k`` (capped), reopens it, lets the role adapter restore its
settings (source function, compliance, level, NPLC, output state …) and repeats the exchange.
Each attempt is reported through ``on_event(level, message)`` so a procedure can log it in the
run's ``/events``. It gives up (:class:`InstrumentConnectionError`) after ``retries`` failed
attempts and, under a :class:`ReconnectPolicy` with a ride-out time, not before that much
station-clock time has passed since the link broke: a sweep keeps a short policy (a dead
instrument ends it in seconds), an unattended lifetime log rides out a minute of outage.

Only exchanges that are safe to repeat are routed through ``call`` (setting a level, reading a
point, fetching a spectrum); validation errors (``ValueError``) are never retried.

Each link holds ``lock`` (a re-entrant lock) for the whole of every ``call``, reconnection
included: the run's thread and an abort from the GUI thread may share one instrument, and a
command of one must never land between the command and the reply of the other.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Generic, Optional, TypeVar

from .transport import TRANSPORT_ERRORS

log = logging.getLogger(__name__)

D = TypeVar("D")
T = TypeVar("T")

EventCallback = Callable[[str, str], None]


class InstrumentConnectionError(ConnectionError):
    """The link to an instrument could not be restored within the retry bound."""


@dataclass(frozen=True)
class ReconnectPolicy:
    """How long a broken link is retried before the run gives up on the instrument.

    Attempts wait ``first_backoff_s · 2^k`` (at most ``max_backoff_s``) and go on until
    ``ride_out_s`` of station-clock time has passed since the link broke, with at least
    ``min_attempts`` attempts. The clock is the station's (wall time on real hardware), so
    an outage of a simulated bench at ``time_scale`` K is ridden out in 1/K of the time.
    """

    ride_out_s: float
    first_backoff_s: float = 0.05
    max_backoff_s: float = 5.0
    min_attempts: int = 3
    #: Shortest wall-clock wait between attempts [s]: on an accelerated simulated clock the
    #: waits would otherwise shrink below the time a real socket needs to come back.
    wall_floor_s: float = 0.05

    def __post_init__(self):
        for name, lo, hi in (("ride_out_s", 0.0, 7 * 86400.0), ("first_backoff_s", 0.0, 60.0),
                             ("max_backoff_s", 0.0, 3600.0)):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value)
                    and lo <= value <= hi):
                raise ValueError(f"{name} = {value!r} is out of range: allowed {lo:g} … {hi:g} s")
        if not 0 <= self.min_attempts <= 100:
            raise ValueError(f"min_attempts = {self.min_attempts!r} is out of range: allowed "
                             "0 … 100")

    @classmethod
    def sweep(cls, ride_out_s: float = 2.0) -> "ReconnectPolicy":
        """For a sweep someone watches (J-V-L, SCLC, DLCP, C-V): a blip, not an outage."""
        return cls(ride_out_s, first_backoff_s=0.05, max_backoff_s=1.0, min_attempts=4)

    @classmethod
    def unattended(cls, ride_out_s: float = 60.0) -> "ReconnectPolicy":
        """For logs nobody watches (lifetime, PL stability): ride out a minute of outage."""
        return cls(ride_out_s, first_backoff_s=0.1, max_backoff_s=10.0)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ResilientLink(Generic[D]):
    """Run exchanges on a driver, reconnecting on transport errors.

    Parameters
    ----------
    name : str
        Role name used in messages (``"smu"``, ``"light_meter"`` …).
    driver : object
        The connected driver.
    reopen : callable, optional
        ``reopen() -> driver``; opens the resource again. Without it a transport error is not
        retried (e.g. a driver on a test ``ProtocolAdapter``).
    restore : callable, optional
        ``restore(driver)``; re-applies the settings after a reconnect.
    retries : int
        Reconnect attempts before giving up (≥ 0).
    backoff_s : float
        First wait before reconnecting [s]; doubles per attempt up to ``max_backoff_s``.
    on_event : callable, optional
        ``on_event(level, message)`` with level ``"warning"`` per attempt, ``"info"`` on
        success and ``"error"`` when giving up.
    sleep : callable
        Wait function (tests pass a fake; the station passes its clock's sleep).
    clock : object, optional
        ``time()`` and ``sleep(s)`` of the station (set by :meth:`set_policy`); the ride-out
        time of a policy is measured on it.
    """

    def __init__(self, name: str, driver: D, *, reopen: Optional[Callable[[], D]] = None,
                 restore: Optional[Callable[[D], None]] = None, retries: int = 3,
                 backoff_s: float = 0.05, max_backoff_s: float = 2.0,
                 on_event: Optional[EventCallback] = None,
                 sleep: Callable[[float], None] = time.sleep):
        if not 0 <= retries <= 100:
            raise ValueError(f"retries = {retries} is out of range: allowed 0 … 100")
        if not 0 <= backoff_s <= 60:
            raise ValueError(f"backoff_s = {backoff_s} is out of range: allowed 0 … 60 s")
        self.name = name
        self._reopen = reopen
        self.restore = restore
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.on_event = on_event
        self._sleep = sleep
        self._time = time.monotonic
        self.ride_out_s = 0.0
        self.reconnects = 0
        self.driver: D = driver
        #: Held for the whole of every :meth:`call` (re-entrant: ``fn`` may call again).
        self.lock = threading.RLock()

    def set_policy(self, policy: ReconnectPolicy, clock=None) -> None:
        """Retry as ``policy`` says, timing the ride-out on ``clock`` (default: wall time)."""
        self.retries = policy.min_attempts
        self.backoff_s = policy.first_backoff_s
        self.max_backoff_s = policy.max_backoff_s
        self.ride_out_s = policy.ride_out_s
        if clock is not None:
            floor = policy.wall_floor_s

            def sleep(seconds: float, _clock=clock) -> None:
                t0 = time.monotonic()
                _clock.sleep(seconds)
                rest = floor - (time.monotonic() - t0)
                if rest > 0:
                    time.sleep(rest)

            self._time, self._sleep = clock.time, sleep

    def _emit(self, level: str, message: str) -> None:
        getattr(log, level if level in ("info", "warning", "error") else "info")(message)
        if self.on_event is not None:
            try:
                self.on_event(level, message)
            except Exception:  # noqa: BLE001 - a faulty logger must not break recovery
                log.exception("on_event callback failed")

    def call(self, fn: Callable[..., T], *args) -> T:
        """Return ``fn(driver, *args)``, reconnecting and repeating it on transport errors.

        Holds :attr:`lock` throughout, so exchanges from different threads never interleave.
        """
        with self.lock:
            return self._call(fn, *args)

    def _call(self, fn: Callable[..., T], *args) -> T:
        attempt = 0
        broke_at = None
        while True:
            try:
                return fn(self.driver, *args)
            except TRANSPORT_ERRORS as exc:
                last = exc
            if self._reopen is None:
                message = f"{self.name}: {_describe(last)} (no reconnect configured)"
                self._emit("error", message)
                raise InstrumentConnectionError(message) from last
            if broke_at is None:
                broke_at = self._time()
            while True:
                attempt += 1
                down_s = self._time() - broke_at
                if attempt > self.retries and down_s >= self.ride_out_s:
                    over = f" over {down_s:.3g} s" if self.ride_out_s > 0 else ""
                    message = (f"{self.name}: gave up after {attempt - 1} reconnect attempts"
                               f"{over} (last error: {_describe(last)})")
                    self._emit("error", message)
                    raise InstrumentConnectionError(message) from last
                wait = min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s)
                if self.ride_out_s > 0:
                    wait = min(wait, max(0.0, self.ride_out_s - down_s)) or wait
                bound = (f"{self.retries}" if self.ride_out_s <= 0 else
                         f"{self.retries}+, riding out {self.ride_out_s:g} s")
                self._emit("warning", f"{self.name}: {_describe(last)}; reconnect attempt "
                                      f"{attempt}/{bound} in {wait:.3g} s")
                self._sleep(wait)
                try:
                    self.reconnect()
                    break
                except Exception as exc:  # noqa: BLE001 - pyvisa-py raises bare Exception on refusal
                    last = exc
            self._emit("info", f"{self.name}: reconnected and settings restored "
                               f"(attempt {attempt}, {self._time() - broke_at:.3g} s after the "
                               "link broke)")

    def reconnect(self) -> None:
        """Close the resource, open it again and restore the settings."""
        with self.lock:
            self.close_driver()
            self.driver = self._reopen()
            self.reconnects += 1
            if self.restore is not None:
                self.restore(self.driver)

    def close_driver(self) -> None:
        """Close the driver's connection, ignoring errors of an already broken link.

        Not under :attr:`lock`: closing must not wait for a hung exchange to time out.
        """
        adapter = getattr(self.driver, "adapter", None)
        try:
            if adapter is not None:
                adapter.close()
        except Exception:  # noqa: BLE001 - the link may already be gone
            pass
