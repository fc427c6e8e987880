"""Resuming a lifetime run: the stored stress state, the continuity check, the stress clock.

A mixin of :class:`procedures.lifetime.LifetimeProcedure` (it uses the procedure's SMU, light
route and parameters): :meth:`resume_from` reads what the run file says the stress was,
:meth:`_check_continuity` measures the pixel once and refuses a pixel that does not continue
the stored run (or records a ``discontinuity``), and :meth:`_resume_offset` says where stress
time continues.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["ResumeContinuity"]


class ResumeContinuity:
    """Resume and continuity check of a lifetime stress (mixin of LifetimeProcedure)."""

    def resume_from(self, run) -> bool:
        """Continue after the last stored row at the stored stress current.

        On the simulated bench the new in-process device is aged by the stored stress time
        at that current (exact at constant current), so its L/L0 continues where the file
        ends; the pixel is taken as unstressed during the gap. On real hardware the device is
        where it is; stress time continues from the last row plus the wall-clock gap (the
        output of a killed process may have stayed on).
        """
        d = run.data
        self._stored_columns = set(d.columns)     # a file may predate some columns
        if len(d) == 0 or not np.isfinite(d["source_current_A"].to_numpy(float)).any():
            return False
        lum = d["luminance_cd_m2"].to_numpy(float)
        ok = np.isfinite(lum)
        if not ok.any():
            return False
        import datetime as dt
        last = str(run.attrs.get("last_flush_time") or run.attrs.get("start_time"))
        try:
            gap = (dt.datetime.now(dt.timezone.utc)
                   - dt.datetime.fromisoformat(last)).total_seconds()
        except ValueError:
            gap = math.nan
        sim = ((run.attrs.get("station") or {}).get("station") or {})
        if sim.get("simulated") and "time_scale" in sim:   # continue at the stored pace
            self.sim_overrides = {**self.sim_overrides, "time_scale": float(sim["time_scale"])}
        switch = ((run.attrs.get("station") or {}).get("switch") or {}).get("model")
        if sim.get("simulated") and switch:                 # the same switched substrate
            self.sim_overrides = {**self.sim_overrides, "switch": str(switch)}
        volts = d["voltage_V"].to_numpy(float)
        self.dark_column = "dark_current_A" in d.columns    # older files have none
        tail = slice(-3, None)                 # the last rows, noise averaged a little
        self._resume = {"current_A": float(d["source_current_A"].dropna().iloc[-1]),
                        "l0_cd_m2": float(lum[ok][0]),
                        "last_time_s": float(d["time_s"].iloc[-1]),
                        "last_luminance_cd_m2": float(np.nanmedian(lum[ok][tail])),
                        "last_voltage_V": float(np.nanmedian(volts[np.isfinite(volts)][tail]))
                        if np.isfinite(volts).any() else math.nan,
                        "wall_gap_s": gap,
                        "below": 0}
        return True

    #: ``qled resume FILE --accept-discontinuity``: continue although the pixel does not
    #: read as the stored one did (recorded as a ``discontinuity`` event the analysis honours).
    accept_discontinuity = False

    def _check_continuity(self) -> None:
        """Resume only on the same pixel in the same state: one reading at the stored stress
        current, compared with the last stored rows (L within
        ``resume_luminance_tolerance_fraction``, V within ``resume_voltage_tolerance_V``).

        A jump (a swapped, fresh or mis-wired pixel, a restarted simulator) refuses the resume
        with one line and the figures, before the file is touched, unless
        :attr:`accept_discontinuity`; then a ``discontinuity`` event records where the data
        stop being one stress history, and T_x are computed on the segment before it.
        """
        r = self._resume
        smu = self.smu
        smu.configure_current_source(self.compliance_V, nplc=self.nplc)
        smu.set_current(r["current_A"])
        smu.output_on()
        try:
            reading = smu.measure()
            lum, _ = self._luminance(spectrum=False)
        finally:
            smu.output_off()
        l_last, v_last = r["last_luminance_cd_m2"], r["last_voltage_V"]
        dl = lum / l_last - 1.0 if l_last > 0 else math.inf
        dv = reading.voltage_V - v_last if math.isfinite(v_last) else 0.0
        ok_l = math.isfinite(dl) and abs(dl) <= self.resume_luminance_tolerance_fraction
        ok_v = math.isfinite(dv) and abs(dv) <= self.resume_voltage_tolerance_V
        tol_l = 100 * self.resume_luminance_tolerance_fraction
        figures = (f"L = {lum:.5g} cd/m² against {l_last:.5g} at the last rows "
                   f"({100 * dl:+.1f} %, tolerance ±{tol_l:g} %), "
                   f"V = {reading.voltage_V:.4g} V against {v_last:.4g} V ({dv:+.3f} V, "
                   f"tolerance ±{self.resume_voltage_tolerance_V:g} V) at {r['current_A']:.6g} A")
        if ok_l and ok_v:
            self._continuity = f"resume: continuity checked: {figures}"
            return
        if not self.accept_discontinuity:
            raise ValueError(f"resume refused: the pixel does not continue the stored run "
                             f"({figures}); a swapped, fresh or mis-wired pixel? To continue "
                             "anyway, with T_x computed on the data before: qled resume FILE "
                             "--accept-discontinuity")
        self._continuity = (f"discontinuity at t = {r['last_time_s']:.9g} s: {figures}; "
                            "resumed with --accept-discontinuity: T_x are computed on the "
                            "segment before")

    def _resume_offset(self, current_A: float) -> float:
        r = self._resume
        bench = getattr(self.instruments, "bench", None)
        if bench is not None:
            from .routing import bench_pixel_index

            pixel = bench.pixels[bench_pixel_index(self)]
            pixel.device.reset_ageing()
            pixel.device.age(r["last_time_s"], current_A)
            self.log_event("info", f"resume (simulated bench): device re-aged by "
                           f"{r['last_time_s']:.6g} s at {current_A:.6g} A (L/L0 = "
                           f"{pixel.device.luminance_factor:.4f}); not stressed during the gap")
            return r["last_time_s"]
        gap = r["wall_gap_s"] if math.isfinite(r["wall_gap_s"]) else 0.0
        self.log_event("warning", f"resume: stress time continues at {r['last_time_s']:.6g} s "
                       f"+ {gap:.1f} s wall-clock gap (the output may have stayed on)")
        return r["last_time_s"] + gap
