"""Exact bytes on the wire for the CS-2000 and PR-655 drivers (PyMeasure expected_protocol).

CS-2000 pages: Konica Minolta, *Spectroradiometer CS-2000/CS-2000A Communication
Specifications*, Rev. 7.00 (KMSE A0E3-CS.07E, 2020), "[CS7]". PR-655 pages: Photo Research,
*PR-655 / PR-670 User Manual*, "Remote Control Mode", pp. 99-123, "[PRRM]".
"""
import math
import struct

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from instruments.konica_minolta import CS2000, CS2000LightMeter
from instruments.photo_research import MEASUREMENT_ERRORS, PR655, PR655LightMeter
from instruments.roles import InstrumentError, LightMeter, LightMeterOptics
from instruments.transport import GarbledReplyError

IDDR = ("IDDR", "OK00,CS-2000  ,1,1000123")
#: Connect: RMTS,2 (p.12, "Use this mode whenever possible" §1.7 p.9), MSWE,0 (§8.1 p.85),
#: STSR (the measuring angle, p.23), IDDR.
CONNECT = [("RMTS,2", "OK00"), ("MSWE,0", "OK00"), ("STSR", "OK00,1"), IDDR]
CONDITIONS = ("MEDR,0,0,1", "OK00,1,0,000520000,0,0,0,1,00")


def _hex(values):
    return ",".join(struct.pack(">f", float(v)).hex().upper() for v in values)


def test_remote_enabled_is_a_setting_that_reads_its_answer():
    with expected_protocol(CS2000, [("RMTS,1", "OK00"), ("RMTS,0", "OK00")]) as meter:
        meter.remote_enabled = True
        meter.remote(False)


def test_remote_enabled_validates_and_reports_errors():
    with expected_protocol(CS2000, [("RMTS,1", "ER10")]) as meter:
        with pytest.raises(ValueError):
            meter.remote_enabled = "maybe"          # refused before anything is sent
        with pytest.raises(InstrumentError, match="ER10"):
            meter.remote_enabled = True


def test_id_is_a_measurement_of_the_ok_fields():
    with expected_protocol(CS2000, [("IDDR", "OK00,CS-2000  ,0,2000123"),
                                    ("IDDR", "ER00"), ("IDDR", "#garbage")]) as meter:
        assert meter.id == "CS-2000,0,2000123"     # the 9-character name's padding removed
        with pytest.raises(InstrumentError, match="ER00"):
            meter.id
        with pytest.raises(GarbledReplyError):
            meter.id


def test_remote_prefers_rmts2_and_falls_back_to_rmts1():
    """[CS7] RMTS p.12: RMTS,2 only from firmware 3.00.9301; an older one refuses it."""
    with expected_protocol(CS2000, [("RMTS,2", "OK00"), ("RMTS,2", "ER17"), ("RMTS,1", "OK00"),
                                    ("RMTS,2", "ER00"), ("RMTS,1", "ER00")]) as meter:
        assert meter.remote() == 2 and meter.rmts2_refused is None
        assert meter.remote() == 1 and "ER17" in meter.rmts2_refused
        with pytest.raises(InstrumentError, match="RMTS,1|setting"):
            meter.remote()


def test_light_meter_says_in_an_event_that_it_fell_back_to_rmts1():
    events = []
    with expected_protocol(CS2000, [("RMTS,2", "ER17"), ("RMTS,1", "OK00"), *CONNECT[1:],
                                    ("RMTS,0", "OK00")]) as d:
        meter = CS2000LightMeter(d, on_event=lambda level, msg: events.append((level, msg)))
        meter.close()
    assert len(events) == 1 and events[0][0] == "warning"
    assert "RMTS,2 refused" in events[0][1] and "ER17" in events[0][1]
    assert "flash" in events[0][1]


