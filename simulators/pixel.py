"""A pixel on the simulated bench: one device and its drive state, and the photodiode that
looks at it.

A :class:`Pixel` holds one device (an :class:`~simulators.device.LEDDevice`, a
:class:`~simulators.device.SingleCarrierDevice` or a PL film) and what the source-measure
unit applies to it. SMUs call :meth:`Pixel.apply`; light meters and the photodiode ask
:meth:`Pixel.spectral_radiance_W_sr_m2_nm` at the present drive state; the LCR meter asks
:meth:`Pixel.capacitance`. Ageing is advanced lazily from the bench clock while the pixel is
driven, so an 8-hour stress at ``time_scale=3600`` takes 8 s. :class:`PhotodiodeLoad` is
what a photodiode SMU or picoammeter has on its terminals.
"""
from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import constants, optimize

from .faults import FaultPlan

__all__ = ["Pixel", "OpenCircuit", "PhotodiodeLoad", "OperatingPoint", "AGEING_LAG_TOLERANCE",
           "si_photodiode_responsivity_A_W", "SHORT_RESISTANCE_OHM", "PHOTODIODE_GRID_NM"]

#: Largest lag of the lazily aged observables behind continuous ageing (see Pixel._advance).
AGEING_LAG_TOLERANCE = 2e-5
#: Resistance of a shorted pixel [Ω].
SHORT_RESISTANCE_OHM = 1.0
#: Wavelength grid on which the photodiode integrates the pixel's spectrum [nm].
PHOTODIODE_GRID_NM = np.arange(360.0, 831.0, 1.0)


@dataclass(frozen=True)
class OperatingPoint:
    """What an SMU sees at its terminals: voltage [V], current [A], compliance flag."""

    voltage_V: float
    current_A: float
    in_compliance: bool = False


def si_photodiode_responsivity_A_W(wavelength_nm):
    """Model responsivity of a calibrated Si photodiode [A/W] (the bench's "si_default").

    R(λ) = η(λ)·q·λ/(h·c) with external quantum efficiency
    η(λ) = 0.85·[1 − exp(−(λ − 300 nm)/60 nm)] / [1 + exp((λ − 1030 nm)/25 nm)] for
    λ > 300 nm (0 below): blue loss to surface recombination, infrared cut-off at the
    Si band gap. Gives ≈ 0.28 A/W at 450 nm, 0.37 A/W at 550 nm and a ≈ 0.6 A/W peak
    near 950 nm, the shape of common Si photodiodes (e.g. Hamamatsu S1337 data sheet).

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelength [nm].

    Returns
    -------
    ndarray
        Responsivity [A/W].
    """
    lam = np.asarray(wavelength_nm, dtype=float)
    eta = 0.85 * (1.0 - np.exp(-np.clip(lam - 300.0, 0.0, None) / 60.0))
    eta = eta / (1.0 + np.exp((lam - 1030.0) / 25.0))
    return eta * constants.e * lam * 1e-9 / (constants.h * constants.c)


