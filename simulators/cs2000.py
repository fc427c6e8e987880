"""Simulated Konica Minolta CS-2000 / CS-2000A spectroradiometer (serial, on a pseudo-terminal).

It speaks the instrument's command set as the vendor documents it, measures the pixel it
looks at (any ``source`` with ``spectral_radiance_W_sr_m2_nm(wavelength_nm)``) on the bench's
scaled clock over 380–780 nm at 1 nm, and answers in the instrument's reply formats
(:mod:`simulators.cs2000_formats`). Photometry: :mod:`simulators.colorimetry`.

Sources, cited as "[CS7] p.n" in the docstrings below:

* **[CS7]** Konica Minolta, *Spectroradiometer CS-2000/CS-2000A Communication
  Specifications*, Rev. 7.00, July 21 2020, KMSE A0E3-CS.07E (89 pp.; page = footer "n/89").
* **[CS08]** Konica Minolta, *Spectroradiometer CS-2000 Communication Specifications*,
  KMSE-TI-08002, first issue, February 4 2008 (57 pp.; the first firmware, 1.01.0000).

What the documents leave open is marked "guess" where it is modelled; the table of every
behaviour with its source and status is ``docs/instrument-fidelity.md``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .colorimetry import cct_and_dominant, cie_tables, colorimetry
from .cs2000_formats import (COLORIMETRIC_BLOCKS, SPECTRAL_BLOCKS, ascii_value, hex_value)
from .cs2000_settings import CS2000Settings, Refused as _Refused
from .serial_meter import SerialMeter

__all__ = ["CS2000Simulator", "cs2000_measuring_time_s", "cs2000_premeasurement_s",
           "firmware_at_least"]

#: Firmware from which ``RMTS,2`` (remote without writing settings to flash) is accepted
#: ([CS7] RMTS p.12: "can be used if the firmware version is '3.00.9301' or higher").
RMTS2_FIRMWARE = "3.00.9301"
#: Last firmware of the first issue: calculation errors are sent as "0" ([CS7] (*1) pp.78-81).
OLD_FIRMWARE = "1.01.0000"

#: Measuring angle [deg] → its code in STSR and MEDR,0 field 7 ([CS7] STSR p.23, MEDR p.44).
ANGLE_CODES = {1.0: 0, 0.2: 1, 0.1: 2}

#: Quantities from :func:`simulators.colorimetry.cct_and_dominant` (slow: computed on demand).
_CCT_QUANTITIES = frozenset({"T", "duv", "lambda_d", "Pe", "T10", "duv10", "lambda_d10", "Pe10"})

#: Commands whose settings ``RMTS,2`` still writes to flash ([CS7] RMTS table p.13, "Y").
_FLASH_EVEN_IN_RMTS2 = {"UCPS", "UCCD", "ALFS", "NFCS", "STDS", "STDD", "STAD", "TGDS", "TGDD",
                        "TGAD", "INIT"}


def firmware_at_least(version: str, reference: str) -> bool:
    """Whether firmware ``version`` (``"a.bb.cccc"``) is ``reference`` or later."""
    return _version(version) >= _version(reference)


def _version(text: str) -> tuple[int, ...]:
    try:
        parts = tuple(int(p) for p in str(text).split("."))
    except ValueError:
        parts = ()
    if len(parts) != 3:
        raise ValueError(f"firmware = {text!r} is not a version: use the form '3.00.9301'")
    return parts


def cs2000_premeasurement_s(luminance_cd_m2: float) -> float:
    """Duration of the pre-measurement that follows ``MEAS,1`` [s].

    [CS7] MEAS p.41 says only "Instrument performs pre-measurement. Time required: About 1 to
    10s". Our law (guess): 1 s at 100 cd/m² and above, 10 s at 0.01 cd/m² and below,
    log-linear in between (the dimmer the source, the longer the exposure search).
    """
    lum = max(float(luminance_cd_m2), 1e-12)
    fraction = min(max(math.log10(100.0 / lum) / 4.0, 0.0), 1.0)
    return 1.0 + 9.0 * fraction


def cs2000_measuring_time_s(luminance_cd_m2: float, speed_mode: int = 0,
                            integration_s: float | None = None) -> tuple[float, float]:
    """Time of the actual measurement (after the pre-measurement) for a source of given luminance.

    Parameters
    ----------
    luminance_cd_m2 : float
        Luminance of the measured spot [cd/m²].
    speed_mode : int
        0 normal, 1 fast, 2 multi-integration normal, 3 manual, 4 multi-integration fast.
    integration_s : float, optional
        Manual integration time (mode 3) or the multi-integration time (modes 2, 4) [s].

    Returns
    -------
    (measuring_time_s, integration_s) : tuple of float
        Time from the ``OK00,ttt`` reply to the completion reply, and the CCD integration
        time [s].

    Notes
    -----
    The document gives the range only: ttt is "002 to 242" s ([CS7] MEAS p.41). Our law,
    shaped on public figures (vendor brochure: normal mode ≈ 1 s for bright sources up to
    ~4 min at the 0.003 cd/m² floor; users report ~1 s bright, ~24 s dim): the auto-exposure
    integration time falls as 1/L,

        t_int = clip(t_ref · (1 cd/m²) / L, t_min, t_max),

    with (t_ref, t_min, t_max) = (2 s, 5 ms, 120 s) in normal and (0.5 s, 5 ms, 8 s)
    in fast mode, and the measurement takes a shutter/readout overhead of 1 s
    plus a light and a dark frame: T = 1 s + 2·t_int. Normal mode: 1.04 s at
    100 cd/m², 5 s at 1 cd/m², 41 s at 0.1 cd/m², 241 s below 0.017 cd/m².
    """
    lum = max(float(luminance_cd_m2), 1e-12)
    if speed_mode == 3:
        t_int = float(integration_s)
    else:
        t_ref, t_max = (0.5, 8.0) if speed_mode in (1, 4) else (2.0, 120.0)
        t_int = min(max(t_ref / lum, 0.005), t_max)
        if speed_mode in (2, 4) and integration_s is not None:
            t_int = min(t_int, float(integration_s))
    return 1.0 + 2.0 * t_int, t_int


class CS2000Simulator(CS2000Settings, SerialMeter):
    """Konica Minolta CS-2000 / CS-2000A spectroradiometer (USB virtual COM / RS-232C).

    Parameters
    ----------
    source : object
        ``spectral_radiance_W_sr_m2_nm(wavelength_nm) -> ndarray`` of the pixel in view.
    clock : simulators.clock.ScaledClock
        Bench clock; pre-measurement and measuring times elapse on it.
    faults : simulators.faults.FaultPlan, optional
        This instrument's plan (``drop``, ``delay``, ``garble``, ``error``, ``over_range``,
        ``calc_error``, ``meter_error``).
    noise : object, optional
        ``noise.apply(spectrum, "spectrum")`` adds measurement noise; None = exact.
    angle_deg : {1.0, 0.2, 0.1}
        Measuring angle (a lever on the instrument; read by ``STSR``). Sets the luminance
        range of the normal mode: 1°: 0.003-5,000; 0.2°: 0.075-125,000; 0.1°: 0.3-500,000
        cd/m² (remembered catalogue figures, not in the documents read: guess). Above it →
        ``ER10``.
    model : {"CS-2000", "CS-2000A"}
    serial_number : str
        Up to 7 digits ([CS7] IDDR p.14).
    firmware : str
        ``"a.bb.cccc"``. ≥ 3.00.9301 takes ``RMTS,2``; ≤ 1.01.0000 sends "0" for calculation
        errors. A CS-2000A has firmware 1.10.0003 or later ([CS7] §2 p.10).
    button_enabled : bool
        Whether the measuring button works in remote mode at power-on (``MSWE``); the
        factory setting is "Disabled" ([CS7] INIT p.75).
    rmts2_refusal : str
        What firmware older than 3.00.9301 answers to ``RMTS,2``: not documented; ``"ER17"``
        (parameter out of range, the code RMTS lists for that) by default, guess.
    busy_meas1_reply : str
        ``MEAS,1`` during a measurement: ``"ER17"`` as [CS7] MEAS p.42 lists it; p.41's
        general rule would give ``"ER00"``.
    premeasurement_input : {"drop", "queue"}
        What becomes of bytes that arrive during the pre-measurement ("No commands will be
        accepted", [CS7] p.41): dropped (default, guess) or answered afterwards.
    """

    role = "spectroradiometer"
    WAVELENGTH_NM = np.arange(380, 781, 1, dtype=float)
    _RANGES_CD_M2 = {1.0: (0.003, 5_000.0), 0.2: (0.075, 125_000.0), 0.1: (0.3, 500_000.0)}

    def __init__(self, source: Any, clock: Any, faults: Any = None, noise: Any = None, *,
                 angle_deg: float = 0.2, model: str = "CS-2000", serial_number: str = "1000123",
                 firmware: str = RMTS2_FIRMWARE, button_enabled: bool = False,
                 rmts2_refusal: str = "ER17", busy_meas1_reply: str = "ER17",
                 premeasurement_input: str = "drop"):
        super().__init__(source, clock, faults, noise)
        if angle_deg not in self._RANGES_CD_M2:
            raise ValueError(f"angle_deg = {angle_deg!r} is not allowed: use one of 1.0, 0.2, 0.1")
        if model not in ("CS-2000", "CS-2000A"):
            raise ValueError(f"model = {model!r} is not allowed: use 'CS-2000' or 'CS-2000A'")
        if not (str(serial_number).isdigit() and len(str(serial_number)) <= 7):
            raise ValueError(f"serial_number = {serial_number!r} is not allowed: up to 7 digits")
        if model == "CS-2000A" and not firmware_at_least(firmware, "1.10.0003"):
            raise ValueError(f"firmware = {firmware!r} is not allowed for a CS-2000A: "
                             "1.10.0003 or later")
        _version(firmware)
        if premeasurement_input not in ("drop", "queue"):
            raise ValueError(f"premeasurement_input = {premeasurement_input!r} is not allowed: "
                             "use 'drop' or 'queue'")
        for name, code in (("rmts2_refusal", rmts2_refusal),
                           ("busy_meas1_reply", busy_meas1_reply)):
            if code not in ("ER00", "ER17"):
                raise ValueError(f"{name} = {code!r} is not allowed: use 'ER00' or 'ER17'")
        self.angle_deg = float(angle_deg)
        self.model = model
        self.serial_number = str(serial_number)
        self.firmware = firmware
        self.old_firmware = not firmware_at_least(firmware, "1.10.0003")
        self.rmts2_refusal = rmts2_refusal
        self.busy_meas1_reply = busy_meas1_reply
        self.premeasurement_input = premeasurement_input
        #: 0 key mode (power-on), 1 remote (settings to flash), 2 remote (no flash writes).
        self.remote_mode = 0
        self.measuring_switch = int(bool(button_enabled))
        self.speed_mode = (0, None, 2)  # (mode, time field, ND mode) — ND 2 = auto
        self.sync_mode = (0, None)      # (mode, frequency ×100)
        self.calibration_channel = 0
        self.close_up_lens = 0
        self.external_nd = 0
        self.observer = 0
        #: Settings written to the flash memory (FROM) so far ([CS7] RMTS pp.12-13, §1.7 p.9).
        self.flash_writes = 0
        # Measurement: phase "idle" | "pre" | "measuring", started by "command" | "button".
        self.phase = "idle"
        self.started_by: str | None = None
        self._phase_end_s: float | None = None
        self._meas_term = b"\n"
        self._meas_actions = None
        self._pending: dict | None = None
        self._data: dict | None = None
        self._data_error: str = "ER20"
        self._blocks_read: set[int] = set()
        cie_tables(380, 780, 1)  # warm the table cache off the serving thread

    @property
    def remote(self) -> bool:
        """In remote mode (``RMTS,1`` or ``RMTS,2``)."""
        return self.remote_mode != 0

    @property
    def luminance_range_cd_m2(self) -> tuple[float, float]:
        """Normal-mode luminance range of the selected measuring angle [cd/m²]."""
        return self._RANGES_CD_M2[self.angle_deg]

    # -- the front panel (tests) ----------------------------------------------
    def press_measure_button(self) -> bool:
        """Press MEASURE on the instrument; True if a measurement started.

        In remote mode the key works only after ``MSWE,1`` ([CS7] §1.3.1-1.3.2 p.7); such a
        measurement sends nothing on the line: a host polls ``MEDR`` ([CS7] §8.2 p.86).
        """
        with self.lock:
            self._update()
            if self.phase != "idle" or (self.remote and not self.measuring_switch):
                return False
            self._begin("button", b"\n", None)
            return True

    # -- framing: the delimiter ([CS7] §1.4 p.8) -------------------------------
    def _receive(self, data: bytes) -> None:
        self._update()
        if self._deaf() and self.premeasurement_input == "drop":
            return  # "No commands will be accepted during pre-measurement" (p.41)
        self._buf += data

    def _deaf(self) -> bool:
        """In the pre-measurement of a MEAS-started measurement ([CS7] MEAS p.41). A button
        measurement answers MEDR polls with ER02 from the start, as the §8.2 figure (p.86)
        shows them (guess: the documents do not say whether its pre-measurement is deaf)."""
        return self.phase == "pre" and self.started_by == "command"

    def _process(self) -> None:
        while not (self._deaf() and self.premeasurement_input == "queue"):
            i_cr, i_lf = self._buf.find(b"\r"), self._buf.find(b"\n")
            ends = [i for i in (i_cr, i_lf) if i >= 0]
            if not ends:
                return
            end = min(ends)
            if end == i_cr and i_lf == end + 1:
                term, skip = b"\r\n", 2
            else:
                term, skip = (b"\r" if end == i_cr else b"\n"), 1
            line = bytes(self._buf[:end])
            del self._buf[:end + skip]
            if not line.strip():
                continue  # a stray terminator
            self._dispatch(line.decode("ascii", "replace").strip(),
                           lambda cmd, t=term: self._handle(cmd, t), term)

    def _error_reply(self, code: int) -> bytes:
        code = abs(int(code))
        return f"ER{code:02d}".encode() if code < 100 else b"ER99"

    def _handle(self, command: str, term: bytes) -> bytes | None:
        reply = self._answer(command, term)
        return None if reply is None else reply.encode("ascii") + term

    # -- the measurement -------------------------------------------------------
    def _pending_sim_s(self) -> float | None:
        return self._phase_end_s

    def _begin(self, started_by: str, term: bytes, actions) -> None:
        """Start the pre-measurement: look at the source, fix the outcome and the times.

        The data are taken when the actual measurement starts (:meth:`_take_data`); the
        pre-measurement only sets the integration time and the measuring time ([CS7] p.41).
        """
        colo = colorimetry(np.asarray(self.source.spectral_radiance_W_sr_m2_nm(
            self.WAVELENGTH_NM), dtype=float), 380, 780, 1)
        mode, time_field, nd_mode = self.speed_mode
        integration = {3: (time_field or 0) / 1e6, 2: time_field, 4: time_field}.get(mode)
        t_meas, t_int = cs2000_measuring_time_s(colo["Lv"], mode,
                                                None if integration is None else float(integration))
        lo, hi = self.luminance_range_cd_m2
        failure = self._state_fault("meter_error")
        if failure is not None:
            error = f"ER{abs(failure.code):02d}"
        else:
            error = "ER10" if colo["Lv"] > hi or self._over_range_fault() else None
        internal_nd = nd_mode == 1 or (nd_mode == 2 and colo["Lv"] > 0.1 * hi)  # guess
        self._pending = {
            "integration_s": t_int,
            "calc_error": self._state_fault("calc_error") is not None,
            "conditions": (mode, self.sync_mode[0], t_int, int(internal_nd), self.close_up_lens,
                           self.external_nd, ANGLE_CODES[self.angle_deg],
                           self.calibration_channel),
            "error": error, "measuring_s": t_meas}
        # "Measurement data are cleared when the next measurement is started" (p.45, p.86).
        self._data, self._data_error, self._blocks_read = None, "ER20", set()
        self.phase, self.started_by = "pre", started_by
        self._phase_end_s = self.clock.time() + cs2000_premeasurement_s(colo["Lv"])
        self._meas_term, self._meas_actions = term, actions

    def _take_data(self, pending: dict, *, end: bool = False) -> None:
        """Sample the source (with the instrument's noise) as the actual measurement starts and
        as it ends; the data are the mean of the two (the integration spans the measurement)."""
        spectrum = self._sample(self.WAVELENGTH_NM)
        if end and "spectrum" in pending:
            spectrum = 0.5 * (pending["spectrum"] + spectrum)
        pending["spectrum"] = spectrum
        if end:
            pending["colorimetry"] = colorimetry(spectrum, 380, 780, 1)

    def _update(self) -> None:
        """Move the measurement on along the simulated clock, emitting its replies."""
        while self._phase_end_s is not None and self.clock.time() >= self._phase_end_s:
            if self.phase == "pre":
                actions = self._meas_actions
                if self.started_by == "command" and actions and actions.errors:
                    # An ``error`` fault on MEAS,1: its code ends the measurement here.
                    self._pending, self.phase, self._phase_end_s = None, "idle", None
                    self._emit_with(b"OK00" + self._meas_term, actions, self._meas_term)
                    return
                ttt = min(max(math.ceil(self._pending["measuring_s"] - 1e-9), 2), 242)
                self._take_data(self._pending)
                self.phase = "measuring"
                self._phase_end_s += self._pending["measuring_s"]
                if self.started_by == "command":
                    # "Error-check code,[2]": 3-digit time from this reply (p.41).
                    self._emit_with(f"OK00,{ttt:03d}".encode() + self._meas_term,
                                    self._meas_actions, self._meas_term)
                continue
            pending, self._pending = self._pending, None
            self.phase, self._phase_end_s = "idle", None
            self._take_data(pending, end=True)
            if pending["error"] is None:
                self._data, self._data_error = pending, "ER20"
            else:
                self._data, self._data_error = None, pending["error"]
            if self.started_by == "command":
                self._emit((pending["error"] or "OK00").encode() + self._meas_term)

    # -- commands ---------------------------------------------------------------
    def _answer(self, command: str, term: bytes) -> str | None:
        head, _, rest = command.partition(",")
        args = rest.split(",") if rest else []
        if not self.remote:
            # Key mode: "will not accept any commands other than RMTS … 'ER00'" (p.12).
            return self._cmd_RMTS(args) if head == "RMTS" else "ER00"
        if self.phase != "idle":
            return self._while_measuring(head, args)
        handler = getattr(self, f"_cmd_{head}", None)
        if handler is None or not head.isupper():
            return "ER00"  # "Received command string was not a valid command" (§4 p.76)
        try:
            if head == "MEAS":
                return self._cmd_MEAS(args, term)
            reply = handler(args)
        except _Refused as refused:
            return str(refused)
        if head in self.SETTINGS and reply == "OK00" and (
                self.remote_mode == 1 or head in _FLASH_EVEN_IN_RMTS2):
            self.flash_writes += 1
        return reply

    def _while_measuring(self, head: str, args: list[str]) -> str:
        """[CS7] p.41: "During actual measurement, commands other than 'MEAS,0' will result in
        a response of 'ER00'"; p.42: "'MEAS,1' sent while measurement is already in progress"
        → ER17. A button-started measurement answers MEDR with ER02 "Measurement in process"
        ([CS8] MEDR pp.9-10: ER02 "only when measurement button is enabled"; [CS7] §8.2
        p.86)."""
        if head == "MEAS" and args == ["0"]:
            self.phase, self.started_by, self._phase_end_s = "idle", None, None
            self._pending = None  # cancelled: no completion reply follows ([CS08] p.6 flow)
            return "OK00"
        if head == "MEAS" and args == ["1"]:
            return self.busy_meas1_reply
        if head == "MEDR" and self.started_by == "button":
            return "ER02"
        return "ER00"

    def _cmd_RMTS(self, args: list[str]) -> str:
        """``RMTS,0|1|2`` ([CS7] pp.12-13): 0 key mode, 1 remote, 2 remote without flash
        writes (firmware ≥ 3.00.9301). Errors: ER00 (string / parameter count), ER17 (range)."""
        try:
            (mode,) = self._ints(args, (1,), 1)
        except _Refused as refused:
            return str(refused)
        if mode not in (0, 1, 2):
            return "ER17"
        if mode == 2 and not firmware_at_least(self.firmware, RMTS2_FIRMWARE):
            return self.rmts2_refusal  # not documented for older firmware: guess
        self.remote_mode = mode
        return "OK00"

    def _cmd_IDDR(self, args: list[str]) -> str:
        """``OK00,<name 9 char>,<variation>,<serial 7 digits>`` ([CS7] IDDR p.14); the name is
        padded with spaces to 9 bytes ([CS08] IDDR p.38; trailing padding: guess)."""
        self._ints(args, (0,))
        variation = 1 if self.model == "CS-2000" else 2
        return f"OK00,{self.model:<9},{variation},{int(self.serial_number):07d}"

    def _cmd_STSR(self, args: list[str]) -> str:
        """Measuring angle: ``OK00,<0 = 1°|1 = 0.2°|2 = 0.1°>`` ([CS7] STSR p.23)."""
        self._ints(args, (0,))
        return f"OK00,{ANGLE_CODES[self.angle_deg]}"

    def _cmd_MSWE(self, args: list[str]) -> str:
        """Measuring button in remote mode: 0 disabled, 1 enabled ([CS7] MSWE p.46)."""
        (state,) = self._ints(args, (1,), 1)
        if state not in (0, 1):
            return "ER17"
        self.measuring_switch = state
        return "OK00"

    def _cmd_MEAS(self, args: list[str], term: bytes) -> str | None:
        """``MEAS,1`` → after the pre-measurement ``OK00,ttt`` → after ttt s ``OK00`` (or the
        measurement's error); ``MEAS,0`` when idle → ER17 ([CS7] MEAS pp.41-42)."""
        (arg,) = self._ints(args, (1,), 1)
        if arg == 0:
            return "ER17"  # "'MEAS,0' sent when measurement is not in progress"
        if arg != 1:
            return "ER17"
        self._begin("command", term, self._actions)
        return None  # the replies come from _update

    def _cmd_MEDR(self, args: list[str]) -> str:
        """``MEDR,<mode>,<format>,<block>`` ([CS7] MEDR pp.43-45, §5 pp.78-81)."""
        mode, fmt, block = self._ints(args, (3,), 3)
        if mode not in (0, 1, 2) or fmt not in (0, 1):
            return "ER17"
        if (mode == 0 and block != 1) or (mode == 1 and block not in SPECTRAL_BLOCKS) or \
                (mode == 2 and block not in COLORIMETRIC_BLOCKS):
            return "ER17"
        if self._data is None:
            error = self._data_error
            if self.measuring_switch and error != "ER20":
                # Button enabled: "When the error-check code is read, measurement data are
                # cleared" ([CS08] MEDR p.9).
                self._data_error = "ER20"
            return error
        data = self._data
        if mode == 0:
            return self._conditions_reply(data)
        old, calc = self.old_firmware, data["calc_error"]
        if mode == 1:
            first, count = SPECTRAL_BLOCKS[block]
            values = data["spectrum"][first:first + count]
            text = [hex_value(float(v), calc_error=calc, old_firmware=old) if fmt else
                    ascii_value("spectral", float(v), calc_error=calc, old_firmware=old)
                    for v in values]
            self._blocks_read.add(block)
            if self.measuring_switch and self._blocks_read >= set(SPECTRAL_BLOCKS):
                self._data = None  # "all 4 blocks of spectral data" read (p.45, p.86)
        else:
            needs_cct = any(q in _CCT_QUANTITIES for q in COLORIMETRIC_BLOCKS[block])
            values = self._colorimetric(data) if needs_cct else data["colorimetry"]
            text = []
            for q in COLORIMETRIC_BLOCKS[block]:
                cct = q in ("T", "duv", "T10", "duv10")  # only in blocks that need cct
                bad = calc or (cct and values["cct_out10" if q.endswith("10") else "cct_out"])
                text.append(hex_value(values[q], calc_error=bad, old_firmware=old) if fmt else
                            ascii_value(q, values[q], calc_error=bad, old_firmware=old))
            if self.measuring_switch:
                self._data = None  # "any 1 set of colorimetric data" read (p.45, p.86)
        return "OK00," + ",".join(text)

    @staticmethod
    def _conditions_reply(data: dict) -> str:
        """``OK00,<speed>,<sync>,<µs 9 digits>,<int. ND>,<lens>,<ext. ND>,<angle>,<cal 2 digits>``
        ([CS7] MEDR p.44)."""
        speed, sync, t_int, nd, lens, ext_nd, angle, cal = data["conditions"]
        return (f"OK00,{speed},{sync},{round(t_int * 1e6):09d},{nd},{lens},{ext_nd},{angle},"
                f"{cal:02d}")

    @staticmethod
    def _colorimetric(data: dict) -> dict:
        """Colorimetric values of a measurement; T and Δuv flagged out of their range.

        A chromaticity far from the Planckian locus has no meaningful CCT: we send T and Δuv
        as calculation errors when |Δuv| > 0.05 or T is outside 1,000-100,000 K (guess: the
        documents do not say when the instrument's CCT calculation fails).
        """
        values = data.get("all")
        if values is None:
            extra = cct_and_dominant(data["colorimetry"])
            values = {**data["colorimetry"], **extra}
            for suffix in ("", "10"):
                t, duv = extra[f"T{suffix}"], extra[f"duv{suffix}"]
                values[f"cct_out{suffix}"] = not (1_000.0 <= t <= 100_000.0 and abs(duv) <= 0.05)
            data["all"] = values
        return values