def test_cs2000_measure_reads_completion_colorimetry_four_blocks_and_conditions():
    """[CS7] §8.1 p.85: MEAS,1 → OK00,ttt → OK00; MEDR blocks; MEDR,0 (p.44) with the angle."""
    spectrum = np.linspace(1e-4, 2e-3, 401).astype(np.float32)
    blocks = [spectrum[0:100], spectrum[100:200], spectrum[200:300], spectrum[300:401]]
    with expected_protocol(CS2000, [
            *CONNECT, ("MEAS,1", "OK00,002"), (None, "OK00"),
            ("MEDR,2,1,02", "OK00," + _hex([0.3, 0.6, 250.0])),
            *[(f"MEDR,1,1,{k}", "OK00," + _hex(b)) for k, b in enumerate(blocks, start=1)],
            CONDITIONS, ("RMTS,0", "OK00")]) as d:
        meter = CS2000LightMeter(d)
        assert isinstance(meter, LightMeter)
        assert meter.idn == "CS-2000,1,1000123"
        reading = meter.measure()
        meter.close()
    assert reading.luminance_cd_m2 == 250.0
    assert reading.x == pytest.approx(0.3, abs=1e-7)
    np.testing.assert_array_equal(reading.wavelength_nm, np.arange(380, 781))
    np.testing.assert_array_equal(reading.spectral_radiance_W_sr_m2_nm, spectrum)
    assert reading.measuring_angle_deg == 0.2 and reading.integration_time_s == 0.52


def test_cs2000_error_code_becomes_clear_exception():
    with expected_protocol(CS2000, [("MEAS,1", "OK00,002"), (None, "ER10")]) as d:
        with pytest.raises(InstrumentError, match="ER10: over measurement range"):
            d.measure()


@pytest.mark.parametrize("code, words", [
    ("ER51", "temperature abnormality"), ("ER71", "outside synchronization signal range"),
    ("ER81", "shutter operation abnormality"), ("ER82", "internal ND filter"),
    ("ER83", "measurement angle abnormality"), ("ER84", "cooling fan abnormality"),
    ("ER99", "program abnormality")])
def test_cs2000_error_codes_carry_the_documents_meaning(code, words):
    """[CS7] §4 pp.76-77."""
    with expected_protocol(CS2000, [("MEAS,1", "OK00,010"), (None, code)]) as d:
        with pytest.raises(InstrumentError, match=f"{code}: {words}"):
            d.measure()


@pytest.mark.parametrize("first", ["OK00,2", "OK00,1", "OK00,243", "OK00,0100", "OK00"])
def test_measuring_time_must_be_three_digits_002_to_242(first):
    """[CS7] MEAS p.41: "Integer; 3 digits … 002 to 242"."""
    with expected_protocol(CS2000, [("MEAS,1", first)]) as d:
        with pytest.raises(GarbledReplyError, match="3 digits 002–242"):
            d.measure()


def test_conditions_are_all_eight_fields():
    """[CS7] MEDR p.44: speed, sync, integration µs (9 digits), internal ND, close-up lens,
    external ND, measuring angle (0 = 1°, 1 = 0.2°, 2 = 0.1°), calibration channel."""
    with expected_protocol(CS2000, [("MEDR,0,0,1", "OK00,3,1,120000000,1,1,2,0,10"),
                                    ("MEDR,0,0,1", "OK00,0,0,000005000,0,0,0,3,00"),
                                    ("MEDR,0,0,1", "OK00,0,0,000005000,0,0,0")]) as d:
        c = d.conditions()
        assert (c.speed_mode, c.sync_mode, c.integration_time_s, c.internal_nd,
                c.close_up_lens, c.external_nd, c.measuring_angle_deg,
                c.calibration_channel) == (3, 1, 120.0, True, True, 2, 1.0, 10)
        with pytest.raises(GarbledReplyError, match="MEDR,0,0,1"):
            d.conditions()                       # angle code 3 does not exist
        with pytest.raises(GarbledReplyError, match="MEDR,0,0,1"):
            d.conditions()                       # 6 fields


def test_calculation_errors_become_nan_and_an_event_hex():
    """[CS7] §5.1.2 p.78, §5.2.2 p.81: D1BA43B6 is a calculation error, not −9.999999e10."""
    events = []
    spectrum = ["D1BA43B6"] * 100
    with expected_protocol(CS2000, [
            *CONNECT, ("MEAS,1", "OK00,002"), (None, "OK00"),
            ("MEDR,2,1,02", "OK00,D1BA43B6,D1BA43B6,D1BA43B6"),
            *[(f"MEDR,1,1,{k}", "OK00," + ",".join(spectrum + (["D1BA43B6"] if k == 4 else [])))
              for k in range(1, 5)],
            CONDITIONS]) as d:
        meter = CS2000LightMeter(d, on_event=lambda level, msg: events.append((level, msg)))
        reading = meter.measure()
    assert math.isnan(reading.luminance_cd_m2) and math.isnan(reading.x)
    assert np.isnan(reading.spectral_radiance_W_sr_m2_nm).all()
    assert events == [("warning", "light_meter: the CS-2000 sent its calculation-error number "
                                  "for Lv, x, y, 401 of 401 spectral values ([CS7] §5 "
                                  "pp.78-81): recorded as NaN")]