class Pixel:
    """One device on the bench and its present drive state.

    Parameters
    ----------
    device : LEDDevice or SingleCarrierDevice
    clock : ScaledClock
    faults : FaultPlan or None
        Short/open faults of this pixel (:meth:`FaultPlan.for_pixel`).
    index : int
        Position on the bench (0-based).
    """

    def __init__(self, device, clock, faults: FaultPlan | None = None, index: int = 0):
        self.device = device
        self.clock = clock
        self.faults = faults if faults is not None else FaultPlan()
        self.index = index
        self._lock = threading.RLock()
        self._point = OperatingPoint(0.0, 0.0, False)
        self._on = False
        self._last_age_s = clock.time()
        self._last_voltage_V = 0.0
        self._last_step = 1          # +1/-1: direction of the last voltage change (ion hysteresis)
        self._pending_s = 0.0        # driven time not yet passed to device.age()
        self._pending_current_A = 0.0
        self._driven_s = 0.0         # total driven time (sets the flush threshold)
        self._cache_key = None
        self.is_led = hasattr(device, "luminance_cd_m2")
        # A photoluminescent film (simulators.pl_film) glows without drive current and
        # keeps its exposure time on the bench clock.
        self.is_photoluminescent = bool(getattr(device, "photoluminescent", False))
        if hasattr(device, "attach_clock"):
            device.attach_clock(clock)
        self._tau_memo: dict[float, float] = {}
        params = getattr(device, "params", None)
        # The stretched-exponential ageing model of simulators.device.LEDDevice.
        self._ages_by_damage = (self.is_led and hasattr(device, "equivalent_age")
                                and hasattr(device, "lifetime_tau_s")
                                and hasattr(params, "stretch_exponent"))

    # -- state ---------------------------------------------------------------------
    @property
    def area_m2(self) -> float:
        """Emitting area [m²] (from the device parameters' ``area_cm2``)."""
        params = getattr(self.device, "params", None)
        return float(getattr(params, "area_cm2", 0.04)) * 1e-4

    @property
    def current_A(self) -> float:
        """Current through the device now [A] (0 when the output is off)."""
        with self._lock:
            self._advance()
            return self._point.current_A

    @property
    def voltage_V(self) -> float:
        with self._lock:
            self._advance()
            return self._point.voltage_V

    @property
    def driven(self) -> bool:
        """True while the source-measure unit's output is on into this pixel."""
        return self._on

    def fault(self) -> str | None:
        """``"short"``, ``"open"`` or None at the present simulated time."""
        if not self.faults.faults:   # the common case: no device fault planned
            return None
        now = self.clock.time()
        if self.faults.active("short", now):
            return "short"
        if self.faults.active("open", now):
            return "open"
        return None

    def _tau_s(self, current_A: float) -> float:
        """Lifetime τ [s] of the fresh device at ``current_A`` (memoised per current)."""
        tau = self._tau_memo.get(current_A)
        if tau is None:
            dev = self.device
            tau = float(dev.lifetime_tau_s(float(dev.luminance_cd_m2(current_A, aged=False))))
            if len(self._tau_memo) >= 1024:
                self._tau_memo.clear()
            self._tau_memo[current_A] = tau
        return tau

    def ageing_lag(self) -> float:
        """Bound on how far the observables lag the pending (not yet applied) stress.

        Returns the change the pending driven time would make to ``D^β`` plus
        ``B·Δt/t_b`` (the largest change of the brightening factor): L/L0 of the device
        would change by at most this fraction and its ageing voltage by at most
        ``2·ΔV50`` times it. 0 for devices without the stretched-exponential model.
        """
        pending, current = self._pending_s, self._pending_current_A
        if pending <= 0 or current <= 0 or not self._ages_by_damage:
            return 0.0
        p = self.device.params
        beta = p.stretch_exponent
        damage = self.device.equivalent_age
        lag = (damage + pending / self._tau_s(current)) ** beta - damage ** beta
        if p.brightening_fraction:
            lag += p.brightening_fraction * pending / p.brightening_time_s
        return lag

    def _advance(self, force: bool = False) -> None:
        """Age the device for the time driven since the last update (lazily).

        Driven time at a constant current is accumulated and handed to ``device.age`` in
        one step when the drive state changes (``force``) or when it would move the
        observables by more than :data:`AGEING_LAG_TOLERANCE` (:meth:`ageing_lag`).

        Why this is exact to the tolerance: ``device.age`` adds damage D += Δt/τ(I) (Miner's
        rule) and forward time t_fwd += Δt, both additive, so one step of Σ Δt at constant I
        equals many small ones; L/L0 = (1 + B(1 − e^(−t_fwd/t_b)))·exp(−D^β) and the ageing
        voltage 2·ΔV50·(1 − exp(−D^β)) then depend on D^β and t_fwd only. Deferring ΔD
        changes D^β by (D + ΔD)^β − D^β, and the brightening factor by at most B·Δt/t_b;
        keeping their sum ≤ 2·10⁻⁵ keeps every reading within 20 ppm of luminance and
        12 µV of voltage (ΔV50 = 0.3 V) of continuous ageing, below the instruments' noise.
        A pixel polled at a fixed, dim level (τ of 10⁹ s and more) then needs no ageing
        step at all, instead of one per poll.
        """
        now = self.clock.time()
        dt = now - self._last_age_s
        self._last_age_s = now
        current = self._point.current_A if self._on else 0.0
        if dt > 0 and current > 0:
            self._pending_s += dt
            self._pending_current_A = current
        if self._pending_s <= 0:
            return
        if not force:
            if self._ages_by_damage:
                if self.ageing_lag() <= AGEING_LAG_TOLERANCE:
                    return
            elif self._pending_s <= 1e-3 * self._driven_s:
                # A device without the damage model: bound the lag relative to the driven time.
                return
        if self._ages_by_damage:
            self.device.age(self._pending_s, self._pending_current_A,
                            self._tau_s(self._pending_current_A))
        elif hasattr(self.device, "age"):
            self.device.age(self._pending_s, self._pending_current_A)
        self._driven_s += self._pending_s
        self._pending_s = 0.0
        self._cache_key = None   # the I-V has moved

    # -- electrical ------------------------------------------------------------------
    def _current_at(self, voltage_V: float, fault: str | None) -> float:
        if fault == "short":
            return voltage_V / SHORT_RESISTANCE_OHM
        if fault == "open":
            return 0.0
        if self.is_led:
            return float(self.device.current_A(voltage_V))
        # Re-applying the same level (a read after a set) keeps the direction of the step
        # that reached it; only a change of level moves the device to the other branch.
        direction = (1 if voltage_V > self._last_voltage_V else -1
                     if voltage_V < self._last_voltage_V else self._last_step)
        return float(self.device.current_A(voltage_V, direction=direction))

    def _voltage_at(self, current_A: float, fault: str | None) -> float:
        if fault == "short":
            return current_A * SHORT_RESISTANCE_OHM
        if self.is_led and hasattr(self.device, "voltage_V"):
            return float(self.device.voltage_V(current_A))
        # Single-carrier devices: invert the monotonic I(V) by bracketing (robust, bounded).
        f = lambda v: self._current_at(v, fault) - current_A
        lo, hi = -1.0, 1.0
        while f(lo) > 0 and lo > -1e4:
            lo *= 2
        while f(hi) < 0 and hi < 1e4:
            hi *= 2
        return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12))

    def apply(self, function: str, level: float, compliance: float, output_on: bool) -> OperatingPoint:
        """Drive the pixel as an SMU does and return the operating point.

        Parameters
        ----------
        function : ``"VOLT"`` or ``"CURR"``
            Source voltage (compliance in A) or current (compliance in V).
        level : float
            Source level [V or A].
        compliance : float
            Limit on the other quantity [A or V], > 0.
        output_on : bool
            Off: the device sees 0 V / no current.

        Notes
        -----
        Compliance: a voltage source whose current would exceed ``compliance``
        becomes a current source at ±compliance (and vice versa); the flag is set.
        """
        with self._lock:
            fault = self.fault()
            key = (function, level, compliance, output_on, fault)
            # A new drive state: first age at the old current for the time it flowed.
            self._advance(force=key != self._cache_key)
            if key == self._cache_key:
                return self._point
            if not output_on:
                point = OperatingPoint(0.0, 0.0, False)
            elif function == "VOLT":
                i = self._current_at(level, fault)
                if abs(i) > compliance:
                    i = math.copysign(compliance, i)
                    v = self._voltage_at(i, fault) if fault != "open" else level
                    point = OperatingPoint(v, i, True)
                else:
                    point = OperatingPoint(level, i, False)
            else:
                if fault == "open":
                    point = OperatingPoint(math.copysign(compliance, level or 1.0), 0.0, level != 0)
                else:
                    v = self._voltage_at(level, fault)
                    if abs(v) > compliance:
                        v = math.copysign(compliance, v)
                        point = OperatingPoint(v, self._current_at(v, fault), True)
                    else:
                        point = OperatingPoint(v, level, False)
            if point.voltage_V != self._last_voltage_V:
                self._last_step = 1 if point.voltage_V > self._last_voltage_V else -1
            self._last_voltage_V = point.voltage_V
            self._point = point
            self._on = output_on
            self._cache_key = key
            return point

    # -- optical ---------------------------------------------------------------------
    def spectral_radiance_W_sr_m2_nm(self, wavelength_nm) -> np.ndarray:
        """Spectral radiance of the pixel now [W sr⁻¹ m⁻² nm⁻¹] (zero if dark or faulted)."""
        wl = np.asarray(wavelength_nm, dtype=float)
        with self._lock:
            self._advance()
            current = self._point.current_A
            if self.is_photoluminescent and self.fault() is None:
                return np.asarray(self.device.spectral_radiance_W_sr_m2_nm(wl), dtype=float)
            if not self.is_led or not self._on or current <= 0 or self.fault() is not None:
                return np.zeros_like(wl)
            return np.asarray(self.device.spectral_radiance_W_sr_m2_nm(wl, current), dtype=float)

    def luminance_cd_m2(self) -> float:
        """True luminance now [cd/m²]: K_m·∫L_e(λ)·V(λ) dλ of the present spectrum."""
        if not self.is_led:
            return 0.0
        with self._lock:
            self._advance()
            if not self._on or self._point.current_A <= 0 or self.fault() is not None:
                return 0.0
            return float(self.device.luminance_cd_m2(self._point.current_A))

    def dc_bias_V(self) -> float:
        """DC voltage the source-measure unit holds across the device now [V].

        The operating point's voltage while the SMU output is on (the programmed level, or
        what the compliance-limited current develops), 0 V with it off. An LCR meter
        reaching the pixel through a bias tee measures at this bias (see
        :mod:`simulators.e4980a`); the SMU's own readings come from :meth:`apply` as before.
        """
        with self._lock:
            self._advance()
            return self._point.voltage_V if self._on else 0.0

    def bias_current_A(self, bias_V: float) -> float:
        """DC current the device draws at ``bias_V`` [A] (what an LCR meter's internal bias
        source must supply; a shorted pixel 1 Ω, an open one nothing)."""
        fault = self.fault()
        if fault == "short":
            return bias_V / SHORT_RESISTANCE_OHM
        if fault == "open" or not hasattr(self.device, "current_A"):
            return 0.0
        return float(self.device.current_A(bias_V))

    def voltage_at_current_A(self, current_A: float) -> float:
        """DC voltage across the device at ``current_A`` [V] (an LCR meter's bias current)."""
        return self._voltage_at(current_A, self.fault()) if self.fault() != "open" else 0.0

    def capacitance(self, frequency_Hz: float, bias_V: float, level_Vrms: float) -> tuple[float, float]:
        """Parallel capacitance [F] and conductance [S] seen by an LCR meter."""
        fault = self.fault()
        if fault == "short":
            return 0.0, 1.0 / SHORT_RESISTANCE_OHM
        if fault == "open":
            return 0.0, 0.0
        cp, g = self.device.capacitance(frequency_Hz, bias_V, level_Vrms)
        return float(cp), float(g)

    def photocurrent_A(self, sin2_alpha: float, responsivity_A_W) -> float:
        """Photocurrent of an on-axis detector collecting ``sin2_alpha`` of the flux [A].

        I_PD = sin²α · π·A · ∫ L_e(λ)·R(λ) dλ for a Lambertian emitter of area A and
        radiance L_e (Archer et al., Adv. Opt. Mater. 9, 2000838, 2021).
        """
        wl = PHOTODIODE_GRID_NM
        radiance = self.spectral_radiance_W_sr_m2_nm(wl)
        if not np.any(radiance):
            return 0.0
        return float(sin2_alpha * math.pi * self.area_m2 * np.trapezoid(radiance * responsivity_A_W(wl), wl))


