"""EQE of 10^4 EL spectra (401 wavelengths): one vectorised call vs per-curve Python loops.

Baselines: (a) a per-curve loop as analysis scripts usually write it (interpolate V(λ)
onto the spectrometer axis, two trapezoid integrals, the EQE formula, per spectrum);
(b) a loop calling ``analysis.photometry.eqe_percent`` once per spectrum. All three must
agree to 1e-12 before any time is reported.
Usage: python benchmarks/eqe_vectorised.py [N_SPECTRA]
"""
from __future__ import annotations

import sys
import time

import colour
import numpy as np
from scipy import constants

from analysis.photometry import eqe_percent


def naive_eqe_percent(luminance, j_ma_cm2, wl, spectrum):
    lef = colour.colorimetry.SDS_LEFS_PHOTOPIC["CIE 1924 Photopic Standard Observer"]
    v = np.interp(wl, lef.wavelengths, lef.values, left=0.0, right=0.0)
    photons = np.trapezoid(spectrum * wl * 1e-9 / (constants.h * constants.c), wl)
    lumens = 683.0 * np.trapezoid(spectrum * v, wl)
    return 100 * np.pi * constants.e * luminance * photons / lumens / (10 * j_ma_cm2)


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def measure(n: int = 10_000) -> dict:
    """Figures of this benchmark (times in ms, speed-ups as ratios); results agree to 1e-12."""
    rng = np.random.default_rng(0)
    wl = np.linspace(380.0, 780.0, 401)
    centres = rng.uniform(505, 530, n)
    spectra = np.exp(-0.5 * ((wl[None, :] - centres[:, None]) / 9.0) ** 2)
    lum = rng.uniform(1, 1e4, n)
    j = rng.uniform(0.01, 100, n)

    t_vec, vec = best_of(lambda: eqe_percent(lum, j, wl, spectra))
    t_naive, naive = best_of(lambda: np.array(
        [naive_eqe_percent(lum[i], j[i], wl, spectra[i]) for i in range(n)]), repeats=1)
    t_loop, loop = best_of(lambda: np.array(
        [eqe_percent(lum[i], j[i], wl, spectra[i]) for i in range(n)]), repeats=1)
    np.testing.assert_allclose(vec, naive, rtol=1e-12)
    np.testing.assert_allclose(vec, loop, rtol=1e-12)
    return {"n_spectra": n, "n_wavelengths": wl.size, "vectorised_ms": t_vec * 1e3,
            "naive_loop_ms": t_naive * 1e3, "eqe_percent_loop_ms": t_loop * 1e3,
            "speedup_vs_naive_loop": t_naive / t_vec, "speedup_vs_eqe_percent_loop": t_loop / t_vec}


def main(n=10_000):
    f = measure(n)
    t_vec, t_naive, t_loop = f["vectorised_ms"], f["naive_loop_ms"], f["eqe_percent_loop_ms"]
    print(f"EQE of {n} spectra x {f['n_wavelengths']} wavelengths")
    print(f"  vectorised, one call         : {t_vec:8.1f} ms")
    print(f"  naive per-curve loop         : {t_naive:8.1f} ms   ratio {t_naive / t_vec:6.1f}x")
    print(f"  loop of eqe_percent per curve: {t_loop:8.1f} ms   ratio {t_loop / t_vec:6.1f}x")
    return t_naive / t_vec


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
