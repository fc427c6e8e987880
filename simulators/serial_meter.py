"""What the simulated serial meters share: a byte-stream handler measuring on a scaled clock.

:class:`SerialMeter` is the base of :mod:`simulators.cs2000` and :mod:`simulators.pr655`: a
handler for :class:`simulators.serial_pty.PtyServer` that buffers bytes into commands,
schedules replies on the bench's scaled clock (a measurement takes its integration time) and
applies the bench's faults (hang-up, garbled replies, over-range).
"""
from __future__ import annotations

import struct
import threading
import time as _wall
from collections import deque
from typing import Any, Callable

import numpy as np

from .faults import garble as _garble
from .serial_pty import HangUp

__all__ = ["SerialMeter", "hex32"]


class SerialMeter:
    """Byte-stream plumbing shared by the meters (see PtyServer's handler protocol)."""

    #: Role name used in fault plans.
    role = "spectroradiometer"

    def __init__(self, source: Any, clock: Any, faults: Any = None, noise: Any = None):
        if not callable(getattr(source, "spectral_radiance_W_sr_m2_nm", None)):
            raise ValueError("source must have spectral_radiance_W_sr_m2_nm(wavelength_nm)")
        self.source = source
        self.clock = clock
        self.faults = faults
        self.noise = noise
        self._buf = bytearray()
        # FIFO of (not_before_wall_s, bytes): a delayed reply holds back later ones.
        self._out: deque[tuple[float, bytes]] = deque()
        self._last_due = 0.0
        self._actions = None
        self.commands_received = 0
        #: Held while the serving thread handles bytes and while a test presses a key.
        self.lock = threading.RLock()

    # -- PtyServer handler protocol ----------------------------------------
    def feed(self, data: bytes, write: Callable[[bytes], None]) -> None:
        with self.lock:
            self._receive(data)
            self._update()
            self._process()
            self._flush(write)

    def poll(self, write: Callable[[bytes], None]) -> None:
        with self.lock:
            self._update()
            self._process()
            self._flush(write)

    def next_event_s(self) -> float | None:
        waits = []
        if self._out:
            waits.append(self._out[0][0] - _wall.monotonic())
        t = self._pending_sim_s()
        if t is not None:
            waits.append((t - self.clock.time()) / self.clock.time_scale)
        return max(0.0, min(waits)) if waits else None

    def connection_reset(self) -> None:
        with self.lock:
            self._buf.clear()
            self._out.clear()

    # -- for subclasses -----------------------------------------------------
    def _receive(self, data: bytes) -> None:
        """Take bytes from the line (a subclass may drop them while the meter is deaf)."""
        self._update()
        self._buf += data

    def _pending_sim_s(self) -> float | None:
        """Simulated time of the next internal event (measurement completion)."""
        return None

    def _update(self) -> None:
        """Complete what is due on the simulated clock (emits completion replies)."""

    def _process(self) -> None:
        raise NotImplementedError

    def _error_reply(self, code: int) -> bytes:
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------
    def _emit(self, reply: bytes, delay_s: float = 0.0) -> None:
        due = max(_wall.monotonic() + delay_s, self._last_due)
        self._last_due = due
        self._out.append((due, reply))

    def _flush(self, write: Callable[[bytes], None]) -> None:
        now = _wall.monotonic()
        while self._out and self._out[0][0] <= now:
            write(self._out.popleft()[1])

    def _dispatch(self, command: str, handle: Callable[[str], bytes | None], term: bytes) -> None:
        """Run one command through the fault plan and the instrument."""
        self.commands_received += 1
        actions = self.faults.on_command(self.clock.time()) if self.faults is not None else None
        if actions is not None and actions.drop:
            raise HangUp(f"{self.role}: drop fault at command {self.commands_received}")
        self._actions = actions
        reply = handle(command)
        if reply is not None:
            self._emit_with(reply, actions, term)

    def _emit_with(self, reply: bytes, actions: Any, term: bytes) -> None:
        """Queue a reply after applying a command's fault actions (error, garble, delay)."""
        if actions:
            if actions.errors:
                reply = self._error_reply(actions.errors[0][0]) + term
            if actions.garble:
                reply = _garble(reply, term)
        self._emit(reply, actions.delay_s if actions else 0.0)

    def _over_range_fault(self) -> bool:
        return self.faults is not None and self.faults.active("over_range", self.clock.time())

    def _state_fault(self, kind: str):
        """The active state fault of ``kind`` (``calc_error``, ``meter_error``) or None."""
        if self.faults is None:
            return None
        return self.faults.active_fault(kind, self.clock.time())

    def _sample(self, wavelength_nm: np.ndarray) -> np.ndarray:
        spectrum = np.asarray(self.source.spectral_radiance_W_sr_m2_nm(wavelength_nm), dtype=float)
        if spectrum.shape != wavelength_nm.shape:
            raise ValueError(f"source returned {spectrum.shape} values for {wavelength_nm.size} wavelengths")
        if self.noise is not None:
            spectrum = np.asarray(self.noise.apply(spectrum, "spectrum"), dtype=float)
        return spectrum


def hex32(value: float) -> str:
    return struct.pack(">f", value).hex().upper()

