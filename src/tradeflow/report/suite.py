"""Render every report page from the warehouse into the reports folder, plus ``index.html``."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tradeflow.report.agro import agro_page
from tradeflow.report.changes import changes_page
from tradeflow.report.cpfta import cpfta_page
from tradeflow.report.goals import goals_page
from tradeflow.report.methodology import methodology_page
from tradeflow.report.mirror import mirror_page
from tradeflow.report.overview import overview_page
from tradeflow.report.queries import data_status, query
from tradeflow.report.shell import Page, build_table, render_page, write_plotly_asset

PAGES = (overview_page, mirror_page, cpfta_page, agro_page, goals_page, changes_page, methodology_page)


def render_reports(conn: duckdb.DuckDBPyConnection, out_dir: Path, self_contained: bool = False,
                   last_run: str | None = None) -> list[Path]:
    """Write all pages; returns their paths, index first. ``last_run`` (when the data were refreshed)
    appears on the index only, so the topic pages depend on the data alone."""
    out_dir.mkdir(parents=True, exist_ok=True)
    status = data_status(conn)
    pages = [build(conn, status) for build in PAGES]
    nav = [("index", "Contents")] + [(p.slug, _label(p.title)) for p in pages]
    fresh = query(conn, "freshness")
    sample = status["is_sample"] or any(p.is_sample for p in pages) or bool(fresh["is_sample"].fillna(False).any())
    index = Page(
        slug="index",
        title="tradeflow reports",
        intro="Reports on China–Pakistan trade built by tradeflow. "
        + (f"Latest data vintage: {status['vintage']}. " if status["vintage"] else "")
        + (f"Last refresh: {last_run}." if last_run else ""),
        is_sample=sample,
        vintage=status["vintage"],
        # real trade with a sample input elsewhere (e.g. the bundled schedules): the pages and sources marked SAMPLE
        sample_note="" if status["is_sample"] else ("the pages and sources marked SAMPLE show numbers computed from "
                                                    "synthetic inputs; the others are from real data."),
        tables=[_contents(pages, status["is_sample"]),
                build_table(fresh, "freshness", "Data freshness by source", source="freshness",
                            sample_rows=fresh["is_sample"].fillna(False) | status["is_sample"])],
    )
    if not self_contained:
        write_plotly_asset(out_dir)
    return [render_page(p, nav, out_dir, self_contained) for p in [index, *pages]]


def render_snapshot(snapshot: Path, out_dir: Path, self_contained: bool = False,
                    last_run: str | None = None) -> list[Path]:
    """:func:`render_reports` from the published ``snapshot``, and stamp ``out_dir`` with the build the
    pages were read from (``tradeflow.warehouse.build_state``), so a refresh keeps them only while they
    are that build's: the stamp goes first (a rendering cut off half-way is redone) and is read on the
    connection the pages are rendered from (a snapshot published meanwhile is not claimed)."""
    from tradeflow.warehouse import Warehouse, build_state

    build_state.mark_reports(out_dir, None)
    with Warehouse(snapshot).reader() as conn:
        # one DuckDB thread: the report queries (sql/reports) add DOUBLE money from the marts, which are
        # small and stored sorted, so one thread adds them in the same order on every run (same pages)
        conn.execute("SET threads = 1")
        fp = build_state.recorded(conn)
        paths = render_reports(conn, out_dir, self_contained=self_contained, last_run=last_run)
    build_state.mark_reports(out_dir, fp)
    return paths


def _contents(pages: list[Page], all_sample: bool):
    import pandas as pd
    from markupsafe import escape

    df = pd.DataFrame({"report": [_label(p.title) for p in pages], "what": [p.intro for p in pages]})
    links = [f'<a href="{p.slug}.html">{escape(_label(p.title))}</a>' for p in pages]
    return build_table(df, "pages", "Pages", source="index", html={"report": links},
                       sample_rows=[all_sample or p.is_sample for p in pages])


def _label(title: str) -> str:
    text = title.split(":")[-1].strip()
    return text[:1].upper() + text[1:]
