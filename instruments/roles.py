"""Role interfaces: what a procedure may ask of an instrument, independent of its model.

Procedures import this module only. Each role is a :class:`typing.Protocol`; the adapters in
``keithley.py``, ``keysight.py``, ``hp.py``, ``konica_minolta.py``, ``photo_research.py``,
``photodiode.py`` and ``switch.py`` implement them on top of PyMeasure drivers, and the
simulated bench is reached through the very same adapters over its real transports.

Units ride in the names (``voltage_V``, ``level_Vrms``, ``luminance_cd_m2`` …).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator, Literal, Optional, Protocol, Sequence, runtime_checkable

import numpy as np


class InstrumentError(RuntimeError):
    """The instrument reported an error (error queue entry, error code, bad quality code)."""


class InstrumentSetupError(InstrumentError, ValueError):
    """The instrument is set up in a way qled-bench cannot work with (e.g. the wrong command
    set): refused at connect with one line saying how to fix it, before anything is sourced."""


class ComplianceNotSetError(RuntimeError):
    """An output was asked to turn on before a compliance limit was configured."""


@dataclass(frozen=True)
class Reading:
    """One source-measure point.

    Attributes
    ----------
    voltage_V, current_A : float
        Measured voltage [V] and current [A] (NaN where the instrument returned 9.91e37).
    in_compliance : bool
        True if the instrument flagged the reading as limited by the compliance setting.
    time_s : float
        The instrument's time stamp of the reading [s] (NaN if it has none).
    """

    voltage_V: float
    current_A: float
    in_compliance: bool
    time_s: float


@dataclass(frozen=True)
class SweepResult:
    """Readings of a hardware sweep, one array element per point (same fields as Reading)."""

    voltage_V: np.ndarray
    current_A: np.ndarray
    in_compliance: np.ndarray
    time_s: np.ndarray

    def __len__(self) -> int:
        return len(self.voltage_V)

    def __getitem__(self, i: int) -> Reading:
        return Reading(float(self.voltage_V[i]), float(self.current_A[i]),
                       bool(self.in_compliance[i]), float(self.time_s[i]))


@dataclass(frozen=True)
class LightReading:
    """A spectroradiometer measurement.

    Attributes
    ----------
    luminance_cd_m2 : float
        Photometric luminance L_v [cd m⁻²].
    x, y : float
        CIE 1931 2° chromaticity coordinates.
    wavelength_nm : numpy.ndarray
        Wavelength axis of the spectrum [nm] (empty if only colorimetric data were read).
    spectral_radiance_W_sr_m2_nm : numpy.ndarray
        Spectral radiance L_e,λ on ``wavelength_nm`` [W sr⁻¹ m⁻² nm⁻¹].
    measuring_angle_deg : float
        Measuring angle the meter reported for this measurement [deg] (NaN if it reports none).
    integration_time_s : float
        The meter's integration (exposure) time of this measurement [s] (NaN if not reported).

    A value the meter flagged as not computed (a calculation-error number, a quality code that
    voids the data) is NaN, never the meter's sentinel; the adapter says so in an event.
    """

    luminance_cd_m2: float
    x: float
    y: float
    wavelength_nm: np.ndarray = field(default_factory=lambda: np.empty(0))
    spectral_radiance_W_sr_m2_nm: np.ndarray = field(default_factory=lambda: np.empty(0))
    measuring_angle_deg: float = math.nan
    integration_time_s: float = math.nan


@dataclass(frozen=True)
class LightMeterOptics:
    """Where a light meter looks: its measuring angle and the distance to the sample.

    Attributes
    ----------
    measuring_angle_deg : float
        Full measuring (acceptance) angle θ [deg], as the meter reports it.
    working_distance_mm : float or None
        Distance from the meter to the sample [mm] (the station's ``[light_meter]
        working_distance_mm``); None when not configured.

    Notes
    -----
    :attr:`spot_diameter_mm` is the geometric diameter of the measured spot,
    d = 2·L·tan(θ/2). This is our assumption: no vendor table of spot sizes was found (the
    CS-2000 instruction manual, which has one, was not available), and the distance a
    vendor table refers to (lens front, focus plane) may differ from the one configured.
    """

    measuring_angle_deg: float
    working_distance_mm: Optional[float] = None

    @property
    def spot_diameter_mm(self) -> Optional[float]:
        """Measured spot diameter [mm] = 2·L·tan(θ/2), or None without a working distance."""
        if self.working_distance_mm is None or not math.isfinite(self.measuring_angle_deg):
            return None
        return 2.0 * self.working_distance_mm * math.tan(math.radians(self.measuring_angle_deg) / 2)

    def as_dict(self) -> dict:
        return {"measuring_angle_deg": self.measuring_angle_deg,
                "working_distance_mm": self.working_distance_mm,
                "spot_diameter_mm": self.spot_diameter_mm,
                "spot_rule": "d = 2 L tan(theta/2) (geometric assumption, no vendor table)"}


@dataclass(frozen=True)
class ImpedanceReading:
    """One LCR reading in a parallel-capacitance function; unpacks as ``C_F, second``.

    ``second`` is the parallel conductance G [S] for function ``"CPG"`` and the dimensionless
    dissipation factor D for ``"CPD"``. ``status`` is the meter's measurement status of this
    reading (the ``<STATUS>`` field of ``:FETCh?``: 0 normal; E4980A +1 overload, +3 signal
    source overloaded, +4 ALC unable to regulate; 4284A +1 analog bridge unbalanced, +2 A/D
    converter not working), ``status_text`` its meaning for that model. Where the meter sends
    no data (9.9E37) both values are NaN; with +3/+4 they are the meter's, but not to be
    trusted (:attr:`valid` is False).
    """

    capacitance_F: float
    second: float
    function: Literal["CPG", "CPD"]
    status: int = 0
    status_text: str = ""

    @property
    def valid(self) -> bool:
        """True for a normal measurement (status 0)."""
        return self.status == 0

    def __iter__(self) -> Iterator[float]:
        yield self.capacitance_F
        yield self.second

    @property
    def conductance_S(self) -> float:
        """Parallel conductance G [S] (function CPG only)."""
        if self.function != "CPG":
            raise ValueError(f"conductance_S is only measured in function CPG, not {self.function}")
        return self.second

    @property
    def dissipation(self) -> float:
        """Dissipation factor D = G/(ωC) (function CPD only)."""
        if self.function != "CPD":
            raise ValueError(f"dissipation is only measured in function CPD, not {self.function}")
        return self.second


@runtime_checkable
class SourceMeter(Protocol):
    """A source-measure unit channel.

    Safety contract: a compliance limit must be configured (``configure_voltage_source`` or
    ``configure_current_source``) before ``output_on``; levels are validated against the
    instrument's range before anything is sent; the output is switched off on ``close``.
    """

    idn: str

    @property
    def limits(self) -> dict:
        """What this channel may be asked for, from its model and its station table:
        ``voltage_V`` and ``current_A`` (lowest, highest) source levels, ``compliance_A`` and
        ``compliance_V`` (lowest, highest) limits; the voltage range is narrowed by the
        station's ``max_voltage_V`` safety limit when the table sets one."""

    def configure_voltage_source(self, compliance_A: float, *, nplc: Optional[float] = None,
                                 current_range_A: Optional[float] = None) -> None:
        """Source voltage, measure current, with current compliance ``compliance_A`` [A];
        ``nplc`` None takes the station's ``[smu] nplc`` (default 1)."""

    def configure_current_source(self, compliance_V: float, *,
                                 nplc: Optional[float] = None) -> None:
        """Source current, measure voltage, with voltage compliance ``compliance_V`` [V];
        ``nplc`` None takes the station's ``[smu] nplc`` (default 1)."""

    def set_voltage(self, voltage_V: float) -> None: ...

    def set_current(self, current_A: float) -> None: ...

    def output_on(self) -> None: ...

    def output_off(self) -> None: ...

    def read_errors(self, limit: int = 10) -> list[tuple[int, str]]:
        """Drain the instrument's error queue: ``[(code, message)]``, empty when clean."""

    def source_voltage_and_measure(self, voltage_V: float) -> Reading:
        """Set the voltage and read back V and I in one exchange."""

    def source_current_and_measure(self, current_A: float) -> Reading:
        """Set the current and read back V and I in one exchange."""

    def measure(self) -> Reading: ...

    def sweep_voltage(self, voltages_V: Sequence[float], delay_s: float) -> SweepResult:
        """Hardware list sweep: the instrument steps through ``voltages_V`` by itself, waiting
        ``delay_s`` [s] after each step before measuring; one read returns all points."""

    def close(self) -> None: ...