class _Nothing:
    """The device of an open circuit: no parameters, no truth."""


class OpenCircuit(Pixel):
    """What a switched channel sees with no relay of its bus closed: an open circuit.

    0 A at any voltage (a current source runs to its voltage compliance), no light, no
    capacitance: the "open" fault of a pixel, permanently. The instruments' own noise is
    all they read.
    """

    def __init__(self, clock):
        super().__init__(_Nothing(), clock, None, index=-1)

    def fault(self) -> str | None:
        return "open"


class PhotodiodeLoad:
    """A Si photodiode facing a pixel, as seen by the SMU or picoammeter that reads it.

    Connected cathode to HI so the photocurrent reads positive; I(V) = I_ph + I_dark(t) + V/R_sh
    with a 1 GΩ shunt. The dark current drifts linearly on the bench clock,
    I_dark(t) = ``dark_current_A`` + ``dark_drift_A_per_h``·t/3600 s (t: simulated seconds
    since the bench started). Guess (docs/instrument-fidelity.md, "Photodiode dark
    current"): the default 20 pA is the order of a Si photodiode's dark current (Hamamatsu
    data sheets give tens of pA at small reverse bias, e.g. S1087/S1133 series, KSPD1039E)
    plus the meter's input offset (6485 Instruction Manual 6485-901-01, Applications Guide
    p. I-3: input bias current and voltage burden), and 2 pA/h the slow drift of a bench
    warming up; neither is a vendor figure.

    Every reading is recorded (the last :attr:`HISTORY_ROWS`) in :attr:`history` as
    ``(time_s, pixel_driven, current_A)``, so a test can prove that a dark reading was taken
    with the pixel's source output off.

    Parameters
    ----------
    pixel_getter : callable returning the Pixel in front of the detector
    radius_mm, distance_mm : float
        Detector radius and on-axis distance [mm]; collected fraction
        sin²α = r²/(d² + r²) of a Lambertian source's flux.
    dark_current_A, dark_drift_A_per_h : float
        Dark current at t = 0 [A] and its linear drift [A/h].
    clock : ScaledClock or None
        The bench clock the drift and the history run on (None: t = 0 always).
    """

    SHUNT_OHM = 1e9
    #: Readings kept in :attr:`history`.
    HISTORY_ROWS = 4096

    def __init__(self, pixel_getter, radius_mm: float = 5.0, distance_mm: float = 20.0,
                 responsivity=si_photodiode_responsivity_A_W, *,
                 dark_current_A: float = 20e-12, dark_drift_A_per_h: float = 2e-12, clock=None):
        if not radius_mm > 0:
            raise ValueError(f"radius_mm = {radius_mm} is out of range: allowed > 0 mm")
        if not distance_mm > 0:
            raise ValueError(f"distance_mm = {distance_mm} is out of range: allowed > 0 mm")
        for name, value in (("dark_current_A", dark_current_A),
                            ("dark_drift_A_per_h", dark_drift_A_per_h)):
            if not (math.isfinite(value) and abs(value) <= 1e-6):
                raise ValueError(f"{name} = {value!r} is out of range: allowed -1e-06 … 1e-06")
        self._pixel = pixel_getter
        self.radius_mm, self.distance_mm = float(radius_mm), float(distance_mm)
        self.responsivity = responsivity
        self.dark_current_A0 = float(dark_current_A)
        self.dark_drift_A_per_h = float(dark_drift_A_per_h)
        self.clock = clock
        self.history: deque[tuple[float, bool, float]] = deque(maxlen=self.HISTORY_ROWS)

    def _now(self) -> float:
        return self.clock.time() if self.clock is not None else 0.0

    def dark_current_A(self, time_s: float | None = None) -> float:
        """True dark current [A] at bench time ``time_s`` (default: now)."""
        t = self._now() if time_s is None else float(time_s)
        return self.dark_current_A0 + self.dark_drift_A_per_h * t / 3600.0

    @property
    def sin2_alpha(self) -> float:
        r, d = self.radius_mm, self.distance_mm
        return r * r / (d * d + r * r)

    def photocurrent_A(self) -> float:
        return self._pixel().photocurrent_A(self.sin2_alpha, self.responsivity)

    def apply(self, function: str, level: float, compliance: float, output_on: bool) -> OperatingPoint:
        if not output_on:
            return OperatingPoint(0.0, 0.0, False)
        t = self._now()
        pixel = self._pixel()
        # Photocurrent plus dark current: the detector cannot tell them apart.
        i_ph = pixel.photocurrent_A(self.sin2_alpha, self.responsivity) + self.dark_current_A(t)
        self.history.append((t, bool(getattr(pixel, "driven", False)), i_ph))
        if function == "VOLT":
            i = i_ph + level / self.SHUNT_OHM
            if abs(i) > compliance:
                i = math.copysign(compliance, i)
                return OperatingPoint((i - i_ph) * self.SHUNT_OHM, i, True)
            return OperatingPoint(level, i, False)
        v = (level - i_ph) * self.SHUNT_OHM
        if abs(v) > compliance:
            v = math.copysign(compliance, v)
            return OperatingPoint(v, i_ph + v / self.SHUNT_OHM, True)
        return OperatingPoint(v, level, False)

    def calibration(self) -> dict[str, Any]:
        wl = PHOTODIODE_GRID_NM
        return {"radius_mm": self.radius_mm, "distance_mm": self.distance_mm,
                "sin2_alpha": self.sin2_alpha, "shunt_ohm": self.SHUNT_OHM,
                "dark_current_A": self.dark_current_A0,
                "dark_drift_A_per_h": self.dark_drift_A_per_h,
                "dark_model": "I_dark(t) = dark_current_A + dark_drift_A_per_h * t / 3600 s, "
                              "t = bench clock [s]",
                "sign": "+1 (cathode to HI: photocurrent reads positive)",
                "responsivity": "si_default",
                "wavelength_nm": wl.tolist(),
                "responsivity_A_W": self.responsivity(wl).tolist()}
