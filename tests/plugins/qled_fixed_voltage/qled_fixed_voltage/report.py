"""The run's analysis (from the stored run) and its page with one figure."""
from __future__ import annotations

from matplotlib.figure import Figure

from reports.page import fmt, run_page

from .analysis import luminance_drift


def analyze_run(run) -> dict:
    d = run.data
    return luminance_drift(d["time_s"], d["luminance_cd_m2"])


def write_report(run, out_dir, **options):
    folder, stem, page = run_page(run, out_dir, "fixedvoltage",
                                  "Luminance at fixed voltage — {sample} pixel {pixel}")
    a = analyze_run(run)
    page.table(["Quantity", "Value", "Unit"],
               [("L at start", fmt(a["l_start_cd_m2"], ".4g"), "cd/m²"),
                ("L at end / L at start", fmt(a["relative_change"], ".4f"), ""),
                ("Drift", fmt(a["drift_percent_per_h"], ".3g"), "%/h")])
    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(run.data["time_s"], run.data["luminance_cd_m2"], ".-")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Luminance (cd/m²)")
    page.add_figures(folder, stem, [("luminance", fig, "luminance vs time")])
    page.run_details(run)
    return page.write(folder, stem, html_too=False)
