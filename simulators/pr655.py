"""Simulated Photo Research PR-655 SpectraScan (USB CDC serial, on a pseudo-terminal).

It speaks the remote-mode protocol of the instrument's manual, measures the pixel it looks at
on the bench's scaled clock over 380–780 nm at 4 nm, and answers in the manual's reply formats
(:mod:`simulators.pr655_codes` holds the data-code formats and the error codes). Photometry:
:mod:`simulators.colorimetry`.

Source, cited as "[PRRM] p.n": Photo Research, *PR-655 / PR-670 User Manual*, chapter "Remote
Control Mode", manual pp. 99–123 (extract "PR-655 - 670 Remote Mode Commands", made
2013-07-17; no revision printed). Client code is cited where the manual is silent; guesses
say so. The table of every behaviour, its source and status: ``docs/instrument-fidelity.md``.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from .colorimetry import cie_tables, colorimetry
from .pr655_codes import FOOTLAMBERT_CD_M2, MEASURED_CODES, SETUP_RANGES, data_reply
from .serial_meter import SerialMeter

__all__ = ["PR655Simulator", "pr655_measuring_time_s"]

#: Signal (luminance × exposure) window of the detector [cd s m⁻²] (our law, guess): the
#: adaptive exposure reaches 6 s at 0.3 cd/m² (below: −8 weak light) and its 3 ms floor at
#: 5×10⁴ cd/m² (above: −2 overload).
_SIGNAL_MIN = 0.3 * 6.0
_SIGNAL_MAX = 5e4 * 0.003


def pr655_measuring_time_s(luminance_cd_m2: float, exposure_ms: int = 0,
                           cycles: int = 1) -> tuple[float, float]:
    """Measuring time of the PR-655.

    Parameters
    ----------
    luminance_cd_m2 : float
        Luminance in the aperture [cd/m²].
    exposure_ms : int
        ``SE`` setting: 0 = adaptive, else the exposure 3–6000 ms ([PRRM] SE p.108).
    cycles : int
        ``SN``: measurements averaged, 1–99 ([PRRM] SN p.110).

    Returns
    -------
    (measuring_time_s, exposure_s) : tuple of float

    Notes
    -----
    No vendor figure (guess): adaptive exposure t_exp = clip(0.25 s · (10 cd/m²) / L, 3 ms, 6 s)
    (the PR-655 exposure range; 250 ms at 10 cd/m²), each cycle a light and a dark frame
    ("the instrument measures the detector dark current after each light measurement",
    [PRRM] SD p.108) plus 0.5 s overhead: T = 0.5 s + N·2·t_exp.
    """
    lum = max(float(luminance_cd_m2), 1e-12)
    t_exp = min(max(2.5 / lum, 0.003), 6.0) if exposure_ms == 0 else exposure_ms / 1e3
    return 0.5 + cycles * 2.0 * t_exp, t_exp


class PR655Simulator(SerialMeter):
    """Photo Research PR-655 SpectraScan spectroradiometer.

    Parameters
    ----------
    source, clock, faults, noise
        As for :class:`simulators.cs2000.CS2000Simulator`; faults: ``drop``, ``delay``,
        ``garble``, ``error``, ``over_range`` (−2), ``meter_error`` (a quality code).
    min_luminance_cd_m2, max_luminance_cd_m2 : float
        Adaptive-exposure limits (guess, see :data:`_SIGNAL_MIN`): below → −8 "Weak light",
        above → −2 "Light overload".
    serial_number : str
    units : {0, 1}
        ``SU`` at power-on: "The default parameters are those used during the measurement
        immediately before Remote Mode" ([PRRM] p.107); 1 = Metric here.
    banner : bytes
        Answer to ``PHOTO``: the manual says only "REMOTE MODE is displayed" (p.103). Two
        clients read exactly 12 bytes with ``REMOTE MODE`` at offset 1 (wachtlerlab/iris
        ``pr655.cc``; Matthew-Lochridge/Photo_Research, comment ``' REMOTE MODE'``), and iris
        would fail on a CR LF after it: default ``b" REMOTE MODE"`` (guess).
    units_field : {0, 111}
        The ``UUUU`` field of luminance data: 0 in every example of the manual (pp.115-118)
        and as Psychtoolbox's drivers require; Table 9 (p.113) says 111.
    ack : str
        The OK answer of I, L and S commands: ``"0000"`` as the manual writes it
        (pp.105-112); ``"00000"`` selectable (iris parses acknowledgements as 5 characters).
    code_width : int
        Width of a negative code in place of ``qqqqq``: 5 (``-0008``, as the PR-7XX and PR-730
        tables print measurement errors) by default; 0 unpadded (``-8``, the PR-655 table).
    """

    role = "spectroradiometer"
    WAVELENGTH_NM = np.arange(380, 781, 4, dtype=float)
    _FOOTLAMBERT_CD_M2 = FOOTLAMBERT_CD_M2

    def __init__(self, source: Any, clock: Any, faults: Any = None, noise: Any = None, *,
                 min_luminance_cd_m2: float = 0.3, max_luminance_cd_m2: float = 5e4,
                 serial_number: str = "65061234", units: int = 1,
                 banner: bytes = b" REMOTE MODE", units_field: int = 0, ack: str = "0000",
                 code_width: int = 5):
        super().__init__(source, clock, faults, noise)
        if not 0 < min_luminance_cd_m2 < max_luminance_cd_m2:
            raise ValueError(f"min_luminance_cd_m2 = {min_luminance_cd_m2!r} is out of range: "
                             f"allowed 0 < min < max_luminance_cd_m2 = {max_luminance_cd_m2!r}")
        for name, value, allowed in (("units", units, (0, 1)), ("units_field", units_field, (0, 111)),
                                     ("ack", ack, ("0000", "00000")),
                                     ("code_width", code_width, (0, 5))):
            if value not in allowed:
                raise ValueError(f"{name} = {value!r} is not allowed: use one of "
                                 f"{', '.join(repr(a) for a in allowed)}")
        self.signal_min = min_luminance_cd_m2 * 6.0
        self.signal_max = max_luminance_cd_m2 * 0.003
        self.min_luminance_cd_m2 = float(min_luminance_cd_m2)
        self.max_luminance_cd_m2 = float(max_luminance_cd_m2)
        self.serial_number = str(serial_number)
        self.banner = bytes(banner)
        self.units_field = units_field
        self.ack = ack
        self.code_width = code_width
        self.remote = False
        self.echo = False
        #: Setup ([PRRM] pp.107-112), as D601 reports it (p.121).
        self.setup = {"P": 0, "A": -1, "B": -1, "C": -1, "U": units, "E": 0, "N": 1, "O": 2,
                      "S": 0, "K": 60, "Z": 0}
        self.title = ""
        self.error = 0            # the current instrument error (I reports, C clears)
        self._meas_done_s: float | None = None
        self._pending: dict | None = None
        self._after: int | None = None  # data code to report when the measurement ends
        self._data: dict | None = None
        self._data_code = -2000
        self._after_actions = None
        cie_tables(380, 780, 4)  # warm the table cache off the serving thread

    @property
    def units(self) -> int:
        """``SU``: 0 English (luminance in fL), 1 Metric (cd/m²) ([PRRM] SU p.112)."""
        return self.setup["U"]

    # -- framing ------------------------------------------------------------
    def _process(self) -> None:
        while self._meas_done_s is None:
            if not self.remote:
                # "Type PHOTO (case sensitive)" — no Enter ([PRRM] p.103); single characters
                # or one burst, with or without CR/LF after it: other bytes are ignored.
                i = self._buf.find(b"PHOTO")
                if i < 0:
                    keep = next((k for k in range(4, 0, -1) if self._buf.endswith(b"PHOTO"[:k])), 0)
                    del self._buf[:len(self._buf) - keep]
                    return
                del self._buf[:i + 5]
                self._dispatch("PHOTO", self._handle, b"\r\n")
                continue
            while self._buf[:1] in (b"\r", b"\n"):
                del self._buf[:1]
            if not self._buf:
                return
            if self._buf[:1] == b"Q":
                # "Syntax: Q" — no [CR] ([PRRM] p.105).
                del self._buf[:1]
                self._dispatch("Q", self._handle, b"\r\n")
                continue
            # Commands end with [CR] (p.105); LF is accepted as well (psychopy sends LF; guess).
            ends = [i for i in (self._buf.find(b"\r"), self._buf.find(b"\n")) if i >= 0]
            if not ends:
                return
            end = min(ends)
            line = bytes(self._buf[:end]).decode("ascii", "replace").strip()
            del self._buf[:end + 1]
            self._dispatch(line, self._handle, b"\r\n")

    def code(self, code: int) -> str:
        """A status field: ``00000`` for 0, a negative code ``-0008`` (or ``-8``)."""
        return f"{code:0{self.code_width}d}" if self.code_width else str(code)

    def _error_reply(self, code: int) -> bytes:
        return self.code(int(code)).encode()

    def _fail(self, code: int) -> bytes:
        self.error = code
        return self.code(code).encode() + b"\r\n"

    # -- measurement clock --------------------------------------------------
    def _pending_sim_s(self) -> float | None:
        return self._meas_done_s

    def _update(self) -> None:
        if self._meas_done_s is None or self.clock.time() < self._meas_done_s:
            return
        self._meas_done_s = None
        pending, self._pending = self._pending, None
        code = pending["code"]
        if code == 0:
            end = self._sample(self.WAVELENGTH_NM)
            start = pending["spectrum"]
            lv_start, lv_end = pending["colorimetry"]["Lv"], colorimetry(end, 380, 780, 4)["Lv"]
            if abs(lv_end - lv_start) > 0.05 * max(lv_start, 1e-12):
                # −1 "Light source not constant"; −12 in adaptive mode ([PRRM] p.122). The 5 %
                # criterion is ours (guess).
                code = -12 if self.setup["E"] == 0 else -1
            else:
                spectrum = 0.5 * (start + end)   # the exposure integrates over the time
                pending["spectrum"] = spectrum
                pending["colorimetry"] = colorimetry(spectrum, 380, 780, 4)
        if code:
            self.error = code
        self._data_code = code
        self._data = pending if code == 0 else None
        report, self._after = self._after, None
        if report is not None:
            self._emit_with(self._report(report), self._after_actions, b"\r\n")

    # -- commands -----------------------------------------------------------
    def _handle(self, command: str) -> bytes | None:
        if command == "PHOTO":
            if self.remote:
                # A unit in remote mode "only responds the first time it's asked to go into
                # remote mode" (Psychtoolbox PR670init.m, client): here an unknown command.
                return self._fail(-1000)
            self.remote = True
            return self.banner
        if command == "Q":
            self.remote = False
            return None
        letter, rest = command[:1], command[1:]
        if letter in ("M", "D") and rest.isdigit():
            if letter == "M":
                # "If an M command is sent, a measurement will always be made" (p.113).
                self._start_measurement(int(rest))
                return None
            return self._report(int(rest))
        if letter == "S":
            return self._setup_command(rest)
        if command in ("C", "E"):
            if command == "C":
                self.error = 0       # "Clears the current instrument error" (p.105)
            else:
                self.echo = not self.echo  # toggled; echoing itself is not modelled
            return None          # "Response: None" (p.105)
        if command == "I":
            return (self.code(self.error) if self.error else self.ack).encode() + b"\r\n"
        if letter == "L":
            if len(rest) > 20:
                return self._fail(-1021)       # "Measurement title too long" (p.123)
            if not rest:
                return self._fail(-1022) if not self.title else \
                    f"{self.ack},{self.title}\r\n".encode()
            self.title = rest
            return self.ack.encode() + b"\r\n"
        if letter in ("B", "X") and rest.isdigit() and 0 <= int(rest) <= 100:
            # Text answers ([PRRM] B p.105, X p.106).
            what = "Backlight" if letter == "B" else "Contrast"
            return f"{what} set to {int(rest)} %\r\n".encode()
        if command == "F":
            return self._frequency()
        return self._fail(-1000)               # "Illegal command" (p.122)

    def _setup_command(self, rest: str) -> bytes:
        """``S<specifier><value>[CR]`` → ``0000`` or the parsing error ([PRRM] pp.107-112,
        codes pp.122-123)."""
        spec, value = rest[:1], rest[1:]
        if spec == "Q":
            spec = "S"   # the SS heading's syntax line reads "SQf[CR]" (p.111): both accepted
        rule = SETUP_RANGES.get(spec)
        if rule is None:
            return self._fail(-1000)
        error, allowed = rule
        if error == -1035:
            return self._fail(-1035)           # PR-670 only: "Parameter not applicable"
        if "," in value:
            return self._fail(-1001)           # "Too many fields in setup command"
        if spec in "ABC" and value == "0":
            return self._fail(-1006)           # MS-75 (code 0) "is not an Addon accessory"
        if not re.fullmatch(r"-?\d+", value) or int(value) not in allowed:
            return self._fail(error)
        self.setup[spec] = int(value)
        return self.ack.encode() + b"\r\n"

    def _frequency(self) -> bytes:
        """``F``: ``0000,ff.ff Hertz (Period = nnnnn milliseconds)`` ([PRRM] F p.105); a source
        without a flicker frequency (DC drive) → −3 "Cannot Sync to light source" (guess)."""
        f_Hz = getattr(self.source, "flicker_frequency_Hz", None)
        if not f_Hz or not 20.0 <= f_Hz <= 400.0:
            return self._fail(-3)
        return f"{self.ack},{f_Hz:.2f} Hertz (Period = {1e3 / f_Hz:.2f} milliseconds)\r\n".encode()

    def _start_measurement(self, code: int) -> None:
        colo = colorimetry(np.asarray(self.source.spectral_radiance_W_sr_m2_nm(
            self.WAVELENGTH_NM), dtype=float), 380, 780, 4)
        t_meas, t_exp = pr655_measuring_time_s(colo["Lv"], self.setup["E"], self.setup["N"])
        signal = colo["Lv"] * t_exp
        failure = self._state_fault("meter_error")
        if failure is not None and failure.code < 0:
            quality = int(failure.code)
        elif signal > self.signal_max or self._over_range_fault():
            quality = -2     # "Light overload – signal too intense" (p.122)
        elif signal < self.signal_min:
            quality = -8     # "Weak light – insufficient signal" (p.122)
        elif self.setup["S"] == 1 and not getattr(self.source, "flicker_frequency_Hz", None):
            quality = -10    # "Cannot Auto Sync to light source" (p.122): a DC source (guess)
        else:
            quality = 0
        spectrum = self._sample(self.WAVELENGTH_NM)
        self._pending = {"spectrum": spectrum, "colorimetry": colorimetry(spectrum, 380, 780, 4),
                         "exposure_s": t_exp, "code": quality}
        self._after = code
        self._after_actions = self._actions
        self._meas_done_s = self.clock.time() + t_meas

    def _report(self, code: int) -> bytes:
        """The reply to data code ``code`` ([PRRM] pp.113-121): −2000 for a code that does not
        exist or a measured value before any measurement (p.123); after a failed measurement its
        quality code alone (whether data follow it is not stated: guess)."""
        lines = data_reply(self, code, self._data)
        if lines is None:
            failed = code in MEASURED_CODES and self._data is None and self._data_code != -2000
            return self._fail(self._data_code if failed else -2000)
        return ("\r\n".join(lines) + "\r\n").encode()

    def luminance_factor(self) -> float:
        """Reported luminance per cd/m²: 1 in Metric, 1/3.426 (footlamberts) in English."""
        return 1.0 if self.units == 1 else 1.0 / FOOTLAMBERT_CD_M2
