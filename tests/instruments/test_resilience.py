"""Reconnection with the bench's fault injection: drop, delay past timeout, garble, error."""

import pytest

from instruments.keithley2400 import Keithley2400SourceMeter
from instruments.konica_minolta import CS2000LightMeter
from instruments.resilience import InstrumentConnectionError, ResilientLink
from instruments.roles import InstrumentError
from simulators.faults import Fault


def _smu(bench, events, **kw):
    return Keithley2400SourceMeter.open(bench.resources["smu"], timeout_ms=kw.pop("timeout_ms", 500),
                                        on_event=lambda lvl, msg: events.append((lvl, msg)),
                                        backoff_s=0.01, **kw)


def link_events(events):
    """The link's reconnect events (output on/off read-backs are events too, left out here)."""
    return [e for e in events if ": output " not in e[1]]


# Connect = 2 commands (FORMAT, *IDN?); configure = 5 (4 settings + SYST:ERR?);
# output on = 2 (OUTPUT 1, OUTPUT? read-back); so command 10 is the first point.
@pytest.mark.parametrize("fault", [
    Fault("drop", instrument="smu", at_command=10),
    Fault("delay", instrument="smu", at_command=10, delay_s=1.0),
    Fault("garble", instrument="smu", at_command=10),
])
def test_smu_reconnects_restores_settings_and_repeats_the_point(make_bench, fault):
    bench = make_bench(faults=[fault], time_scale=50.0)
    events = []
    with _smu(bench, events) as smu:
        smu.configure_voltage_source(compliance_A=0.005, nplc=0.5)
        smu.output_on()
        point = smu.source_voltage_and_measure(3.0)
        inst = bench.instrument("smu")
        # Restored on the new connection: function, compliance, NPLC, level, output.
        assert inst.output is True and inst.compliance_A == pytest.approx(0.005)
        assert inst.source_voltage == pytest.approx(3.0)
    assert point.current_A == pytest.approx(float(bench.pixels[0].device.current_A(3.0)),
                                            rel=1e-3)
    events = link_events(events)
    levels = [lvl for lvl, _ in events]
    assert levels[0] == "warning" and "reconnect attempt 1/3" in events[0][1]
    assert levels[-1] == "info" and "settings restored" in events[-1][1]
    assert inst.output is False                                    # closed → output off


def test_smu_gives_up_after_the_bound_with_a_clear_error(make_bench):
    bench = make_bench(faults=[Fault("drop", instrument="smu", at_command=10, count=1000)],
                       time_scale=50.0)
    events = []
    smu = _smu(bench, events, retries=2)
    smu.configure_voltage_source(compliance_A=0.005)
    smu.output_on()
    with pytest.raises(InstrumentConnectionError, match=r"smu: gave up after 2 reconnect attempts"):
        smu.source_voltage_and_measure(3.0)
    assert [lvl for lvl, _ in link_events(events)] == ["warning", "warning", "error"]
    smu.output = False
    smu.compliance = None
    smu.close()


def test_error_queue_entry_is_reported_not_retried(make_bench):
    bench = make_bench(faults=[Fault("error", instrument="smu", at_command=4, code=-222,
                                     message="Data out of range")])
    events = []
    with _smu(bench, events) as smu:
        with pytest.raises(InstrumentError, match='-222, Data out of range'):
            smu.configure_voltage_source(compliance_A=0.005)
    assert link_events(events) == []       # no reconnect: an error entry is not retried


@pytest.mark.parametrize("kind", ["garble", "delay"])
def test_cs2000_reconnects_after_a_bad_or_late_reply(make_bench, kind):
    # Command 6 is the first MEDR of the first measurement (connect: RMTS,2 MSWE,0 STSR IDDR).
    fault = Fault(kind, instrument="spectroradiometer", at_command=6, delay_s=1.0)
    bench = make_bench(faults=[fault], time_scale=50.0)
    bench.pixels[0].apply("VOLT", 3.3, 0.05, True)
    events = []
    with CS2000LightMeter.open(bench.resources["spectroradiometer"], timeout_ms=500,
                               backoff_s=0.05,
                               on_event=lambda lvl, msg: events.append((lvl, msg))) as meter:
        reading = meter.measure()
    assert reading.luminance_cd_m2 == pytest.approx(bench.pixels[0].luminance_cd_m2(), rel=0.01)
    assert any("reconnected" in msg for _, msg in events)


@pytest.mark.parametrize("speed, limit_s, upper_s", [("fast", 17.0, 240.0),
                                                     ("normal", 241.0, 741.0)])
