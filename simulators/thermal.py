"""Temperatures on the simulated bench: the room's drifting ambient and each pixel's self-heating.

:class:`Ambient` is the room (or glovebox) around the bench: a temperature and a relative
humidity that drift linearly on the bench clock, with an optional step (a door opened, an air
conditioner cycling). :class:`PixelThermal` is one pixel's temperature rise over that ambient
from the electrical power it dissipates, P = I·V (all of it counted as heat: the light a QLED
emits is a few per cent of P at most, below the uncertainty of R_th):

    ΔT(t) follows R_th·P(t) through a first-order lag,   τ·dΔT/dt = R_th·P − ΔT,
    T_dev(t) = T_amb(t) + ΔT(t).

P is piecewise constant between two changes of the drive (the SMU sets a level, switches the
output, or the ageing device's voltage moves at constant current), so ΔT is integrated
exactly segment by segment: ΔT(t) = ΔT_k + (R_th·P_k − ΔT_k)·(1 − exp(−(t − t_k)/τ)).

Default R_th and τ (estimates, not measurements): a 4 mm² pixel on 1.1 mm soda-lime glass on
a metal holder. Conduction through the glass alone, R = d/(k·A) = 1.1e-3 / (1.0 · 4e-6) ≈
275 K/W, is shortened by lateral spreading in the glass and the ITO to an effective ~60-120
K/W; we take 80 K/W. τ = R_th·C with the heated glass volume under and around the pixel
(~3 × 3 × 1.1 mm³, ρc ≈ 2.0e6 J/(m³K), C ≈ 0.02 J/K) gives ≈ 1.6 s for the glass; the
holder's slower mode dominates what a probe on the substrate sees, so we take τ = 30 s.
Order of magnitude: 10 mW (5 V × 2 mA) heats the pixel by 0.8 K; a 50 mA/cm² stress of a
0.04 cm² pixel at 6 V (12 mW) by ~1 K; a 1 A/cm² abuse (0.24 W) by ~19 K.

The device temperature does not feed back into the LED physics (simulators.device has no
temperature dependence): the thermometer reports it, nothing else changes.
"""
from __future__ import annotations

import bisect
import math
import threading
from dataclasses import asdict, dataclass

__all__ = ["Ambient", "AmbientParameters", "PixelThermal", "ThermalParameters"]

#: Segments of the power history kept per pixel (older ones are forgotten: truth queries
#: earlier than the oldest kept segment raise ValueError).
HISTORY_SEGMENTS = 20_000
#: Relative power change below which a new drive state does not open a new segment
#: (the ageing voltage creeps by ppm per reading); changes ΔT by < 1e-4·R_th·P.
POWER_RESOLUTION = 1e-4


@dataclass(frozen=True)
class ThermalParameters:
    """One pixel's thermal path: R_th [K/W] to ambient and its time constant τ [s]."""

    r_th_K_W: float = 80.0
    tau_s: float = 30.0

    def __post_init__(self):
        if not (math.isfinite(self.r_th_K_W) and 0 <= self.r_th_K_W <= 1e5):
            raise ValueError(f"r_th_K_W = {self.r_th_K_W!r} is out of range: allowed 0 … 1e5 K/W")
        if not (math.isfinite(self.tau_s) and 1e-3 <= self.tau_s <= 1e6):
            raise ValueError(f"tau_s = {self.tau_s!r} is out of range: allowed 0.001 … 1e6 s")


@dataclass(frozen=True)
class AmbientParameters:
    """The room: start values, linear drifts per hour and an optional step.

    Defaults: 22 °C, 40 %RH, +0.2 K/h and −0.5 %RH/h (a lab warming through the day), no step.
    ``step_at_s`` (None: no step) adds ``step_K`` and ``step_rh_percent`` from then on.
    RH is clipped to 0 … 100 %.
    """

    temperature_C: float = 22.0
    rh_percent: float = 40.0
    drift_K_per_h: float = 0.2
    drift_rh_percent_per_h: float = -0.5
    step_at_s: float | None = None
    step_K: float = 0.0
    step_rh_percent: float = 0.0

    def __post_init__(self):
        if not -50 <= self.temperature_C <= 100:
            raise ValueError(f"temperature_C = {self.temperature_C!r} is out of range: "
                             "allowed -50 … 100 °C")
        if not 0 <= self.rh_percent <= 100:
            raise ValueError(f"rh_percent = {self.rh_percent!r} is out of range: allowed 0 … 100 %")


