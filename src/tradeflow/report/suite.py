"""Render every report page from the warehouse into the reports folder, plus ``index.html``."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tradeflow.report.overview import overview_page
from tradeflow.report.queries import data_status
from tradeflow.report.shell import Page, render_page, write_plotly_asset

PAGES = (overview_page,)


def render_reports(conn: duckdb.DuckDBPyConnection, out_dir: Path, self_contained: bool = False) -> list[Path]:
    """Write all pages; returns their paths, index first."""
    out_dir.mkdir(parents=True, exist_ok=True)
    status = data_status(conn)
    pages = [build(conn, status) for build in PAGES]
    nav = [("index", "Contents")] + [(p.slug, p.title.split(":")[-1].strip().capitalize()) for p in pages]
    index = Page(
        slug="index",
        title="tradeflow reports",
        intro="Reports on China–Pakistan trade built by tradeflow. "
        + (f"Latest data vintage: {status['vintage']}." if status["vintage"] else ""),
        is_sample=status["is_sample"],
        vintage=status["vintage"],
        tables=[("Pages", _contents(pages))],
    )
    if not self_contained:
        write_plotly_asset(out_dir)
    return [render_page(p, nav, out_dir, self_contained) for p in [index, *pages]]


def _contents(pages: list[Page]):
    from markupsafe import Markup, escape

    rows = "".join(f'<tr><td><a href="{p.slug}.html">{escape(p.title)}</a></td><td>{escape(p.intro)}</td></tr>' for p in pages)
    return Markup(f"<table><tr><th>Report</th><th>What it shows</th></tr>{rows}</table>")
