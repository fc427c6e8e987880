import json
import math
import os
import threading

import pytest

from simulators.bench import Bench


def _fds():
    return len(os.listdir("/proc/self/fd"))


def test_clean_teardown_no_leaks():
    threads, fds = set(threading.enumerate()), _fds()
    with Bench(noise=False, channels=2) as bench:
        assert len(bench.channel_resources) == 2
        assert all(r.startswith("TCPIP::127.0.0.1::") for r in bench.channel_resources[1].values())
        assert len(set(threading.enumerate()) - threads) >= 7
        meter_path = bench.resources["spectroradiometer"]
        assert os.path.islink(meter_path)          # a stable path, kept across re-plugs
    assert set(threading.enumerate()) == threads
    assert _fds() == fds
    assert not os.path.exists(os.path.dirname(meter_path))   # the bench's folder is gone


def test_truth_is_json_and_select_pixel(make_bench):
    bench = make_bench(channels=1)
    truth = json.loads(json.dumps(bench.truth()))
    assert truth["photodiode"]["sin2_alpha"] == pytest.approx(25 / 425)
    assert truth["bench"]["noise"] is False
    with pytest.raises(ValueError, match="index"):
        bench.select_pixel(5)
    with pytest.raises(ValueError, match="photodiode"):
        Bench(photodiode="camera")


def test_ageing_on_scaled_clock(make_bench):
    bench = make_bench(time_scale=36000, serial_meters=False)
    pixel = bench.selected_pixel
    pixel.apply("CURR", 1e-3, 10.0, True)
    l0 = pixel.luminance_cd_m2()
    bench.clock.sleep(3600.0)          # one simulated hour, 0.1 s wall
    assert pixel.luminance_cd_m2() < 0.9 * l0


# -- lazy ageing: exact to AGEING_LAG_TOLERANCE, and cheap when nothing ages ------------------
from simulators.bench import AGEING_LAG_TOLERANCE, Pixel, make_device  # noqa: E402
from simulators.clock import ScaledClock  # noqa: E402


def _frozen_pixel():
    """A pixel on a clock that only moves by advance() (1 simulated µs per wall second)."""
    clock = ScaledClock(1e-6)
    return Pixel(make_device("passivated"), clock), clock


def test_lazy_ageing_follows_the_closed_form_within_the_tolerance():
    pixel, clock = _frozen_pixel()
    dev = pixel.device
    steps = []
    real_age = dev.age
    dev.age = lambda dt, i, *tau: (steps.append(dt), real_age(dt, i, *tau))
    i_A = 1e-4                                   # current source: I stays constant
    l0 = float(dev.luminance_cd_m2(i_A, aged=False))
    tau = float(dev.lifetime_tau_s(l0))
    beta = dev.params.stretch_exponent
    pixel.apply("CURR", i_A, 10.0, True)
    worst, polls = 0.0, 7500
    for k in range(1, polls + 1):                # polls 2e-6 tau apart, to t = 0.015 tau
        clock.advance(2e-6 * tau)
        expected = l0 * math.exp(-(k * 2e-6) ** beta)     # L/L0 = exp[-(t/tau)^beta]
        worst = max(worst, abs(pixel.luminance_cd_m2() / expected - 1.0))
    assert pixel.luminance_cd_m2() < 0.95 * l0           # the decay is well under way
    # Lazy (about two polls per ageing step here), yet within the tolerance; deferring 10x more
    # stress would show up as a 10x larger error.
    assert len(steps) < polls / 2
    assert worst <= 1.05 * AGEING_LAG_TOLERANCE


def test_lazy_ageing_matches_the_device_aged_in_one_step():
    pixel, clock = _frozen_pixel()
    ref = make_device("passivated")
    pixel.apply("CURR", 2e-3, 10.0, True)
    for _ in range(1000):
        clock.advance(1.0)
        pixel.current_A                                    # polling, as instruments do
    pixel.apply("CURR", 0.0, 10.0, False)                  # a new drive state flushes the rest
    ref.age(1000.0, 2e-3)
    assert pixel.device.equivalent_age == pytest.approx(ref.equivalent_age, rel=1e-9)


def test_dim_fixed_level_polling_needs_no_ageing_step():
    pixel, clock = _frozen_pixel()
    calls = []
    real_age = pixel.device.age
    pixel.device.age = lambda dt, i, *tau: (calls.append(dt), real_age(dt, i, *tau))
    pixel.apply("VOLT", 1.0, 0.1, True)                    # below turn-on: tau ~ 1e13 s
    for _ in range(5000):
        clock.advance(2.0)
        pixel.apply("VOLT", 1.0, 0.1, True)
    assert calls == []
    assert pixel.ageing_lag() < AGEING_LAG_TOLERANCE
    pixel.apply("VOLT", 3.0, 0.1, True)                    # the new state books the 1e4 s
    assert calls == [pytest.approx(1e4)]

