"""How a CS-2000 writes its numbers: the numerical output formats and calculation-error numbers.

Source: Konica Minolta, *Spectroradiometer CS-2000/CS-2000A Communication Specifications*,
Rev. 7.00 (KMSE A0E3-CS.07E, July 21 2020), §5 "Numerical output formats", pp. 78-81; below
"[CS7]". Every format here is the document's; where it leaves a case open, the docstring of
the function says what we chose and marks it a guess.

Quantities are named by their key in :class:`simulators.colorimetry.Colorimetry` (or the
CCT/dominant-wavelength keys of :func:`simulators.colorimetry.cct_and_dominant`) plus
``"spectral"`` for the spectral blocks.
"""
from __future__ import annotations

import math
import struct

__all__ = ["COLORIMETRIC_BLOCKS", "SPECTRAL_BLOCKS", "CALC_ERROR_HEX", "CALC_ERROR_ASCII",
           "kind_of", "ascii_value", "hex_value"]

#: Spectral blocks of ``MEDR,1,…`` → (first index into the 401 values, count) ([CS7] §5.1 p.78).
SPECTRAL_BLOCKS = {1: (0, 100), 2: (100, 100), 3: (200, 100), 4: (300, 101)}

#: Colorimetric blocks of ``MEDR,2,…`` → quantities in output order ([CS7] §5.2 p.79; MEDR p.43).
COLORIMETRIC_BLOCKS = {
    0: ("Le", "Lv", "X", "Y", "Z", "x", "y", "u_prime", "v_prime", "T", "duv", "lambda_d", "Pe",
        "X10", "Y10", "Z10", "x10", "y10", "u_prime10", "v_prime10", "T10", "duv10",
        "lambda_d10", "Pe10"),
    1: ("X", "Y", "Z"), 2: ("x", "y", "Lv"), 3: ("u_prime", "v_prime", "Lv"),
    4: ("T", "duv", "Lv"), 5: ("lambda_d", "Pe", "Lv"),
    11: ("X10", "Y10", "Z10"), 12: ("x10", "y10", "Lv"), 13: ("u_prime10", "v_prime10", "Lv"),
    14: ("T10", "duv10", "Lv"), 15: ("lambda_d10", "Pe10", "Lv"),
    100: ("Le",), 101: ("Lv",),
}

#: Hex calculation-error number: "D1BA43B6 … -9.999999e10 in hexadecimal format" ([CS7]
#: §5.1.2 p.78, §5.2.2 p.81). Compared as text: as a float it is −9.999999e10, not −9.9999e9.
CALC_ERROR_HEX = "D1BA43B6"

#: Text calculation-error number per kind of quantity ([CS7] §5.1.1 p.78, §5.2.1 pp.79-80).
CALC_ERROR_ASCII = {"exp": "-9.9999e9", "six": "-9.9e9", "chroma": "-9.999", "cct": "-9999",
                    "duv": "-9.9999"}

_KIND = {"spectral": "exp", "Le": "exp", "X": "exp", "Y": "exp", "Z": "exp", "X10": "exp",
         "Y10": "exp", "Z10": "exp", "Lv": "six", "lambda_d": "six", "Pe": "six",
         "lambda_d10": "six", "Pe10": "six", "x": "chroma", "y": "chroma", "u_prime": "chroma",
         "v_prime": "chroma", "x10": "chroma", "y10": "chroma", "u_prime10": "chroma",
         "v_prime10": "chroma", "T": "cct", "T10": "cct", "duv": "duv", "duv10": "duv"}


def kind_of(quantity: str) -> str:
    """The output-format kind of a quantity: ``exp``, ``six``, ``chroma``, ``cct`` or ``duv``."""
    try:
        return _KIND[quantity]
    except KeyError:
        raise ValueError(f"quantity = {quantity!r} is not a CS-2000 output: use one of "
                         f"{', '.join(sorted(_KIND))}") from None


