"""GUI tests run offscreen (no display needed); every window and station is torn down."""
from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


def _python_threads():
    # Qt threads that ran Python code show up as _DummyThread forever; they are not leaks.
    return {t for t in threading.enumerate()
            if not isinstance(t, threading._DummyThread) and t is not threading.main_thread()}


@pytest.fixture
def no_leaked_threads():
    """Fails the test if it leaves a Python thread running."""
    before = _python_threads()
    yield
    leaked = [t for t in _python_threads() - before if t.is_alive()]
    for t in leaked:
        t.join(timeout=5)
    leaked = [t.name for t in leaked if t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"


@pytest.fixture
def sim_station():
    """``sim_station(procedure, time_scale=...)``: an open simulated station with the
    procedure's own device (noise off), closed after the test."""
    stations = []

    def make(procedure, time_scale=1e5, roles=None):
        from instruments.station import open_station

        options = procedure.simulated_bench_options("sim")
        options.update(time_scale=time_scale, noise=False)
        st = open_station("sim", roles=roles or procedure.required_roles(),
                          sim_options=options)
        stations.append(st)
        return st

    yield make
    for st in stations:
        st.close()
