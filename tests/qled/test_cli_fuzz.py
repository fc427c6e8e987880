"""Bad input never gets past the door (issue 18): hostile values for every numeric parameter
of every kind, and derived requests the station cannot honour, give one line, exit code 2, no
file and no output switched on."""
from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymeasure.experiment import FloatParameter, IntegerParameter

from instruments.keithley_sourcemeter import KeithleySourceMeter
from qled.cli import main
from qled.kinds import kinds

#: Required parameters a kind refuses to run without (given valid values in every call).
REQUIRED = {"lifetime": ["--current-density-mA-cm2", "2"], "dlcp": ["--eps-r", "25"],
            "cv": ["--eps-r", "25"],
            "sclc": ["--thickness-nm", "50", "--eps-r", "25", "--device-type", "electron-only"]}
STATIONS = {"sclc": "sim:electron_only", "pl-stability": "sim:pl_pristine"}

NUMERIC = [(name, param_name, p)
           for name, kind in kinds().items() if name in ("jvl", "lifetime", "dlcp", "cv",
                                                          "sclc", "pl-stability")
           for param_name, p in kind.procedure().parameter_objects().items()
           if isinstance(p, (FloatParameter, IntegerParameter))]

HOSTILE_TEXT = ["nan", "NaN", "inf", "-inf", "+inf", "1e400", "-1e400", "abc", "", " ",
                "0x10", "1,5", "1..2", "1e", "--1", "½", "1e308e", "None", "[1]"]


@pytest.fixture
def sourced(monkeypatch):
    calls = []
    original = KeithleySourceMeter.output_on

    def spy(self):
        if "photodiode" not in self.name:    # a photodiode SMU is a meter at 0 V, not a source
            calls.append(self.name)
        return original(self)

    monkeypatch.setattr(KeithleySourceMeter, "output_on", spy)
    return calls


def _out_of_range(p):
    lo, hi = float(p.minimum), float(p.maximum)
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).filter(
            lambda x: not (lo <= x <= hi)).map(repr),
        st.sampled_from(HOSTILE_TEXT))


@st.composite
def hostile_call(draw):
    kind, name, p = draw(st.sampled_from(NUMERIC))
    value = draw(_out_of_range(p))
    return kind, name, value


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=hostile_call())
def test_hostile_values_are_one_line_exit_2_no_file_nothing_sourced(call, tmp_path_factory,
                                                                     capsys, sourced):
    kind, name, value = call
    out = tmp_path_factory.mktemp("out")
    argv = ["run", kind, "--station", STATIONS.get(kind, "sim"), "--out", str(out),
            *REQUIRED.get(kind, []), f"--{name.replace('_', '-')}={value}"]
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, (argv, err)
    assert len(lines) == 1 and lines[0].startswith("qled"), (argv, err)
    assert "Traceback" not in err
    assert name.replace("_", "-") in lines[0] or name in lines[0], (argv, err)
    assert not any(out.iterdir()), (argv, list(out.iterdir()))
    assert not sourced


#: Values within each parameter's own range that the station cannot honour (derived checks,
#: refused after the station opens and before anything is recorded or sourced).
DERIVED = [
    ("lifetime", ["--current-density-mA-cm2", "1000", "--area-cm2", "10"],
     "current_density_mA_cm2 (at area_cm2 = 10) = 1000 is out of range"),
    ("lifetime", ["--l0-cd-m2", "1000", "--current-density-mA-cm2", "0",
                  "--max-search-current-density-mA-cm2", "5000", "--area-cm2", "5"],
     "max_search_current_density_mA_cm2 (at area_cm2 = 5) = 5000 is out of range"),
    ("lifetime", ["--current-density-mA-cm2", "2", "--channels", "0"],
     "--channels = 0 is out of range"),
    ("lifetime", ["--current-density-mA-cm2", "2", "--channels", "65"],
     "--channels = 65 is out of range"),
    ("lifetime", ["--current-density-mA-cm2", "2", "--channel", "2"],
     "--channel = 2 is not allowed with qled run lifetime"),
]


@pytest.mark.parametrize("kind, args, message", DERIVED)
def test_derived_requests_are_checked_before_anything_is_recorded(kind, args, message, tmp_path,
                                                                   capsys, sourced):
    code = main(["run", kind, "--station", "sim", "--out", str(tmp_path), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert not list(tmp_path.glob("*.h5"))
    assert not sourced


def test_nan_is_refused_by_name_for_every_numeric_parameter():
    from procedures.base import build_procedure

    for kind, name, p in NUMERIC:
        cls = kinds()[kind].procedure
        with pytest.raises(ValueError, match=rf"^{name} = .*nan.* is not accepted"):
            build_procedure(cls, {name: math.nan})
