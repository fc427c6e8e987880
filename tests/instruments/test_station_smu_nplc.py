"""``[smu] nplc`` in a station file: validated, passed to the source meter as its default
integration; a procedure's own ``nplc`` parameter wins (and the run's /events say so)."""
from __future__ import annotations

import pytest

from instruments.station import StationConfigError, load_config, open_station
from simulators.bench import Bench

SMU = '[smu]\ndriver = "keithley2400"\nresource = "GPIB0::24::INSTR"\n'


def test_smu_nplc_loads(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(SMU + "nplc = 1\n")
    assert load_config(path, roles=("smu",))["smu"]["nplc"] == 1
    path.write_text(SMU + "nplc = 0.01\n[[channel]]\nsmu = { driver = \"keithley2450\", "
                    "resource = \"GPIB0::25::INSTR\", nplc = 10 }\n")
    config = load_config(path, roles=("smu", "channel"))
    assert config["smu"]["nplc"] == 0.01 and config["channel"][0]["smu"]["nplc"] == 10


@pytest.mark.parametrize("value, where, text", [
    ("20", "smu", SMU), ("0.001", "smu", SMU), ("0", "smu", SMU), ("-1", "smu", SMU),
    ("11", "channel.1.smu", ""),
])
def test_smu_nplc_out_of_range_is_one_line(tmp_path, value, where, text):
    path = tmp_path / "station.toml"
    if where == "smu":
        path.write_text(text + f"nplc = {value}\n")
        roles = ("smu",)
    else:
        path.write_text('[[channel]]\nsmu = { driver = "keithley2400", '
                        f'resource = "GPIB0::25::INSTR", nplc = {value} }}\n')
        roles = ("channel",)
    with pytest.raises(StationConfigError) as info:
        load_config(path, roles=roles)
    assert info.value.errors == [f"[{where}] nplc = {value} is out of range: allowed 0.01 … 10"]
    assert str(info.value) == f"{path}: {info.value.errors[0]}"          # one line


def test_smu_nplc_not_a_number(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(SMU + 'nplc = "fast"\n')
    with pytest.raises(StationConfigError) as info:
        load_config(path, roles=("smu",))
    assert info.value.errors == ["[smu] nplc = 'fast' is out of range: allowed 0.01 … 10"]


@pytest.fixture(scope="module")
def bench():
    with Bench(noise=False, time_scale=100.0) as b:
        yield b


def _station_file(tmp_path, bench, nplc):
    path = tmp_path / "station.toml"
    path.write_text(f'[smu]\ndriver = "keithley2400"\nresource = "{bench.resources["smu"]}"\n'
                    f"nplc = {nplc}\n")
    return path


def test_station_nplc_is_the_smu_default_and_explicit_nplc_wins(tmp_path, bench):
    smu_sim = bench.instrument("smu")
    with open_station(_station_file(tmp_path, bench, 5), roles=("smu",)) as st:
        assert st.config["smu"]["nplc"] == 5                   # in the run's station record
        assert st.smu.default_nplc == 5.0
        st.smu.configure_voltage_source(compliance_A=0.01)     # no nplc: the station's
        assert st.smu.nplc == 5.0 and smu_sim.nplc == pytest.approx(5.0)
        st.smu.configure_current_source(compliance_V=5.0)
        assert st.smu.nplc == 5.0 and smu_sim.nplc == pytest.approx(5.0)
        st.smu.configure_voltage_source(compliance_A=0.01, nplc=0.1)    # explicit: wins
        assert st.smu.nplc == 0.1 and smu_sim.nplc == pytest.approx(0.1)
    with open_station("sim", roles=("smu",), sim_options={"noise": False}) as st:
        assert st.smu.default_nplc == 1.0                      # no [smu] nplc: as before


def test_procedure_nplc_overrides_station_nplc_and_says_so(tmp_path, bench):
    """A J-V-L run (its own nplc parameter) on a station with [smu] nplc = 5: the SMU
    integrates at the procedure's value; /events says the station's was overridden."""
    from acquisition.runner import run_procedure
    from acquisition.store import load_run
    from procedures.base import build_procedure
    from procedures.jvl import JVLProcedure

    note = "station [smu] nplc = 5 overridden by this procedure's nplc = 0.1"
    with open_station(_station_file(tmp_path, bench, 5), roles=("smu",)) as st:
        for own in (0.1, 5.0):
            proc = build_procedure(JVLProcedure, {"light_route": "none", "nplc": own,
                                                  "start_voltage_V": 2.0, "stop_voltage_V": 2.2,
                                                  "dwell_s": 0.0}, station_object=st)
            result = run_procedure(proc, tmp_path / f"runs{own:g}", handle_signals=False)
            assert result.status == "finished", result.message
            assert st.smu.nplc == own and bench.instrument("smu").nplc == pytest.approx(own)
            run = load_run(result.path)
            assert run.parameters["nplc"]["value"] == own
            assert (note in list(run.events["message"])) == (own == 0.1)