@runtime_checkable
class LightMeter(Protocol):
    """A spectroradiometer: luminance, chromaticity and spectral radiance.

    ``wavelength_nm`` is the meter's spectral axis [nm] (a fresh numpy array), known before
    any measurement so that a run can record it up front; every spectrum ``measure()``
    returns lies on it. None for a meter without a spectral axis (luminance and colour
    only).

    Optional: ``optics() -> LightMeterOptics`` (measuring angle and working distance, from
    which a run checks that the measured spot fits on the pixel).
    """

    idn: str

    @property
    def wavelength_nm(self) -> Optional[np.ndarray]: ...

    def measure(self) -> LightReading: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class DarkCurrent:
    """A dark-current measurement of a photodiode: ``n`` readings with the LED's source off.

    Attributes
    ----------
    current_A : float
        Mean of the readings [A] (the dark current to subtract).
    std_A : float
        Their sample standard deviation [A] (0 for one reading).
    n : int
        Number of readings.
    """

    current_A: float
    std_A: float
    n: int


@runtime_checkable
class PhotodiodeMeter(Protocol):
    """The photodiode route: a calibrated Si photodiode read as a photocurrent.

    ``calibration`` is an :class:`instruments.photodiode.PhotodiodeCalibration` (responsivity
    table and geometry) that converts photocurrent to luminance / photon flux.
    ``measure_dark_current_A(n)`` takes ``n`` readings and returns their mean and standard
    deviation (:class:`DarkCurrent`); the caller has switched the source that drives the
    LED off first (the reader cannot: it is another instrument).
    """

    idn: str
    calibration: "object"

    def read_photocurrent_A(self) -> float: ...

    def measure_dark_current_A(self, n: int = 10) -> DarkCurrent: ...

    def close(self) -> None: ...