def ascii_value(quantity: str, value: float, *, calc_error: bool = False,
                old_firmware: bool = False) -> str:
    """One value in the alphanumeric format of ``MEDR,<mode>,0,…``.

    Parameters
    ----------
    quantity : str
        See the module docstring.
    value : float
        The value in the instrument's unit (spectral data, Le: W sr⁻¹ m⁻² nm⁻¹ / W sr⁻¹ m⁻²;
        Lv, X, Y, Z: cd/m²; T: K; λd: nm).
    calc_error : bool
        The instrument's internal calculation failed: send the calculation-error number.
    old_firmware : bool
        CS-2000 firmware 1.01.0000 or earlier: "0" instead of the calculation-error number and
        no exponential form of Lv ([CS7] (*1), (*2) p.80).

    Notes
    -----
    [CS7] formats: spectral data, Le, X, Y, Z (and 10°) ``#.####e±#`` (4 decimals, 1-digit
    exponent), ``0.0000e-9`` below 0.00005e-9; Lv, λd, Pe six characters (``######`` …
    ``#.####``), Lv above 999,999.5 ``#.##e+#``, Lv below 0.00005 ``0.0000``; x, y, u′, v′
    ``0.####``; T an unsigned integer of at most 5 digits; Δuv ``±0.####``.

    Our choices where the document is silent (guesses): a positive exponent is written with
    its sign (``1.2345e+3``: the pattern says ``e±#``); a two-digit exponent is written in
    full; a six-character value with a five-digit integer part is space-padded on the left
    (`` 12346``, as ``%6.0f`` writes it); negative values (a complementary λd, a noisy
    spectral value) carry a leading ``-`` before the same digits; old firmware writes Lv
    above 999,999.5 as an integer.
    """
    kind = kind_of(quantity)
    if calc_error or not math.isfinite(value):
        return "0" if old_firmware else CALC_ERROR_ASCII[kind]
    if kind == "exp":
        return _exp4(value)
    if kind == "six":
        if quantity == "Lv" and value >= 999_999.5 and not old_firmware:
            mantissa, exponent = f"{value:.2e}".split("e")
            return f"{mantissa}e+{int(exponent)}"
        if quantity == "Lv" and value < 0.00005:
            return "0.0000"
        return _six(value)
    if kind == "chroma":
        return f"{abs(value):.4f}"
    if kind == "cct":
        return str(int(round(value)))
    return f"{value:+.4f}"  # duv


def hex_value(value: float, *, calc_error: bool = False, old_firmware: bool = False) -> str:
    """One value in the hexadecimal format: an IEEE-754 float32, 8 upper-case hex digits,
    big-endian ([CS7] §1.8 p.9, §5.1.2 p.78); ``D1BA43B6`` on a calculation error.

    Old firmware sends "0" for a calculation error ([CS7] (*1) p.78); we write it as the
    8-digit hex word of 0.0, ``00000000`` (guess: the document does not say how many digits).
    """
    if calc_error or not math.isfinite(value):
        return "00000000" if old_firmware else CALC_ERROR_HEX
    return struct.pack(">f", value).hex().upper()


def _exp4(value: float) -> str:
    if abs(value) < 0.00005e-9:
        return "0.0000e-9"
    mantissa, exponent = f"{value:.4e}".split("e")
    return f"{mantissa}e{int(exponent):+d}"


def _six(value: float) -> str:
    sign, magnitude = ("-", -value) if value < 0 else ("", value)
    digits = len(str(int(round(magnitude)))) if magnitude >= 1 else 1
    decimals = max(0, 5 - digits)
    text = f"{magnitude:.{decimals}f}"
    if len(text) > 6 and "." in text:        # rounding added a digit (9.99996 → 10.0000)
        text = f"{magnitude:.{max(0, decimals - 1)}f}"
    return sign + (text if "." in text else text.rjust(6))
