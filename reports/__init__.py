"""Reports: readable pages (Markdown and HTML) and figures of stored runs.

Pages read runs through :mod:`acquisition.store` and compute through :mod:`analysis`; one
module per kind of run (``jvl``, ``lifetime``, ``dlcp`` with C-V, ``sclc``, ``pl_stability``,
``trpl``), :mod:`~reports.page` for what every page shares, :mod:`~reports.figures` for the
J-V-L figures, :mod:`~reports.index` for the report of a folder of runs.
"""
