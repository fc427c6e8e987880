"""Declarative properties of the CS-2000 and PR-655 drivers on the wire (PyMeasure
expected_protocol): each command's answer (OK00 / ERxx, or a quality code) is read and judged."""
import pytest
from pymeasure.test import expected_protocol

from instruments.konica_minolta import CS2000
from instruments.roles import InstrumentError
from instruments.transport import GarbledReplyError


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
    with expected_protocol(CS2000, [("IDDR", "OK00,CS-2000,0,20000123"),
                                    ("IDDR", "ER00"), ("IDDR", "#garbage")]) as meter:
        assert meter.id == "CS-2000,0,20000123"
        with pytest.raises(InstrumentError, match="ER00"):
            meter.id
        with pytest.raises(GarbledReplyError):
            meter.id


def test_pr655_metric_units_setting_reads_its_quality_code():
    from instruments.photo_research import PR655
    with expected_protocol(PR655, [("SU1", "00000"), ("SU0", "00010")]) as meter:
        meter.metric_units = True
        with pytest.raises(InstrumentError, match="quality code 10"):
            meter.metric_units = False
