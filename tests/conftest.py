"""Shared fixtures: simulated benches, torn down after each test."""
from __future__ import annotations

import pytest

from simulators.bench import Bench


@pytest.fixture
def make_bench():
    """Factory ``make_bench(**kwargs) -> Bench`` (started); every bench is closed afterwards."""
    benches = []

    def make(**kwargs):
        kwargs.setdefault("noise", False)
        bench = Bench(**kwargs).start()
        benches.append(bench)
        return bench

    yield make
    for bench in benches:
        bench.close()


@pytest.fixture
def bench(make_bench):
    """A default single-channel bench with zero noise."""
    return make_bench()



@pytest.fixture(autouse=True, scope="session")
def _resource_lock_dir(tmp_path_factory):
    """Resource locks of the tests (and of their child processes) in a folder of their own."""
    import os

    folder = tmp_path_factory.mktemp("resource-locks")
    old = os.environ.get("QLED_LOCK_DIR")
    os.environ["QLED_LOCK_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("QLED_LOCK_DIR", None)
    else:
        os.environ["QLED_LOCK_DIR"] = old