@runtime_checkable
class LCRMeter(Protocol):
    """An LCR meter in a parallel-capacitance function.

    The oscillator level is an rms voltage (``level_Vrms``), as the meters define it; a
    drive-level analysis that needs the peak-to-peak swing uses δV_pp = 2√2·V_rms.
    """

    idn: str
    bias_source: Literal["internal", "external"]

    def configure(self, *, function: Literal["CPG", "CPD"] = "CPG", frequency_Hz: float = 1e4,
                  level_Vrms: float = 0.03, aperture: Literal["SHOR", "MED", "LONG"] = "MED",
                  averages: int = 1, alc: Optional[bool] = None) -> None:
        """``alc``: automatic level control on/off (None: as the meter has it)."""

    def set_bias(self, bias_V: float) -> None:
        """Apply a DC bias [V] across the device (internal source, or the station's SMU through
        a bias tee when ``bias_source == "external"``)."""

    def bias_off(self) -> None: ...

    def measure(self) -> ImpedanceReading: ...

    def close(self) -> None: ...


@runtime_checkable
class Switch(Protocol):
    """A pixel switch: a crosspoint matrix of buses (rows) × pixels (columns).

    Bus 1 is the measurement SMU (and what looks at its pixel: photodiode, LCR meter, light
    meter); bus c is lifetime channel c's SMU. A pixel is on at most one bus and a bus on at
    most one pixel, ever. Relays move only with the sources of the affected buses off:
    ``connect`` refuses (one line) while one is on.
    """

    idn: str
    pixels: int
    buses: int

    def connect(self, pixel: int, bus: int = 1) -> None:
        """Break-before-make: open whatever ``bus`` and ``pixel`` had, read back that nothing
        is closed on them, close the crosspoint, read it back."""

    def disconnect(self, bus: int = 1) -> None:
        """Open every relay of ``bus`` (read back)."""

    def open_all(self) -> None: ...

    def connections(self) -> dict[int, int]:
        """{bus: pixel} read back from the instrument."""

    def close(self) -> None:
        """Open every relay, then close the connection."""


@runtime_checkable
class Thermometer(Protocol):
    """The device temperature: a sensor on the substrate (Pt100 or thermocouple) and its meter.

    ``sensor`` says what is measured and how (e.g. ``"Pt100, 4-wire on the substrate, read by
    a Keithley 2000"``); a reading the meter flags (open sensor, overflow) is NaN.
    """

    idn: str
    sensor: str

    def read_temperature_C(self) -> float: ...

    def close(self) -> None: ...


@runtime_checkable
class AmbientSensor(Protocol):
    """The room (glovebox, rack) around the bench: temperature and relative humidity."""

    idn: str

    def read(self) -> tuple[float, float]:
        """(temperature_C, relative_humidity_percent)."""

    def close(self) -> None: ...
