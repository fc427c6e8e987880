"""The LCRMeter role on top of an LCR driver (E4980A or 4284A), with internal or external bias.

The oscillator level is stored and reported as an **rms** voltage (``level_Vrms``), the meters'
own convention (E4980A User's Guide, ":VOLTage[:LEVel]"); an analysis needing the full swing
uses δV_pp = 2√2·V_rms (Heath, Cohen & Shafarman, J. Appl. Phys. 95, 1000 (2004)).

``bias_source = "external"`` declares that the DC bias comes from the station's SMU through a
bias tee (the meter's own bias stays off); ``set_bias`` then drives that SMU.

What the E4980A and the 4284A drivers share (internal-bias limits, aperture, measurement set-up,
trigger-and-fetch) lives here too: :class:`LCRDriverMixin` and the property factories
:func:`aperture_control` / :func:`bias_voltage_control`, parameterised by the command prefix
(``":"`` for the E4980A, ``""`` for the 4284A) and the averaging range.
"""

from __future__ import annotations

import logging
import math
from typing import Callable, Literal, Optional

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from . import safety
from .resilience import EventCallback, ResilientLink
from .roles import ImpedanceReading, InstrumentError, SourceMeter
from .validation import check_choice, check_range, parse_floats

log = logging.getLogger(__name__)

FUNCTIONS = ("CPG", "CPD")
APERTURES = ("SHOR", "MED", "LONG")

#: ``:FETCh?`` status −1: "No data (in the data buffer memory)" (E4980A User's Guide,
#: "Data Transfer", p. 261; the 4284A uses the same code).
STATUS_NO_DATA = -1
#: The value a meter sends in both data fields when the status voids them.
NO_DATA_VALUE = 9.9e37

#: Internal DC bias values of a standard E4980A or 4284A [V] (data sheets: 0 V, 1.5 V, 2 V).
STANDARD_BIAS_V = (0.0, 1.5, 2.0)
#: Internal DC bias range with option 001 (power amplifier / DC bias) [V].
OPTION_001_BIAS_V = (-40.0, 40.0)


def bias_validator(value, values):
    """A tuple of 2 is a (min, max) range; a tuple of 3+ is the set of allowed values."""
    if len(values) == 2:
        return strict_range(value, values)
    return strict_discrete_set(value, values)


def describe_bias(values) -> str:
    if len(values) == 2:
        return f"{values[0]:g} … {values[1]:g} V"
    return "one of " + ", ".join(f"{v:g}" for v in values) + " V (standard unit; " \
        "option 001 or an external bias tee for other values)"


def aperture_control(prefix: str, max_averages: int):
    """``aperture_time`` property: ``(time, averages)``, time SHOR/MED/LONG, 1 … max_averages.

    ``prefix`` is the root the instrument's commands are sent with (``":"`` or ``""``).
    """
    return Instrument.control(
        f"{prefix}APER?", f"{prefix}APER %s",
        f"""Control the integration time and averaging as ``(time, averages)``
        with time in SHOR/MED/LONG and averages 1 … {max_averages}.""",
        validator=lambda v, vs: (strict_discrete_set(v[0], vs[0]),
                                 int(strict_range(v[1], vs[1]))),
        values=(APERTURES, (1, max_averages)),
        set_process=lambda v: f"{v[0]},{v[1]}",
        get_process_list=lambda v: (str(v[0]).strip(), int(float(v[1]))),
    )


def bias_voltage_control(prefix: str, doc: str):
    """``bias_voltage`` property [V], validated against the (dynamic) allowed internal bias:
    the standard set by default, a driver with option 001 sets ``bias_voltage_values``."""
    return Instrument.control(
        f"{prefix}BIAS:VOLT?", f"{prefix}BIAS:VOLT %g", doc,
        validator=bias_validator, values=STANDARD_BIAS_V, dynamic=True,
    )


