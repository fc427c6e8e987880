"""Abort from the GUI thread: switch the outputs off at once, serialised with the run.

PyMeasure aborts are cooperative (the run stops between steps); the window also switches
every output off from the GUI thread. :func:`serialise_station` gives each instrument link a
lock held for a whole exchange, so the worker thread and :func:`outputs_off_now` never
interleave commands and replies on one connection.
"""
from __future__ import annotations

import logging
import threading

__all__ = ["serialise_station", "outputs_off_now", "ABORT_LOCK_TIMEOUT_S"]

log = logging.getLogger(__name__)

#: Longest wait of the abort handler for an instrument link busy with a step [s].
ABORT_LOCK_TIMEOUT_S = 0.5


def _sources_of(station):
    for role in ("smu", "light_meter", "photodiode", "lcr"):
        obj = getattr(station, role, None)
        if obj is not None:
            yield obj
    for ch in getattr(station, "channels", None) or ():
        for role in ("smu", "photodiode"):
            obj = getattr(ch, role, None)
            if obj is not None:
                yield obj


def _links_of(station):
    seen = set()
    for obj in _sources_of(station):
        link = getattr(obj, "_link", None)
        if link is not None and callable(getattr(link, "call", None)) and id(link) not in seen:
            seen.add(id(link))
            yield link


def serialise_station(station) -> int:
    """Give each instrument link of ``station`` a lock held for the whole of every exchange.

    The worker thread and the abort handler (GUI thread) may then both talk to one
    instrument without interleaving commands and replies. A link that already has a
    ``lock`` attribute is left alone. Returns the number of links now locked.
    """
    n = 0
    for link in _links_of(station):
        if getattr(link, "lock", None) is None:
            link.call = _locked(link.call, lock := threading.RLock())
            link.lock = lock
        n += 1
    return n


def _locked(call, lock):
    """``call`` (any signature) run while holding ``lock``."""
    def locked_call(*args, **kwargs):
        with lock:
            return call(*args, **kwargs)
    return locked_call


def outputs_off_now(procedure, timeout_s: float = ABORT_LOCK_TIMEOUT_S) -> bool:
    """Call ``procedure.outputs_off()`` from another thread than the run's.

    Waits at most ``timeout_s`` for each instrument link to finish the exchange under
    way; returns False (and leaves it to the procedure's ``shutdown``) if one stays busy,
    e.g. during a hardware sweep.
    """
    station = getattr(procedure, "instruments", None)
    if station is None:
        return False
    locks = [link.lock for link in _links_of(station) if getattr(link, "lock", None)]
    held = []
    try:
        for lock in locks:
            if not lock.acquire(timeout=timeout_s):
                log.warning("abort: an instrument is busy with a step; its output goes off "
                            "when the step ends")
                return False
            held.append(lock)
        procedure.outputs_off()
        return True
    except Exception as exc:  # noqa: BLE001 - a closed station: shutdown did it already
        log.warning("abort: outputs off from the abort handler failed: %s", exc)
        return False
    finally:
        for lock in reversed(held):
            lock.release()


# -------------------------------------------------------------------- results / worker