def test_calculation_errors_become_nan_in_text_per_quantity():
    """[CS7] §5.1.1 p.78, §5.2.1 pp.79-80: -9.9999e9, -9.9e9, -9.999 …"""
    good = ",".join(["1.2345e-3"] * 99)
    with expected_protocol(CS2000, [
            ("MEDR,2,0,02", "OK00,-9.999,0.7012,-9.9e9"),
            ("MEDR,1,0,1", "OK00,-9.9999e9," + good)]) as d:
        x, y, lv = d.xy_luminance("text")
        assert math.isnan(x) and y == 0.7012 and math.isnan(lv)
        values = d._values(1, 1, "text")
        assert math.isnan(values[0]) and values[1] == pytest.approx(1.2345e-3)


def test_optics_spot_is_the_geometric_rule():
    optics = LightMeterOptics(0.2, 350.0)
    assert optics.spot_diameter_mm == pytest.approx(2 * 350 * math.tan(math.radians(0.1)))
    assert LightMeterOptics(1.0).spot_diameter_mm is None


def test_angle_moved_between_connect_and_measurement_is_an_event():
    events = []
    with expected_protocol(CS2000, [
            *CONNECT, ("MEAS,1", "OK00,002"), (None, "OK00"),
            ("MEDR,2,1,02", "OK00," + _hex([0.3, 0.6, 10.0])),
            ("MEDR,0,0,1", "OK00,1,0,000520000,0,0,0,0,00")]) as d:
        meter = CS2000LightMeter(d, spectrum=False,
                                 on_event=lambda level, msg: events.append((level, msg)))
        assert meter.optics(350.0).measuring_angle_deg == 0.2
        reading = meter.measure()
    assert reading.measuring_angle_deg == 1.0 and meter.optics().measuring_angle_deg == 1.0
    assert len(events) == 1 and "measuring angle is 1° (was 0.2° at connect)" in events[0][1]


@pytest.mark.parametrize("stored, writes", [
    ("OK00,0,2", [("SPMS,1,2", "OK00")]),    # normal mode stored: switch to fast
    ("OK00,1,2", []),                        # already fast: nothing written
    ("OK00,4,08,2", [("SPMS,1,2", "OK00")]),  # multi-integration fast (time field)
])
def test_cs2000_fast_speed_mode_is_set_on_connect_only_when_needed(stored, writes):
    with expected_protocol(CS2000, [
            *CONNECT[:2], ("SPMR", stored), *writes, *CONNECT[2:], ("RMTS,0", "OK00")]) as d:
        meter = CS2000LightMeter(d, speed="fast")
        meter.close()


def test_cs2000_normal_speed_and_bad_speed_values():
    with expected_protocol(CS2000, [("SPMR", "OK00,1,2"), ("SPMS,0,0", "OK00")]) as d:
        assert d.set_speed("normal", nd_mode=0) is True
    with expected_protocol(CS2000, []) as d:
        with pytest.raises(ValueError, match="speed = 'turbo' is not allowed: use one of "
                                             "'normal', 'fast'"):
            d.set_speed("turbo")
        with pytest.raises(ValueError, match="speed = 'slow' is not allowed"):
            CS2000LightMeter(d, speed="slow")
        with pytest.raises(ValueError, match="data_format = 'bin' is not allowed"):
            CS2000LightMeter(d, data_format="bin")


# ---------------------------------------------------------------------------------------------
# Photo Research PR-655
# ---------------------------------------------------------------------------------------------
def chars(text, reply=None):
    """One (written, reply) pair per character: the driver must write them one at a time."""
    return [(ch, None) for ch in text[:-1]] + [(text[-1], reply)]


D601_METRIC = "00000,0,-1,-1,-1,0,1,0,0,0,1,2,0,0,0,60.00"
D601_ENGLISH = "00000,0,-1,-1,-1,0,0,0,0,0,1,2,0,0,0,60.00"   # the [PRRM] p.121 example
D120 = "00000,101,0.00,380,780,4,128,7,120"
SPECTRUM = [f"{w},{1e-3 * (w - 376) / 404:.3e}" for w in range(380, 781, 4)]


def pr655_connect(d601=D601_METRIC):
    """[PRRM] p.103: "'P' 'H' 'O' 'T' 'O' must be sent as single characters"; Q first
    (Psychtoolbox PR670init.m); SU1 → 0000 (p.112); D601 (p.121); D120 (p.119)."""
    return [*chars("Q"), *chars("PHOTO", " REMOTE MODE"), ("SU1\r", "0000"), ("D601\r", d601),
            ("D120\r", D120), ("D111\r", "00000,PR-655"), ("D110\r", "00000,65061234")]


