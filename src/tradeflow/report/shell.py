"""The one report shell: every page is rendered through :func:`render_page`.

Pages open offline from a file: plotly.js is written once to ``assets/plotly.min.js`` beside
them (or inlined with ``self_contained``), no CDN, no "send to cloud" button, fixed div ids so
the same data give the same bytes. Pages built from synthetic data carry the SAMPLE banner, and each of
their charts carries the mark inside the figure (an image exported from the modebar travels without the page).
A chart with no value at all is not drawn (empty axes read as zero): the page says it was left out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup

from tradeflow.report.columns import Table, build_table

PLOTLY_CONFIG = {"displaylogo": False, "showSendToCloud": False, "responsive": True}
__all__ = ["Figure", "Page", "Table", "build_table", "render_page", "write_plotly_asset"]
ASSET = "assets/plotly.min.js"
SAMPLE_MARK = "SAMPLE (synthetic data)"

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("tradeflow.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass
class Figure:
    """A chart with what every chart must say: title, units, source and vintage."""

    id: str
    figure: go.Figure
    units: str
    source: str
    sample: bool | None = None  # from a synthetic input; None: as its page (set by render_page)

    @property
    def title(self) -> str:
        return str(self.figure.layout.title.text or self.id).replace("<br>", " ")

    def has_values(self) -> bool:
        """Any value to draw: a trace's z, else its x (horizontal bars) or y, with a number that is not null."""
        for trace in self.figure.data:
            d = trace.to_plotly_json()
            vals = d.get("z") if d.get("z") is not None else d.get("x") if d.get("orientation") == "h" else d.get("y")
            if vals is not None and pd.to_numeric(pd.Series(np.ravel(np.asarray(vals, dtype=object))),
                                                  errors="coerce").notna().any():
                return True
        return False

    def hover_units(self) -> go.Figure:
        """A copy of the figure whose traces name their unit on hover (a value read off the chart alone, e.g. from a
        screenshot, says what it counts): the value axis' title, else the figure's units. Set hovers are kept."""
        fig = go.Figure(self.figure)
        for trace in fig.data:
            if trace.hovertemplate is not None:
                continue
            if trace.type == "heatmap":
                value, at, unit = "z", "%{y}, %{x}", self.units
            else:
                horizontal = getattr(trace, "orientation", None) == "h"
                value, at = ("x", "%{y}") if horizontal else ("y", "%{x}")
                axis = fig.layout.xaxis if horizontal else fig.layout.yaxis
                unit = axis.title.text or self.units
            trace.hovertemplate = f"{at}: %{{{value}}} {unit}<extra>%{{fullData.name}}</extra>"
        return fig

    def html(self) -> Markup:
        fig = self.hover_units()
        if self.sample:  # in the figure itself, so the modebar's image download carries it (on a copy)
            fig.add_annotation(
                text=SAMPLE_MARK, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                font={"size": 26, "color": "rgba(180, 35, 24, 0.4)"})
        return Markup(fig.to_html(full_html=False, include_plotlyjs=False, div_id=self.id, config=PLOTLY_CONFIG))


@dataclass
class Page:
    slug: str
    title: str
    intro: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)  # built by tradeflow.report.columns.build_table
    notes: list[str] = field(default_factory=list)  # extra paragraphs (HTML-escaped)
    grid_figures: list[Figure] = field(default_factory=list)  # small multiples, drawn in a grid after the figures
    grid_title: str = ""
    is_sample: bool = False
    vintage: str = ""
    # the banner's text when only part of the page is from synthetic inputs (rows and charts marked SAMPLE)
    sample_note: str = ""


def render_table(table: Table) -> Markup:
    """One table through the ``data_table`` macro of ``templates/table.html.j2``."""
    return Markup(_env.get_template("table.html.j2").module.data_table(table))


def write_plotly_asset(out_dir: Path, current: Path | None = None) -> Path:
    """Write plotly.js once beside the pages: to ``out_dir``, unless ``current`` (the folder the pages
    will be moved to) already holds the same bytes (they are not rewritten)."""
    from plotly.offline import get_plotlyjs

    path, have = out_dir / ASSET, (current or out_dir) / ASSET
    js = get_plotlyjs().encode()
    if have.exists() and hashlib.sha256(have.read_bytes()).digest() == hashlib.sha256(js).digest():
        return have
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(js)
    return path


def render_page(page: Page, nav: list[tuple[str, str]], out_dir: Path, self_contained: bool = False) -> Path:
    """Render ``page`` to ``out_dir/<slug>.html``."""
    for attr in ("figures", "grid_figures"):
        drawn = [f for f in getattr(page, attr) if f.has_values()]
        page.notes += [f"Not drawn, no data loaded: {f.title}." for f in getattr(page, attr) if f not in drawn]
        setattr(page, attr, drawn)
    figures = page.figures + page.grid_figures
    # a page showing any sample row or chart is a sample page, whatever its builder said
    page.is_sample = page.is_sample or any(t.sample for t in page.tables) or any(f.sample for f in figures)
    for table in page.tables:  # a CSV from the sample says so on every row (with row flags: on those rows)
        if table.sample_rows is None:
            table.sample = page.is_sample
    for fig in figures:
        fig.sample = page.is_sample if fig.sample is None else fig.sample
    if self_contained:
        from plotly.offline import get_plotlyjs

        script = Markup(f"<script>{get_plotlyjs()}</script>")
    else:
        script = Markup(f'<script src="{ASSET}"></script>')
    html = _env.get_template("page.html.j2").render(page=page, nav=nav, plotly_script=script, needs_plotly=bool(page.figures or page.grid_figures))
    path = out_dir / f"{page.slug}.html"
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as exc:  # a failed write (ENOSPC) names no file: say which page
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    return path
