"""Property-based fuzzing of the station-config loader (``instruments.station``).

Any mapping or any bytes → a validated config or ``StationConfigError`` with one line per
problem; never another exception, and nothing connects.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instruments.station_config import (DRIVERS, ROLES, StationConfigError, load_config,
                                        validate_config)

pytestmark = pytest.mark.reliability

FUZZ = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

KEYS = ["driver", "resource", "timeout_ms", "read_termination", "write_termination", "retries",
        "backoff_s", "baud_rate", "rtscts", "spectrum", "radius_mm", "distance_mm",
        "responsivity", "polarity", "nplc", "compliance_A", "option_001", "bias_source",
        "external_bias_compliance_A", "name", "simulated", "time_scale", "smu", "photodiode"]
RESOURCES = ["GPIB0::24::INSTR", "TCPIP::127.0.0.1::5025::SOCKET", "TCPIP::10.0.0.7::INSTR",
             "ASRL/dev/ttyUSB0::INSTR", "/dev/ttyUSB0", "COM3", "", "::", "GPIB0::x::INSTR",
             "TCPIP::host::99999::SOCKET", "sim", "\x00", "USB0::0x05E6::0x2450::1::INSTR"]
DRIVER_NAMES = sorted({d for ds in DRIVERS.values() for d in ds}) + ["", "keithley", "E4980A"]

scalars = st.one_of(
    st.sampled_from(RESOURCES + DRIVER_NAMES + ["si_default", "internal", "smu", "external"]),
    st.text(max_size=20), st.booleans(), st.none(),
    st.integers(min_value=-10 ** 20, max_value=10 ** 20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0, -1, 1e-3, 115200, 10 ** 400]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)),
    max_leaves=12)
tables = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), values, max_size=8)
configs = st.dictionaries(
    st.sampled_from(list(ROLES) + ["station", "channel", "smu2", ""]) | st.text(max_size=8),
    st.one_of(tables, st.lists(st.one_of(tables, values), max_size=3), values), max_size=6)
role_requests = st.lists(st.sampled_from(list(ROLES) + ["channel", "nonsense"]), max_size=3)


def _check_error(exc: StationConfigError):
    assert exc.errors, "a StationConfigError without a problem listed"
    for line in exc.errors:
        assert isinstance(line, str) and line and "\n" not in line, repr(line)


@FUZZ
@given(configs, role_requests)
def test_any_mapping_is_validated_or_refused_line_by_line(data, roles):
    try:
        out = validate_config(data, roles=roles)
    except StationConfigError as exc:
        _check_error(exc)
        return
    # accepted: every role asked for is there with a known driver and a resource
    for role in roles:
        if role == "channel":
            assert out["channel"]
        else:
            assert out[role]["driver"] in DRIVERS[role]
            assert isinstance(out[role]["resource"], str)


VALID = b"""[station]
name = "lab"
[smu]
driver = "keithley2400"
resource = "GPIB0::24::INSTR"
timeout_ms = 5000
[photodiode]
driver = "keithley6485"
resource = "GPIB0::14::INSTR"
radius_mm = 5.0
distance_mm = 20.0
[[channel]]
smu = { driver = "keithley2400", resource = "GPIB0::25::INSTR" }
"""


def test_the_valid_example_loads(tmp_path):
    path = tmp_path / "station.toml"
    path.write_bytes(VALID)
    config = load_config(path, roles=("smu", "photodiode", "channel"))
    assert config["smu"]["timeout_ms"] == 5000 and len(config["channel"]) == 1


@FUZZ
@given(st.one_of(
    st.binary(max_size=400),
    st.tuples(st.integers(0, len(VALID) - 1), st.binary(min_size=1, max_size=8)).map(
        lambda t: VALID[:t[0]] + t[1] + VALID[t[0] + len(t[1]):]),          # overwrite bytes
    st.integers(0, len(VALID)).map(lambda n: VALID[:n]),                     # truncate
))
def test_any_file_bytes_load_or_fail_line_by_line(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("cfg") / "station.toml"
    path.write_bytes(blob)
    try:
        load_config(path, roles=("smu",))
    except StationConfigError as exc:
        _check_error(exc)
