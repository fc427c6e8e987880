"""measure_dark_current_A on both photodiode readers (a 2400 at 0 V, a 6485) over their real
transports, against the simulated detector's dark current (truth), with the LED off."""
from __future__ import annotations

import numpy as np
import pytest

from instruments.photodiode import dark_current_of
from instruments.roles import DarkCurrent, PhotodiodeMeter
from instruments.station import open_station


@pytest.mark.parametrize("reader", ["smu", "6485"])
def test_dark_current_reads_the_simulated_dark_truth(reader):
    options = dict(noise=False, photodiode=reader, time_scale=3600.0,
                   photodiode_dark_current_A=5e-11, photodiode_dark_drift_A_per_h=1e-11)
    with open_station("sim", roles=("smu", "photodiode"), sim_options=options) as st:
        assert isinstance(st.photodiode, PhotodiodeMeter)
        st.smu.output_off()
        load = st.bench._channels[0].photodiode_load
        t0 = st.bench.clock.time()
        dark = st.photodiode.measure_dark_current_A(5)
        t1 = st.bench.clock.time()
        assert isinstance(dark, DarkCurrent) and dark.n == 5
        # noise off: the mean is the true dark current over the readings' span, in A
        assert load.dark_current_A(t0) <= dark.current_A <= load.dark_current_A(t1)
        assert dark.current_A == pytest.approx(5e-11 + 1e-11 * t0 / 3600, rel=1e-3)
        assert dark.std_A < 1e-11 * (t1 - t0) / 3600 + 1e-15
        assert not any(driven for _, driven, _ in list(load.history)[-5:])
        truth = st.bench.truth()["photodiode"]
        assert truth["dark_current_A"] == 5e-11 and truth["dark_drift_A_per_h"] == 1e-11


def test_dark_current_of_is_mean_and_sample_std():
    values = iter([1.0, 2.0, 4.0])
    d = dark_current_of(lambda: next(values), 3)
    assert d.current_A == pytest.approx(7 / 3) and d.std_A == pytest.approx(np.std([1, 2, 4], ddof=1))
    assert dark_current_of(lambda: 3.0, 1) == DarkCurrent(3.0, 0.0, 1)
    with pytest.raises(ValueError, match="n = 0 is out of range"):
        dark_current_of(lambda: 0.0, 0)