class LCRDriverMixin:
    """What the E4980A and 4284A drivers share, in front of their PyMeasure stock driver.

    A driver sets :attr:`command_prefix`, :attr:`function_property` (the stock driver's
    impedance-function property), ``bias_values_V`` (allowed internal bias, see
    :func:`bias_validator`) and the properties ``aperture_time``, ``bias_voltage`` and
    ``bias_enabled``.
    """

    #: Root the commands are sent with: ``":"`` (E4980A) or ``""`` (4284A).
    command_prefix = ""
    #: Name of the stock driver's impedance-function property.
    function_property = "mode"
    bias_values_V: tuple = STANDARD_BIAS_V
    #: ``:FETCh?`` status → meaning, and the statuses whose data fields are 9.9E37 (set per
    #: model from its manual).
    status_meanings: dict = {STATUS_NO_DATA: "no data", 0: "normal"}
    no_data_statuses: frozenset = frozenset({STATUS_NO_DATA})

    def status_text(self, status: int) -> str:
        """The meaning of a ``:FETCh?`` status for this model (``"status +7"`` if unknown)."""
        return self.status_meanings.get(int(status), f"status {int(status):+d}")

    def check_bias(self, bias_V: float) -> float:
        """Raise a one-line ValueError unless ``bias_V`` is an allowed internal bias."""
        try:
            return bias_validator(bias_V, self.bias_values_V)
        except ValueError:
            raise ValueError(f"bias_V = {bias_V!r} is not allowed on {self.name}: "
                             f"{describe_bias(self.bias_values_V)}") from None

    def configure_measurement(self, function, frequency_Hz, level_Vrms, aperture, averages,
                              alc=None):
        """Function, frequency [Hz], level [V rms], aperture; bus trigger, continuous init.

        ``alc`` True/False sends ``AMPLitude:ALC ON|OFF`` (automatic level control: the meter
        holds the set level across the DUT; E4980A User's Guide ``:AMPLitude:ALC``); None
        leaves it as the meter has it.
        """
        setattr(self, self.function_property, function)
        self.frequency = frequency_Hz
        self.ac_voltage = level_Vrms
        if alc is not None:
            self.write(f"{self.command_prefix}AMPL:ALC {'ON' if alc else 'OFF'}")
        self.aperture_time = (aperture, averages)
        self.trigger_source = "BUS"
        self.write(f"{self.command_prefix}INIT:CONT ON")

    def apply_bias(self, bias_V: float) -> None:
        """Set the internal DC bias [V] (validated first) and switch it on."""
        self.bias_voltage = self.check_bias(bias_V)
        self.bias_enabled = True

    def bias_off(self) -> None:
        """Switch the DC bias off and wait until the meter has (``*OPC?``): the caller may
        close the connection next, and "off" must mean off at the terminals."""
        self.bias_enabled = False
        reply = self.ask("*OPC?").strip()
        if reply not in ("1", "+1"):
            from .transport import GarbledReplyError
            raise GarbledReplyError(f"{self.name}: *OPC? answered {reply[:40]!r}")

    def trigger_and_fetch(self) -> tuple[float, float, int]:
        """Trigger once and fetch ``A, B, status`` in one message."""
        return parse_fetch(self.ask(f"{self.command_prefix}TRIG:IMM;:FETC?"), self.name)


