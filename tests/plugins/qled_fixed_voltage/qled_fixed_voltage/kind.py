"""The one registration qled-bench needs (entry point ``qled_bench.kinds``)."""
from qled.kinds import Kind

from .procedure import FixedVoltageProcedure
from .report import analyze_run, write_report

KIND = Kind(name="fixed-voltage", procedure=FixedVoltageProcedure, analyze=analyze_run,
            report=write_report, sim_devices=("passivated", "pristine"),
            headlines=(("relative_change", "L_end/L_start", ".4f"),))
