"""Seeded measurement noise that the instrument simulators apply to their readings."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .common import _check_range

@dataclass
class NoiseModel:
    """Seeded Gaussian reading noise, σ = √((relative·|value|)² + floor²), per quantity kind.

    Instrument simulators call :meth:`apply` on each reading; devices stay deterministic.
    Defaults are of the order of the instruments' datasheet noise (SMU 6½ digits, E4980A
    0.05 % basic accuracy, spectroradiometer ≈ 0.3 % repeatability).
    """

    seed: int | None = 0
    """Seed of the numpy Generator (None: fresh entropy)."""
    current_relative: float = 1e-4
    current_floor_A: float = 2e-12
    voltage_relative: float = 3e-5
    voltage_floor_V: float = 3e-5
    luminance_relative: float = 3e-3
    luminance_floor_cd_m2: float = 1e-3
    spectrum_relative: float = 3e-3
    spectrum_floor_W_sr_m2_nm: float = 1e-7
    capacitance_relative: float = 3e-4
    capacitance_floor_F: float = 1e-14
    conductance_relative: float = 3e-4
    conductance_floor_S: float = 1e-10
    rng: np.random.Generator = field(init=False, repr=False, compare=False)

    KINDS = {"current": "current_floor_A", "voltage": "voltage_floor_V",
             "luminance": "luminance_floor_cd_m2", "spectrum": "spectrum_floor_W_sr_m2_nm",
             "capacitance": "capacitance_floor_F", "conductance": "conductance_floor_S"}

    def __post_init__(self):
        for kind, floor in self.KINDS.items():
            _check_range(f"{kind}_relative", getattr(self, f"{kind}_relative"), 0.0, 1.0)
            _check_range(floor, getattr(self, floor), 0.0, math.inf)
        self.rng = np.random.default_rng(self.seed)

    @classmethod
    def zero(cls) -> "NoiseModel":
        """No noise: :meth:`apply` returns the value unchanged."""
        return cls(**{f"{k}_relative": 0.0 for k in cls.KINDS},
                   **{floor: 0.0 for floor in cls.KINDS.values()})

    def sigma(self, value, kind: str):
        """Standard deviation of the reading noise for ``value`` of ``kind``."""
        if kind not in self.KINDS:
            raise ValueError(f"kind = {kind!r} is out of range: allowed "
                             + ", ".join(self.KINDS))
        rel = getattr(self, f"{kind}_relative")
        floor = getattr(self, self.KINDS[kind])
        return np.hypot(rel * np.abs(np.asarray(value, dtype=float)), floor)

    def apply(self, value, kind: str):
        """``value`` plus one Gaussian draw per element (same shape; floats stay floats)."""
        sigma = self.sigma(value, kind)
        v = np.asarray(value, dtype=float)
        if not np.any(sigma):
            return v[()] if v.ndim == 0 else v.copy()
        return (v + sigma * self.rng.standard_normal(v.shape))[()]