def test_cs2000_speed_mode_caps_the_dark_measuring_time(make_bench, speed, limit_s, upper_s):
    # Dark pixel (output off): the integration time runs to the mode's maximum, 8 s in fast
    # and 120 s in normal mode; a measurement takes 1 s + 2 * t_int (light and dark frame).
    bench = make_bench(time_scale=1000.0)
    with CS2000LightMeter.open(bench.resources["spectroradiometer"], speed=speed) as meter:
        t0 = bench.clock.time()
        estimate_s = meter.driver.measure()
        elapsed_s = bench.clock.time() - t0
        assert meter.driver.speed_mode()[0] == {"fast": 1, "normal": 0}[speed]
    assert estimate_s == limit_s
    # Waited on the simulated clock; fast mode stays far below normal mode's 241 s (the upper
    # bounds leave >= 0.2 s of wall-clock slack for a loaded machine).
    assert limit_s <= elapsed_s < upper_s


def test_dropped_cs2000_recovers_mid_sequence_behind_the_same_path(make_bench):
    # Command 8 is the second spectral block of the first measurement (connect: RMTS,2
    # MSWE,0 STSR IDDR; then MEAS,1, MEDR colorimetry, block 1): the line hangs up
    # there, the bench serves the meter again 0.1 s later behind the same path, the driver
    # reopens it (back-off 0.1, 0.2, 0.4 … s leaves ample time) and repeats the measurement.
    bench = make_bench(faults=[Fault("drop", instrument="spectroradiometer", at_command=8)],
                       time_scale=200.0)
    path = bench.resources["spectroradiometer"]
    server = bench._channels[0].servers["spectroradiometer"]
    events = []
    levels = (3.0, 3.3, 3.6)
    readings, truths = [], []
    with CS2000LightMeter.open(path, timeout_ms=1000, backoff_s=0.1, retries=4,
                               on_event=lambda lvl, msg: events.append((lvl, msg))) as meter:
        for v in levels:
            bench.pixels[0].apply("VOLT", v, 0.05, True)
            readings.append(meter.measure())
            truths.append(bench.pixels[0].luminance_cd_m2())
        assert meter._link.reconnects == 1
    assert server.restarts == 1 and bench.resources["spectroradiometer"] == path
    # under load an attempt may come before the 0.1 s re-plug: then more warnings, one each
    events = link_events(events)
    levels = [lvl for lvl, _ in events]
    assert levels[-1] == "info" and "reconnected" in events[-1][1]
    assert 1 <= len(levels) - 1 <= 4 and set(levels[:-1]) == {"warning"}
    assert "reconnect attempt 1/4" in events[0][1]
    for reading, truth in zip(readings, truths):
        assert reading.spectral_radiance_W_sr_m2_nm.size == 401
        assert reading.luminance_cd_m2 == pytest.approx(truth, rel=0.01)


def test_cs2000_unplugged_gives_up_naming_the_port(make_bench):
    # serial_restart_s=None: the bench does not re-serve the hung-up pty, like a meter
    # whose cable was pulled for good; its path is gone.
    # Command 5 is the first of the first measurement (connect: RMTS,2 MSWE,0 STSR IDDR).
    bench = make_bench(faults=[Fault("drop", instrument="spectroradiometer", at_command=5)],
                       time_scale=50.0, serial_restart_s=None)
    meter = CS2000LightMeter.open(bench.resources["spectroradiometer"], timeout_ms=300,
                                  backoff_s=0.01, retries=2)
    with pytest.raises(InstrumentConnectionError, match="light_meter: gave up after 2 reconnect "
                                                        "attempts .*could not open port"):
        meter.measure()
    meter.close()


def test_backoff_is_exponential_and_bounded():
    waits, attempts = [], []

    def reopen():
        attempts.append(1)
        raise ConnectionRefusedError("refused")

    def failing(driver):
        raise TimeoutError("silent")

    link = ResilientLink("x", object(), reopen=reopen, retries=4, backoff_s=0.1,
                         max_backoff_s=0.25, sleep=waits.append)
    with pytest.raises(InstrumentConnectionError, match="gave up after 4 reconnect attempts "
                                                        r"\(last error: ConnectionRefusedError"):
        link.call(failing)
    assert waits == [0.1, 0.2, 0.25, 0.25] and len(attempts) == 4


def test_validation_errors_are_never_retried():
    link = ResilientLink("x", object(), reopen=lambda: object(), sleep=lambda s: None)

    def bad(driver):
        raise ValueError("voltage_V = 300 is out of range")

    with pytest.raises(ValueError):
        link.call(bad)
    assert link.reconnects == 0
