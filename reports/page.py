"""What every report page shares: a page model rendered to Markdown and HTML, run access,
number formatting and the "truth vs measured" table.

Pages read loaded runs (:func:`acquisition.store.load_run`) by duck typing: ``attrs`` (dict),
``parameters`` (name → value, ``(value, units)`` or ``{"value", "units"}``), ``data``
(DataFrame), ``spectra`` / ``wavelength_nm`` (or None), ``events`` (DataFrame), ``truth``
(dict or None) and optionally ``path``.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from collections.abc import Mapping
from pathlib import Path

# ------------------------------------------------------------------ run access
#: Run attributes shown in the metadata table at the top of every run page.
RUN_FIELDS = ("sample", "pixel", "procedure", "status", "simulated", "start_time", "end_time")


def param_value(value):
    if isinstance(value, Mapping):
        return value.get("value")
    if isinstance(value, tuple) and len(value) == 2:
        return value[0]
    return value


def param_units(value):
    if isinstance(value, Mapping):
        return value.get("units", "")
    if isinstance(value, tuple) and len(value) == 2:
        return value[1]
    return ""


def run_parameter(run, name: str, default=None):
    """Value of the stored parameter ``name`` of ``run`` (``default`` when absent)."""
    params = getattr(run, "parameters", None) or {}
    return param_value(params[name]) if name in params else default


def measured_pixel_index(run) -> int | None:
    """0-based index in ``/truth`` pixels of the pixel a run measured: the pixel its switch
    connected (``station_json`` ``routing``), else a lifetime channel's
    ``channel_pixel_index``; None when the run does not say (one pixel on the bench)."""
    attrs = getattr(run, "attrs", None) or {}
    station = attrs.get("station") if isinstance(attrs, Mapping) else None
    routing = station.get("routing") if isinstance(station, Mapping) else None
    if isinstance(routing, Mapping) and isinstance(routing.get("pixel"), int):
        return routing["pixel"] - 1
    truth = getattr(run, "truth", None) or {}
    index = truth.get("channel_pixel_index") if isinstance(truth, Mapping) else None
    return index if isinstance(index, int) else None


def pixel_device_truth(run, kind: str) -> dict | None:
    """The ``device`` truth of the pixel the run measured (:func:`measured_pixel_index`),
    else of the first simulated pixel whose device is of ``kind`` (``"led"``,
    ``"single_carrier"``, ``"pl_film"``); None for a measured run."""
    truth = getattr(run, "truth", None) or {}
    pixels = truth.get("pixels") if isinstance(truth, Mapping) else None
    pixels = list(pixels.values() if isinstance(pixels, Mapping) else pixels or [])
    index = measured_pixel_index(run)
    if index is not None and 0 <= index < len(pixels):
        pixels = [pixels[index]] + pixels
    for p in pixels:
        device = p.get("device", {}) if isinstance(p, Mapping) else {}
        if device.get("kind") == kind:
            return device
    return None


def run_label(run):
    attrs = getattr(run, "attrs", {}) or {}
    return str(attrs.get("sample", "sample")), str(attrs.get("pixel", "pixel"))


def run_stem(run, kind: str) -> str:
    """File stem of a run's page: the run file's stem, else ``<sample>_<pixel>_<kind>``."""
    path = getattr(run, "path", None)
    if path:
        return Path(path).stem
    sample, pixel = run_label(run)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{sample}_{pixel}_{kind}")


# ------------------------------------------------------------------ page model
class Page:
    """A report as blocks rendered to Markdown and to standalone HTML."""

    def __init__(self, title):
        self.title = title
        self.blocks = []

    @classmethod
    def for_run(cls, run, title, extra_rows=()):
        """A run's page opening with its metadata table (:data:`RUN_FIELDS` present in the
        run's attributes, then ``extra_rows`` of ``(field, value)``)."""
        page = cls(title)
        attrs = getattr(run, "attrs", {}) or {}
        page.table(["Field", "Value"],
                   [(k, attrs[k]) for k in RUN_FIELDS if k in attrs] + list(extra_rows))
        return page

    def heading(self, text, level=2):
        self.blocks.append(("h", level, text))

    def para(self, text):
        self.blocks.append(("p", text))

    def table(self, header, rows):
        self.blocks.append(("t", list(header), [list(map(str, r)) for r in rows]))

    def image(self, name, alt):
        self.blocks.append(("i", name, alt))

    def markdown(self):
        out = [f"# {self.title}", ""]
        for b in self.blocks:
            if b[0] == "h":
                out += ["#" * b[1] + " " + b[2], ""]
            elif b[0] == "p":
                out += [b[1], ""]
            elif b[0] == "t":
                esc = [[c.replace("|", "\\|") for c in r] for r in [b[1], *b[2]]]
                out.append("| " + " | ".join(esc[0]) + " |")
                out.append("|" + "|".join("---" for _ in esc[0]) + "|")
                out += ["| " + " | ".join(r) + " |" for r in esc[1:]]
                out.append("")
            else:
                out += [f"![{b[2]}]({b[1]})", ""]
        return "\n".join(out)

    def html(self):
        e = html.escape
        out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
               f"<title>{e(self.title)}</title>",
               "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
               "padding:.25em .6em;text-align:left}th{background:#eee}img{max-width:100%}</style>",
               "</head><body>", f"<h1>{e(self.title)}</h1>"]
        for b in self.blocks:
            if b[0] == "h":
                out.append(f"<h{b[1]}>{e(b[2])}</h{b[1]}>")
            elif b[0] == "p":
                text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)",
                              lambda m: f'<a href="{e(m[2])}">{e(m[1])}</a>', e(b[1]))
                out.append(f"<p>{text}</p>")
            elif b[0] == "t":
                out.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in b[1]) + "</tr>")
                out += ["<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in r) + "</tr>"
                        for r in b[2]]
                out.append("</table>")
            else:
                out.append(f'<p><img src="{e(b[1])}" alt="{e(b[2])}"></p>')
        out.append("</body></html>")
        return "\n".join(out)

    def truth_table(self, rows, subject="simulated device"):
        """"Truth vs measured" section; ``rows`` as :func:`truth_row` makes them."""
        rows = list(rows)
        if rows:
            self.heading(f"Truth vs measured ({subject})")
            self.table(["Quantity", "Truth", "Measured", "Unit", "Deviation"], rows)

    def add_figures(self, folder: Path, stem: str | None, figs):
        """Save each ``(name, figure, alt text)`` as ``<stem>_<name>.png`` (``<name>.png``
        without a stem) in ``folder`` and show it on the page."""
        from .figures import save_png

        for name, fig, alt in figs:
            png = save_png(fig, Path(folder) / (f"{stem}_{name}.png" if stem
                                                        else f"{name}.png"))
            self.image(png.name, alt)

    def run_details(self, run):
        """Closing sections of a run's page: its parameters and (the first 50) events."""
        params = getattr(run, "parameters", None) or {}
        if params:
            self.heading("Parameters")
            self.table(["Name", "Value", "Units"],
                       [(k, param_value(v), param_units(v)) for k, v in params.items()])
        events = getattr(run, "events", None)
        if events is not None and len(events):
            self.heading("Events")
            cols = [c for c in ("time_s", "level", "message") if c in events.columns]
            self.table(cols, events[cols].head(50).itertuples(index=False))

    def write(self, folder: Path, stem: str, html_too: bool) -> Path:
        md = folder / f"{stem}.md"
        md.write_text(self.markdown(), encoding="utf-8")
        if html_too:
            (folder / f"{stem}.html").write_text(self.html(), encoding="utf-8")
        return md