class LCRMeterAdapter:
    """:class:`~instruments.roles.LCRMeter` on an E4980A / 4284A driver.

    Parameters
    ----------
    driver
        A connected :class:`instruments.keysight.KeysightE4980A` or
        :class:`instruments.hp.HP4284A` (an :class:`LCRDriverMixin`).
    reopen : callable, optional
        Re-opens the driver after a lost connection (see :mod:`instruments.resilience`).
    bias_source : {"internal", "external"}
        Where the DC bias comes from. ``"external"`` needs ``bias_smu``.
    bias_smu : SourceMeter, optional
        The SMU feeding the bias tee; configured as a voltage source with
        ``external_bias_compliance_A`` on first use.
    """

    #: The driver class :meth:`open` connects (set by each meter's adapter).
    driver_class: Optional[type] = None

    @classmethod
    def open(cls, resource: str, *, option_001: bool = False, name: str = "lcr",
             bias_source: Literal["internal", "external"] = "internal",
             bias_smu: Optional[SourceMeter] = None, on_event: Optional[EventCallback] = None,
             retries: int = 3, backoff_s: float = 0.05, **adapter_options):
        """Connect ``driver_class`` on ``resource`` (re-opened the same way after a lost link)."""
        from .transport import open_adapter

        def reopen():
            return cls.driver_class(open_adapter(resource, **adapter_options),
                                    option_001=option_001)

        return cls(reopen(), reopen=reopen, name=name, bias_source=bias_source,
                   bias_smu=bias_smu, on_event=on_event, retries=retries, backoff_s=backoff_s)

    def __init__(self, driver, *, reopen: Optional[Callable[[], object]] = None,
                 name: str = "lcr", bias_source: Literal["internal", "external"] = "internal",
                 bias_smu: Optional[SourceMeter] = None,
                 external_bias_compliance_A: float = 1e-3,
                 on_event: Optional[EventCallback] = None, retries: int = 3,
                 backoff_s: float = 0.05, sleep: Optional[Callable[[float], None]] = None):
        self.name = name
        self.bias_source = check_choice("bias_source", bias_source, ("internal", "external"))
        if bias_source == "external" and bias_smu is None:
            raise ValueError("bias_smu = None is not allowed with bias_source = 'external': "
                             "give the SourceMeter that feeds the bias tee")
        self.bias_smu = bias_smu
        self.external_bias_compliance_A = check_range(
            "external_bias_compliance_A", external_bias_compliance_A, 1e-9, 0.1, "A")
        kwargs = {} if sleep is None else {"sleep": sleep}
        self._link = ResilientLink(name, driver, reopen=reopen, restore=self._restore,
                                   retries=retries, backoff_s=backoff_s, on_event=on_event,
                                   **kwargs)
        self.function: str = "CPG"
        self.frequency_Hz: float = 1e4
        self.level_Vrms: float = 0.03
        self.aperture: str = "MED"
        self.averages: int = 1
        self.alc: Optional[bool] = None
        self.bias_V: float = 0.0
        self.bias_on = False
        self._configured = False
        self._closed = False
        self.idn = self._link.call(lambda d: d.id)
        safety.register_source(self)

    @property
    def driver(self):
        return self._link.driver

    def settings(self) -> dict:
        """JSON-able settings for the run record (level convention stated)."""
        return {"function": self.function, "frequency_Hz": self.frequency_Hz,
                "level_Vrms": self.level_Vrms, "level_convention": "rms",
                "aperture": self.aperture, "averages": self.averages, "alc": self.alc,
                "bias_V": self.bias_V, "bias_on": self.bias_on, "bias_source": self.bias_source}

    def configure(self, *, function: Literal["CPG", "CPD"] = "CPG", frequency_Hz: float = 1e4,
                  level_Vrms: float = 0.03, aperture: Literal["SHOR", "MED", "LONG"] = "MED",
                  averages: int = 1, alc: Optional[bool] = None) -> None:
        """Set function, test frequency [Hz], oscillator level [V rms], aperture, averaging,
        and (``alc`` True/False) the automatic level control; None leaves ALC alone."""
        driver = self.driver
        check_choice("function", function, FUNCTIONS)
        lo, hi = driver.frequency_limits_Hz
        frequency_Hz = check_range("frequency_Hz", frequency_Hz, lo, hi, "Hz")
        lo, hi = driver.level_limits_Vrms
        level_Vrms = check_range("level_Vrms", level_Vrms, lo, hi, "V rms")
        check_choice("aperture", aperture, APERTURES)
        averages = int(check_range("averages", averages, 1, driver.max_averages))
        (self.function, self.frequency_Hz, self.level_Vrms, self.aperture,
         self.averages) = function, frequency_Hz, level_Vrms, aperture, averages
        self.alc = None if alc is None else bool(alc)
        self._link.call(self._apply_configuration)
        self._configured = True

    def set_level(self, level_Vrms: float) -> None:
        """Change only the oscillator level [V rms] (DLCP steps it point by point)."""
        lo, hi = self.driver.level_limits_Vrms
        level_Vrms = check_range("level_Vrms", level_Vrms, lo, hi, "V rms")
        self._link.call(lambda d: setattr(d, "ac_voltage", level_Vrms))
        self.level_Vrms = level_Vrms

    def _apply_configuration(self, driver) -> None:
        driver.configure_measurement(self.function, self.frequency_Hz, self.level_Vrms,
                                     self.aperture, self.averages, self.alc)
        errors = driver.check_errors()
        if errors:
            text = "; ".join(f"{int(e[0])}, {str(e[1]).strip(chr(34))}" for e in errors)
            raise InstrumentError(f"{self.name}: instrument reported: {text}")

    def _restore(self, driver) -> None:
        if self._configured:
            self._apply_configuration(driver)
        if self.bias_source == "internal" and self.bias_on:
            driver.apply_bias(self.bias_V)

    def set_bias(self, bias_V: float) -> None:
        """Apply a DC bias [V], validated against the meter's (or the SMU's) allowed values."""
        if self.bias_source == "external":
            bias_V = check_range("bias_V", bias_V, -210, 210, "V")
            smu = self.bias_smu
            if getattr(smu, "function", None) != "VOLT":
                smu.configure_voltage_source(compliance_A=self.external_bias_compliance_A)
            smu.set_voltage(bias_V)
            if not getattr(smu, "output", False):
                smu.output_on()
        else:
            self.driver.check_bias(bias_V)          # one-line ValueError before sending
            self._link.call(lambda d: d.apply_bias(bias_V))
        self.bias_V, self.bias_on = float(bias_V), True

    def bias_off(self) -> None:
        if self.bias_source == "external":
            self.bias_smu.output_off()
        else:
            self._link.call(lambda d: d.bias_off())
        self.bias_on = False

    output_off = bias_off   # the safety registry switches "outputs" off at exit

    def measure(self) -> ImpedanceReading:
        """Trigger one measurement and fetch ``(C_F, G_S or D)`` plus its status.

        A status that voids the data (E4980A −1/+1, 4284A −1/+1/+2: both fields 9.9E37) gives
        NaN values; +3/+4 keep the meter's values, flagged (``reading.valid`` is False).
        Status −1 ("no data") means the trigger was not taken (trigger system idle): an
        :class:`InstrumentError`, never a reading.
        """
        a, b, status = self._link.call(lambda d: d.trigger_and_fetch())
        driver = self.driver
        text = driver.status_text(status)
        if status == STATUS_NO_DATA:
            errors = self._link.call(lambda d: d.check_errors())   # e.g. -211 Trigger ignored
            said = "; ".join(f"{int(e[0])}, {str(e[1]).strip(chr(34))}" for e in errors)
            raise InstrumentError(f"{self.name}: :FETCh? status -1 (no data): the meter took "
                                  "no measurement; is its trigger system initiated "
                                  "(configure() sets TRIG:SOUR BUS and INIT:CONT ON)?"
                                  + (f" The meter reported: {said}" if said else ""))
        if status in driver.no_data_statuses or a == NO_DATA_VALUE or b == NO_DATA_VALUE:
            a = b = math.nan
        if status != 0:
            log.warning("%s: measurement status %+d (%s)", self.name, status, text)
        return ImpedanceReading(a, b, self.function, status, text)

    def close(self) -> None:
        if self._closed:
            return
        try:
            if self.bias_on or self.bias_source == "internal":
                self.bias_off()
        except Exception as exc:  # noqa: BLE001 - still close
            log.error("%s: bias off failed on close: %s", self.name, exc)
        finally:
            self._closed = True
            safety.unregister_source(self)
            self._link.close_driver()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return None


def parse_fetch(reply: str, what: str) -> tuple[float, float, int]:
    """``A,B,status`` → (A, B, status); strict."""
    values = parse_floats(reply, what=what)
    if len(values) < 3:
        from .transport import GarbledReplyError
        raise GarbledReplyError(f"{what}: expected A,B,status, got {reply[:60]!r}")
    return values[0], values[1], int(values[2])
