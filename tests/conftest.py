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