def _html_cell(text):
    m = re.fullmatch(r"\[([^\]]+)\]\(([^)]+)\)", text)
    if m:  # a Markdown link in a table cell (batch → run report)
        href = re.sub(r"\.md$", ".html", m[2])
        return f'<a href="{html.escape(href)}">{html.escape(m[1])}</a>'
    return html.escape(text)


def run_page(run, out_dir, kind: str, title: str, extra_rows=()):
    """Start a run's page: ``(folder, stem, page)`` with ``out_dir`` created, the stem of
    :func:`run_stem` and :meth:`Page.for_run`; ``{sample}`` and ``{pixel}`` in ``title``
    are the run's."""
    sample, pixel = run_label(run)
    return (report_folder(out_dir), run_stem(run, kind),
            Page.for_run(run, title.format(sample=sample, pixel=pixel), extra_rows))


def report_folder(out_dir) -> Path:
    """``out_dir`` as a Path, created if missing."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def fmt(value, spec=".3g"):
    """A number in ``spec``; "–" for None, NaN and ±inf; anything else as text."""
    if value is None or (isinstance(value, numbers.Real) and not math.isfinite(value)):
        return "–"
    if isinstance(value, numbers.Real):
        return format(value, spec)
    return str(value)


def relative_deviation(measured, truth) -> float:
    """(measured − truth)/truth; NaN when either is missing or not finite, or truth is 0."""
    try:
        m, t = float(measured), float(truth)
    except (TypeError, ValueError):
        return math.nan
    return (m - t) / t if t != 0 and math.isfinite(t) and math.isfinite(m) else math.nan


def deviation_text(relative, spec="+.2f") -> str:
    """A relative deviation as percent text, "–" when not finite."""
    return f"{100 * relative:{spec}} %" if relative is not None and math.isfinite(relative) \
        else "–"


def truth_row(label, truth, measured, unit="", spec=".4g", relative=None):
    """One row of :meth:`Page.truth_table`: (label, truth, measured, unit, deviation); the
    deviation is ``relative`` when given, else :func:`relative_deviation`."""
    if relative is None:
        relative = relative_deviation(measured, truth)
    return (label, fmt(truth, spec), fmt(measured, spec), unit, deviation_text(relative))



def flatten_tree(tree, prefix=""):
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            yield from flatten_tree(v, key + ".")
        else:
            yield key, v