def test_pr655_metric_units_setting_reads_its_status():
    with expected_protocol(PR655, [("SU1\r", "0000"), ("SU0\r", "-1009")]) as meter:
        meter.metric_units = True
        with pytest.raises(InstrumentError, match="quality code -1009: Invalid units code "
                                                  r"\(valid: 0 = English, 1 = Metric"):
            meter.metric_units = False


def test_pr655_remote_spectrum_and_luminance_char_by_char():
    """Every character its own write, "M" "5" "[CR]" too ([PRRM] p.103); units field 0 for a
    luminance measurement (every example, pp.115-118) is accepted."""
    with expected_protocol(PR655, [
            *pr655_connect(),
            *chars("M5\r", "00000,0,5.200e+002,1.0e-01,3.0e+17"),
            *[(None, line) for line in SPECTRUM],
            ("D1\r", "00000,0,1.234e+02,0.2100,0.7100"), *chars("Q")]) as d:
        meter = PR655LightMeter(d, quit_wait_s=0)
        assert isinstance(meter, LightMeter)
        assert meter.idn == "PR-655,65061234"
        reading = meter.measure()
        meter.close()
    assert reading.wavelength_nm.size == 101 and reading.wavelength_nm[-1] == 780
    assert reading.luminance_cd_m2 == 123.4 and (reading.x, reading.y) == (0.21, 0.71)
    assert reading.spectral_radiance_W_sr_m2_nm[-1] == pytest.approx(1e-3)


def test_pr655_english_units_are_converted_to_cd_m2():
    """SU0 / D601 units 0 = English ([PRRM] p.112, p.121): Y in fL, 1 fL = 3.426 cd/m²."""
    with expected_protocol(PR655, [
            *chars("Q"), *chars("PHOTO", " REMOTE MODE"), ("D601\r", D601_ENGLISH),
            ("D120\r", D120), ("D1\r", "00000,0,1.000e+01,0.2100,0.7100")]) as d:
        d.remote(metric=False, quit_wait_s=0)
        lv, _, _ = d.last_luminance_xy()
    assert lv == pytest.approx(34.262591, rel=1e-6)


@pytest.mark.parametrize("units, accepted", [("0", True), ("111", True), ("112", False),
                                             ("11", False)])
def test_pr655_units_field_is_the_kind_of_measurement(units, accepted):
    """[PRRM] Table 9 p.113: 111 luminance, 11 radiance, 112 illuminance …; the examples: 0."""
    with expected_protocol(PR655, [("D1\r", f"00000,{units},1.0e+02,0.3,0.6")]) as d:
        if accepted:
            assert d.last_luminance_xy()[0] == 100.0
        else:
            with pytest.raises(InstrumentError, match=f"units field {units}: not a luminance"):
                d.last_luminance_xy()


@pytest.mark.parametrize("code", [-1, -2, -8, -12])
def test_pr655_light_errors_become_nan_and_an_event(code):
    events = []
    with expected_protocol(PR655, [*pr655_connect(), ("M5\r", f"{code:05d}")]) as d:
        meter = PR655LightMeter(d, quit_wait_s=0,
                                on_event=lambda level, msg: events.append((level, msg)))
        reading = meter.measure()
    assert math.isnan(reading.luminance_cd_m2) and reading.spectral_radiance_W_sr_m2_nm.size == 0
    assert events == [("warning", f"light_meter: M5 → {code}: "
                                  f"{MEASUREMENT_ERRORS[code]} ([PRRM] p.122): recorded as NaN")]


@pytest.mark.parametrize("reply, words", [
    ("-0010", "quality code -10: Cannot Auto Sync to light source"),
    ("-0003", "quality code -3: Cannot Sync to light source"),
    ("-0004", "quality code -4: Adaptive mode error"), ("-0009", "quality code -9: Sync Error"),
    ("-8", "never"), ("-2000", "quality code -2000: a response code was requested")])
def test_pr655_other_codes_become_clear_exceptions(reply, words):
    with expected_protocol(PR655, [("M5\r", reply)]) as d:
        if reply == "-8":                        # the PR-655 table's own width: parsed too
            with pytest.raises(InstrumentError, match="quality code -8: Weak light"):
                d.measure_spectrum()
        else:
            with pytest.raises(InstrumentError, match=words):
                d.measure_spectrum()
