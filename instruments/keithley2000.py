"""Keithley 2000-class DMM as a device thermometer: Pt100 in 4-wire or a thermocouple.

Reference: Keithley, *Model 2000 Multimeter User's Manual*, 2000-900-01 Rev. J, section 5
([SENSe[1]] subsystem p. 5-37: ``:SENS:FUNC 'TEMP'``, ``:SENS:TEMP:TRAN``,
``:SENS:TEMP:TC:TYPE``, ``:SENS:TEMP:NPLC``; :FORMat p. 5-28; :UNIT ``:UNIT:TEMP C``).
``FRTD`` / ``:SENS:TEMP:FRTD:TYPE PT100`` as on the 2000's siblings (2010, 2700): a guess for
the Model 2000 itself (see docs/instrument-fidelity.md, "Keithley 2000").
"""
from __future__ import annotations

import logging
import math
from typing import Callable, Optional

from pymeasure.instruments import Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .resilience import EventCallback, ResilientLink
from .validation import parse_floats

log = logging.getLogger(__name__)

__all__ = ["Keithley2000", "Keithley2000Thermometer", "TRANSDUCERS", "TC_TYPES"]

#: ``transducer`` values of a station's ``[thermometer]`` table.
TRANSDUCERS = ("pt100", "thermocouple")
TC_TYPES = ("J", "K", "T")
#: A reading at or above this is the DMM's overflow / open-sensor flag (9.9E37).
OVERFLOW_FLOOR = 9e37


class Keithley2000(SCPIMixin, Instrument):
    """Keithley 2000 multimeter, temperature function only (declarative PyMeasure driver)."""

    def __init__(self, adapter, name="Keithley 2000 Multimeter", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("timeout", 5000)
        super().__init__(adapter, name, **kwargs)

    function = Instrument.control(
        ":SENS:FUNC?", ":SENS:FUNC '%s'",
        """Control the measurement function (str, 'TEMP' for temperature).""",
        validator=strict_discrete_set, values=("TEMP", "VOLT:DC"),
        get_process=lambda v: str(v).strip().strip("\"'"),
    )

    transducer = Instrument.control(
        ":SENS:TEMP:TRAN?", ":SENS:TEMP:TRAN %s",
        """Control the temperature transducer: 'FRTD' (4-wire RTD) or 'TC' (thermocouple).""",
        validator=strict_discrete_set, values=("FRTD", "TC"),
    )

    rtd_type = Instrument.control(
        ":SENS:TEMP:FRTD:TYPE?", ":SENS:TEMP:FRTD:TYPE %s",
        """Control the 4-wire RTD type (str, 'PT100' = IEC 60751, α = 0.00385).""",
        validator=strict_discrete_set, values=("PT100", "PT385", "PT3916", "D100", "F100"),
    )

    thermocouple_type = Instrument.control(
        ":SENS:TEMP:TC:TYPE?", ":SENS:TEMP:TC:TYPE %s",
        """Control the thermocouple type (str, 'J', 'K' or 'T').""",
        validator=strict_discrete_set, values=TC_TYPES,
    )

    nplc = Instrument.control(
        ":SENS:TEMP:NPLC?", ":SENS:TEMP:NPLC %g",
        """Control the temperature integration time in power-line cycles (0.01 … 10).""",
        validator=strict_range, values=(0.01, 10),
    )

    unit = Instrument.control(
        ":UNIT:TEMP?", ":UNIT:TEMP %s",
        """Control the temperature unit ('C', 'F' or 'K'); this driver keeps 'C'.""",
        validator=strict_discrete_set, values=("C", "F", "K"),
    )

    def configure(self, transducer: str = "pt100", thermocouple_type: str = "K",
                  nplc: float = 1.0) -> None:
        """Temperature in °C from a Pt100 (4-wire) or a thermocouple, reading alone."""
        self.write(":FORM:ELEM READ")
        self.function = "TEMP"
        if transducer == "pt100":
            self.transducer = "FRTD"
            self.rtd_type = "PT100"
        else:
            self.transducer = "TC"
            self.thermocouple_type = thermocouple_type
        self.unit = "C"
        self.nplc = nplc

    def read_temperature_C(self) -> float:
        """One ``:READ?`` → temperature [°C]; NaN for the overflow / open-sensor flag."""
        reply = self.ask(":READ?").strip()
        value = parse_floats(reply.split(",")[0].strip(), what=self.name)[0]
        return math.nan if abs(value) >= OVERFLOW_FLOOR else value


class Keithley2000Thermometer:
    """:class:`~instruments.roles.Thermometer` on a Keithley 2000 (reconnects on a broken link)."""

    def __init__(self, driver, *, transducer: str = "pt100", thermocouple_type: str = "K",
                 nplc: float = 1.0, sensor: str = "", reopen: Optional[Callable[[], object]] = None,
                 name: str = "thermometer", on_event: Optional[EventCallback] = None,
                 retries: int = 3, backoff_s: float = 0.05):
        if transducer not in TRANSDUCERS:
            raise ValueError(f"transducer = {transducer!r} is not allowed: use one of "
                             f"{', '.join(TRANSDUCERS)}")
        if thermocouple_type not in TC_TYPES:
            raise ValueError(f"thermocouple_type = {thermocouple_type!r} is not allowed: use "
                             f"one of {', '.join(TC_TYPES)}")
        self.name = name
        kind = "Pt100, 4-wire" if transducer == "pt100" else f"type {thermocouple_type} thermocouple"
        self.sensor = sensor or f"{kind} on the substrate, read by a Keithley 2000"

        def restore(d):
            d.configure(transducer, thermocouple_type, nplc)

        self._link = ResilientLink(name, driver, reopen=reopen, restore=restore,
                                   retries=retries, backoff_s=backoff_s, on_event=on_event)
        self.idn = self._link.call(lambda d: d.id)
        self._link.call(restore)

    @classmethod
    def open(cls, resource: str, *, transducer: str = "pt100", thermocouple_type: str = "K",
             nplc: float = 1.0, sensor: str = "", name: str = "thermometer", on_event=None,
             retries: int = 3, backoff_s: float = 0.05, **adapter_options):
        from .transport import open_adapter

        def reopen():
            return Keithley2000(open_adapter(resource, **adapter_options))

        return cls(reopen(), transducer=transducer, thermocouple_type=thermocouple_type,
                   nplc=nplc, sensor=sensor, reopen=reopen, name=name, on_event=on_event,
                   retries=retries, backoff_s=backoff_s)

    def read_temperature_C(self) -> float:
        return self._link.call(lambda d: d.read_temperature_C())

    def close(self) -> None:
        self._link.close_driver()
