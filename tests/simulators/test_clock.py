import threading
import time

import pytest

from simulators.clock import ScaledClock


def test_scaled_time_and_sleep():
    clock = ScaledClock(time_scale=3600)
    t0, w0 = clock.time(), time.monotonic()
    clock.sleep(36.0)                       # 10 ms of wall time
    wall = time.monotonic() - w0
    assert 0.009 < wall < 0.5
    assert clock.time() - t0 == pytest.approx(wall * 3600, rel=0.2)


def test_scale_change_keeps_time_continuous_and_advance():
    clock = ScaledClock(1.0)
    before = clock.time()
    clock.time_scale = 10.0
    assert clock.time() - before < 0.5      # no jump when the scale changes
    clock.advance(100.0)
    assert clock.time() - before >= 100.0


def test_thread_safe_monotonic():
    clock = ScaledClock(1000)
    bad = []

    def worker():
        last = clock.time()
        for _ in range(2000):
            now = clock.time()
            if now < last:
                bad.append((last, now))
            last = now
    threads = [threading.Thread(target=worker) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not bad


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan")])
def test_bad_scale(bad):
    with pytest.raises(ValueError, match="time_scale"):
        ScaledClock(bad)
