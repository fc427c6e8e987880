"""Outputs off at interpreter exit: a weak registry of every open source.

Role adapters that can drive a device (SMU outputs, LCR DC bias) register themselves on
creation; :func:`all_outputs_off` is installed with :mod:`atexit` and switches each one off,
so a script that dies on an unhandled exception or simply returns does not leave a pixel
biased. Pixel switches register too: their relays are opened after the outputs are off. Weak references keep the registry from holding closed instruments alive.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref

log = logging.getLogger(__name__)

_open_sources: "weakref.WeakSet" = weakref.WeakSet()
_open_switches: "weakref.WeakSet" = weakref.WeakSet()
_lock = threading.Lock()


def _run_first_at_exit() -> None:
    """(Re-)install :func:`all_outputs_off` as the newest exit handler: ``atexit`` runs the
    newest first, and pyvisa registers its own handler, which closes every session, when its
    first resource opens — after this module was imported. Without this the outputs would be
    switched off through closed sessions (InvalidSession) and stay on."""
    atexit.unregister(all_outputs_off)
    atexit.register(all_outputs_off)


def register_source(source) -> None:
    """Remember ``source`` (an object with ``output_off()``) until it is closed or collected."""
    with _lock:
        _open_sources.add(source)
    _run_first_at_exit()


def unregister_source(source) -> None:
    with _lock:
        _open_sources.discard(source)


def open_sources() -> list:
    """The sources currently registered (a snapshot)."""
    with _lock:
        return list(_open_sources)


def register_switch(switch) -> None:
    """Remember a pixel switch (an object with ``open_all()``): its relays are opened at exit,
    after every output is off."""
    with _lock:
        _open_switches.add(switch)
    _run_first_at_exit()


def unregister_switch(switch) -> None:
    with _lock:
        _open_switches.discard(switch)


def open_switches() -> list:
    with _lock:
        return list(_open_switches)


def all_outputs_off() -> int:
    """Call ``output_off()`` on every registered source, then ``open_all()`` on every
    registered switch (relays move only with the outputs off); return how many sources
    were switched off.

    Errors are logged, never raised: this runs at exit, when one dead link must not stop the
    other outputs from being switched off.
    """
    done = 0
    for source in open_sources():
        try:
            source.output_off()
            done += 1
        except Exception as exc:  # noqa: BLE001 - best effort at exit, logged
            log.error("could not switch off %r at exit: %s", source, exc)
    for switch in open_switches():
        try:
            switch.open_all()
        except Exception as exc:  # noqa: BLE001 - best effort at exit, logged
            log.error("could not open the relays of %r at exit: %s", switch, exc)
    return done


atexit.register(all_outputs_off)
