import json
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
    assert set(threading.enumerate()) == threads
    assert _fds() == fds


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
