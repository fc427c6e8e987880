"""What the simulated Keithley instruments share: reply sentinels, reading overhead, noise.

The values are the ones the Keithley manuals name: 9.91e37 is "not a number" and 9.9e37 an
overflowed reading (2400 Series SourceMeter User's Manual, 2400S-900-01, ch. 18, FORMat
subsystem; Model 2450 Reference Manual 2450-901-01, ch. 6).
"""
from __future__ import annotations

import math

__all__ = ["NAN_VALUE", "OVERFLOW_VALUE", "NO_REPLY", "READING_OVERHEAD_S", "ReadingNoise"]

#: What Keithley instruments send for "not a number" (2400 manual, FORMat subsystem).
NAN_VALUE = 9.91e37
#: What they send for a reading beyond the measurement range (overflow).
OVERFLOW_VALUE = 9.9e37
#: Returned by a query handler that must not reply (the client then times out).
NO_REPLY = None
#: Fixed per-reading overhead on top of NPLC / line frequency [s] (a guess: the 2400
#: manual gives no figure; 1 ms keeps a reading at NPLC 1, 50 Hz within the 20–25 ms
#: the real unit needs).
READING_OVERHEAD_S = 1e-3


class ReadingNoise:
    """Adapter so the SMUs work with or without a NoiseModel.

    A scalar reading takes the NoiseModel's own law, σ = √((relative·|value|)² + floor²),
    and the next draw of its generator, without numpy's array machinery (~20 µs → ~2 µs
    per reading: the SMUs answer thousands of readings per second). Same seed, same draws
    as ``NoiseModel.apply``.
    """

    def __init__(self, noise):
        self.noise = noise
        kinds = getattr(noise, "KINDS", None)
        rng = getattr(noise, "rng", None)
        # kind -> (relative attribute, floor attribute); None: use noise.apply.
        self._fields = ({k: (f"{k}_relative", floor) for k, floor in kinds.items()}
                        if isinstance(kinds, dict) and hasattr(rng, "standard_normal") else None)

    def __call__(self, value: float, kind: str) -> float:
        noise = self.noise
        if noise is None or not math.isfinite(value):
            return value
        fields = self._fields
        if fields is None or kind not in fields:
            return float(noise.apply(value, kind))
        rel_name, floor_name = fields[kind]
        sigma = math.hypot(getattr(noise, rel_name) * abs(value), getattr(noise, floor_name))
        if sigma == 0.0:
            return value
        return value + sigma * noise.rng.standard_normal()