class Ambient:
    """Ambient temperature [°C] and relative humidity [%] as functions of bench time [s]."""

    def __init__(self, clock, params: AmbientParameters | None = None):
        self.clock = clock
        self.params = params or AmbientParameters()

    def temperature_C(self, t_s: float | None = None) -> float:
        p = self.params
        t = self.clock.time() if t_s is None else float(t_s)
        step = p.step_K if p.step_at_s is not None and t >= p.step_at_s else 0.0
        return p.temperature_C + p.drift_K_per_h * t / 3600.0 + step

    def rh_percent(self, t_s: float | None = None) -> float:
        p = self.params
        t = self.clock.time() if t_s is None else float(t_s)
        step = p.step_rh_percent if p.step_at_s is not None and t >= p.step_at_s else 0.0
        return min(100.0, max(0.0, p.rh_percent + p.drift_rh_percent_per_h * t / 3600.0 + step))

    def truth(self) -> dict:
        return {k: v for k, v in asdict(self.params).items()}


class PixelThermal:
    """Self-heating of one pixel: :meth:`set_power` on every drive change, then ask
    :meth:`temperature_C` (now or at any retained past time)."""

    def __init__(self, clock, ambient: Ambient, params: ThermalParameters | None = None):
        self.clock = clock
        self.ambient = ambient
        self.params = params or ThermalParameters()
        self._lock = threading.Lock()
        t0 = clock.time()
        # Segments: start time, power [W], ΔT at the start [K].
        self._t = [t0]
        self._p = [0.0]
        self._dt = [0.0]

    def _rise_at(self, i: int, t: float) -> float:
        p = self.params
        target = p.r_th_K_W * self._p[i]
        return target + (self._dt[i] - target) * math.exp(-(t - self._t[i]) / p.tau_s)

    def set_power(self, power_W: float, t_s: float | None = None) -> None:
        """The pixel dissipates ``power_W`` from ``t_s`` (default now) on."""
        power = max(0.0, float(power_W)) if math.isfinite(power_W) else 0.0
        with self._lock:
            t = self.clock.time() if t_s is None else float(t_s)
            t = max(t, self._t[-1])
            last = self._p[-1]
            if abs(power - last) <= POWER_RESOLUTION * max(abs(last), 1e-12):
                return
            rise = self._rise_at(len(self._t) - 1, t)
            self._t.append(t)
            self._p.append(power)
            self._dt.append(rise)
            if len(self._t) > HISTORY_SEGMENTS:
                drop = len(self._t) - HISTORY_SEGMENTS
                del self._t[:drop], self._p[:drop], self._dt[:drop]

    def power_W(self) -> float:
        return self._p[-1]

    def rise_K(self, t_s: float | None = None) -> float:
        """Temperature rise over ambient [K] at ``t_s`` (default now)."""
        with self._lock:
            t = self.clock.time() if t_s is None else float(t_s)
            if t < self._t[0]:
                raise ValueError(f"t_s = {t:g} is out of range: the history starts at "
                                 f"{self._t[0]:g} s")
            i = bisect.bisect_right(self._t, t) - 1
            return self._rise_at(i, t)

    def temperature_C(self, t_s: float | None = None) -> float:
        """True device temperature [°C] at ``t_s`` (default now)."""
        t = self.clock.time() if t_s is None else float(t_s)
        return self.ambient.temperature_C(t) + self.rise_K(t)

    def truth(self) -> dict:
        return {"r_th_K_W": self.params.r_th_K_W, "tau_s": self.params.tau_s,
                "model": "T_dev = T_amb + first-order lag (tau_s) of r_th_K_W * I * V"}
