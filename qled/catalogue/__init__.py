"""The lab-wide run catalogue on Tiled: publish finished run files, find runs by metadata.

``metadata`` lifts a run file's searchable metadata (station, sample, pixel, kind, status,
operator, dates, scalar figures of merit of ``/analysis``); ``client`` registers files in a
Tiled catalogue (replacing an earlier entry of the same run) and queries it into a pandas
DataFrame. Tiled is the optional extra ``catalogue``: it is imported only when used.
"""
from __future__ import annotations

from qled.catalogue.client import API_KEY_ENV, api_key, copy_to_share, find, publish
from qled.catalogue.metadata import FINISHED, RunNotFinished, lift_metadata, run_id

__all__ = ["API_KEY_ENV", "FINISHED", "RunNotFinished", "api_key", "copy_to_share", "find",
           "lift_metadata", "publish", "run_id"]
