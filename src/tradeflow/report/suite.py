"""Render every report page from the warehouse into the reports folder, plus ``index.html``.

The suite is replaced all at once: rendered into a build folder inside the reports folder
(``.tradeflow-build-<pid>-…``, same filesystem), then moved into place file by file with
``os.replace`` (plotly.js first, ``index.html`` last). A rendering that fails or is killed leaves
the previous pages as they were; the next one removes a dead process' build folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from tradeflow.errors import TradeflowError
from tradeflow.processes import alive
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
    with _staged(out_dir) as build:
        pages = _render(conn, build, out_dir, self_contained, last_run)
    return [out_dir / p.relative_to(build) for p in pages]


def _render(conn: duckdb.DuckDBPyConnection, build: Path, out_dir: Path, self_contained: bool,
            last_run: str | None) -> list[Path]:
    """Every page into ``build`` (plotly.js only when ``out_dir`` lacks these bytes)."""
    status = data_status(conn)
    pages = [make(conn, status) for make in PAGES]
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
        write_plotly_asset(build, current=out_dir)
    return [render_page(p, nav, build, self_contained) for p in [index, *pages]]


BUILD_PREFIX = ".tradeflow-build-"  # + pid: not the build stamp ``.tradeflow-build`` (build_state.REPORTS_STAMP)


@contextmanager
def _staged(out_dir: Path) -> Iterator[Path]:
    """A build folder inside ``out_dir``; what the block wrote there replaces ``out_dir``'s files, ``index.html``
    last, then it is removed. On any error it is removed, the previous pages are kept, and the error names the file."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _remove_dead_builds(out_dir)
        build = Path(tempfile.mkdtemp(prefix=f"{BUILD_PREFIX}{os.getpid()}-", dir=out_dir))
    except OSError as exc:
        raise TradeflowError(f"cannot write the reports to {out_dir}: {_why(exc)}") from None
    moved = 0
    try:
        yield build
        files = sorted((p for p in build.rglob("*") if p.is_file()),
                       key=lambda p: (p.name == "index.html", p.suffix == ".html", str(p)))
        for f in files:
            target = out_dir / f.relative_to(build)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, target)
            moved += 1
    except OSError as exc:
        kept = "the previous pages are kept" if not moved else f"{moved} file(s) were already replaced"
        raise TradeflowError(f"reports not written to {out_dir} ({kept}): {_why(exc, build, out_dir)}") from None
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _why(exc: OSError, build: Path | None = None, out_dir: Path | None = None) -> str:
    """``No space left on device: <out_dir>/index.html`` (a file of the build folder named as its page's path)."""
    name = exc.filename
    if name and build is not None and Path(name).is_relative_to(build):
        name = out_dir / Path(name).relative_to(build)
    return f"{exc.strerror or exc}: {name}" if name else str(exc.strerror or exc)


def _remove_dead_builds(out_dir: Path) -> None:
    """The build folders of renderings killed half-way (their process is gone)."""
    for d in out_dir.glob(BUILD_PREFIX + "*"):
        pid = d.name[len(BUILD_PREFIX):].split("-")[0]
        if d.is_dir() and pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)




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
