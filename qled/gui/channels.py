"""Several lifetime channels from one window: the ``channels`` input and its validation.

The lifetime window's inputs are those of :class:`LifetimeChannelsInputs`, i.e.
:class:`~procedures.lifetime.LifetimeProcedure`'s plus ``channels`` (pixels stressed at
once). With ``channels`` = 1 a queued run is the plain ``LifetimeProcedure`` (one file,
as before). With N > 1 the queued procedure is a :class:`LifetimeChannelsInputs` holding
the inputs; its worker runs them through :func:`procedures.lifetime_channels.run_channels`, as
``qled run lifetime --channels N`` does (channel k stresses pixel P+k-1, one run file
each). Its records carry a ``channel`` column so the L/L0-t and V-t plots draw one curve
per channel. Nothing here imports Qt.
"""
from __future__ import annotations

from pymeasure.experiment import IntegerParameter

from procedures.base import build_procedure
from procedures.lifetime import LifetimeProcedure

__all__ = ["LifetimeChannelsInputs", "MAX_GUI_CHANNELS", "window_procedure_class",
           "channel_values", "build_window_procedure"]

#: Most channels one window run stresses at once.
MAX_GUI_CHANNELS = 16


class LifetimeChannelsInputs(LifetimeProcedure):
    """Operational lifetime: constant-current stress, L(t) and V(t) to L/L0 = stop fraction.

    The window's inputs (never executed itself: each channel runs a ``LifetimeProcedure``).
    """

    channels = IntegerParameter("Channels (pixels stressed at once; channel k = pixel "
                                "P+k-1)", minimum=1, maximum=MAX_GUI_CHANNELS, default=1)

    DATA_COLUMNS = LifetimeProcedure.DATA_COLUMNS + ["channel"]

    def execute(self):  # pragma: no cover - the worker runs run_channels instead
        raise RuntimeError("LifetimeChannelsInputs is not run: its channels are")


def window_procedure_class(cls):
    """The class whose parameters are the window's inputs (lifetime: + ``channels``)."""
    return LifetimeChannelsInputs if cls is LifetimeProcedure else cls


def channel_values(values: dict, n: int) -> list[dict]:
    """Parameter values of each of ``n`` channels: channel k is pixel P+k-1 (as the CLI).

    Raises ValueError (one line) when the last pixel would be beyond the highest one.
    """
    first = int(values.get("pixel", 1))
    top = LifetimeProcedure.pixel.maximum
    if not 1 <= n <= MAX_GUI_CHANNELS:
        raise ValueError(f"channels = {n} is out of range: allowed 1 … {MAX_GUI_CHANNELS}")
    if not 1 <= first <= top - n + 1:
        raise ValueError(f"pixel = {first} with channels = {n} is out of range: channel k is "
                         f"pixel {first}+k-1, so allowed 1 … {top - n + 1}")
    return [dict(values, pixel=first + c - 1) for c in range(1, n + 1)]


def build_window_procedure(run_class, values: dict, *, station_object=None):
    """The procedure to queue from the window's input ``values`` (validated; raises
    ValueError with one line).

    ``channels`` = 1 (or a window without that input): ``run_class`` itself, as before.
    N > 1: a :class:`LifetimeChannelsInputs` whose ``channel_values`` are validated as
    :func:`~procedures.lifetime.run_channels` will validate them, before anything
    connects.
    """
    values = dict(values)
    n = int(values.pop("channels", 1) or 1)
    if n == 1 or run_class is not LifetimeProcedure:
        return build_procedure(run_class, values, station_object=station_object)
    if station_object is not None:
        raise ValueError(f"channels = {n}: several channels need the window to open its own "
                         "station (it was given an open one): allowed channels = 1")
    if int(values.get("channel", 1)) != 1:
        raise ValueError(f"channel = {values['channel']} with channels = {n}: channel k of a "
                         "several-channel run is lifetime channel k; allowed channel = 1")
    per_channel = channel_values(values, n)
    for c, v in enumerate(per_channel, start=1):
        build_procedure(LifetimeProcedure, dict(v, channel=c))
    inputs = build_procedure(LifetimeChannelsInputs, dict(values, channels=n))
    inputs.channel_values = per_channel
    return inputs
