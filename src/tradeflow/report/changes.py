"""What changed since the last run: new periods, revised periods (old vs new vintage) and the largest
revisions by HS6 line, from the vintages stored in the raw archive (marts.period_changes, marts.revisions)."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
import plotly.graph_objects as go

from tradeflow.errors import WarehouseError
from tradeflow.report.queries import any_sample, query
from tradeflow.report.shell import Figure, Page, build_table

SOURCE = "UN Comtrade vintages kept in the raw archive (marts.period_changes, marts.revisions)"
EVER = datetime(1900, 1, 1)
TOP_LINES = 100


def _arrivals(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    try:
        return query(conn, "changes_arrivals")
    except duckdb.CatalogException as exc:
        raise WarehouseError("the published snapshot has no marts.period_changes (built by an older tradeflow): run "
                             "`tradeflow refresh --source archive` first") from exc


def changes(conn: duckdb.DuckDBPyConnection, since: datetime, top: int = TOP_LINES) -> dict[str, pd.DataFrame]:
    """New periods, revised periods and the largest line revisions that arrived at or after ``since``."""
    return {"new": query(conn, "changes_new_periods", since=since),
            "revised": query(conn, "changes_revised_periods", since=since),
            "lines": query(conn, "changes_top_lines", since=since, top=top)}


def _when(ts) -> str:
    ts = pd.Timestamp(ts)
    return ts.strftime("%Y-%m-%d") if (ts.hour, ts.minute) == (0, 0) else ts.strftime("%Y-%m-%d %H:%M UTC")


def changes_page(conn: duckdb.DuckDBPyConnection, status: dict) -> Page:
    page = Page(
        slug="changes", title="China–Pakistan trade: what changed since the last run",
        intro=("Every UN Comtrade release tradeflow fetched is kept, so each refresh can say what it brought: periods "
               "published for the first time, and periods the reporter revised (the old vintage against the new), down "
               "to the HS6 lines that moved most. Fetches less than 6 hours apart count as one arrival (one run)."),
        vintage=status["vintage"])
    arrivals = _arrivals(conn)  # first: names an older snapshot without marts.period_changes
    page.is_sample = status["is_sample"] or any_sample(conn, "marts.period_changes", "marts.revisions")
    latest = None if arrivals.empty else pd.Timestamp(arrivals["arrival"].max()).to_pydatetime()
    if latest is None:
        page.notes.append("No UN Comtrade data are stored yet.")
        return page
    now = changes(conn, latest)
    new_n = len(now["new"])
    rev_n = len(now["revised"].drop_duplicates(["source", "reporter", "freq", "period"]))
    page.notes.append(
        f"Latest arrival, {_when(latest)}: {new_n} new period{'s' * (new_n != 1)} and {rev_n} revised "
        f"period{'s' * (rev_n != 1)}"
        + (f" ({', '.join(sorted(set(now['new']['reporter'] + ' ' + now['new']['period'])))} new)." if 0 < new_n <= 8 else ".")
        + f" {len(arrivals)} arrivals stored in all.")
    history = changes(conn, EVER)
    if status["is_sample"] and history["revised"].empty:
        page.notes.append("In the SAMPLE each synthetic release arrives on its own release date, and the sample has no "
                          "revisions; a live archive shows the revisions UN Comtrade publishes.")
    fig = go.Figure()
    fig.add_trace(go.Bar(x=arrivals["arrival"], y=arrivals["new_periods"], name="new periods", marker_color="#2e86c1"))
    fig.add_trace(go.Bar(x=arrivals["arrival"], y=arrivals["revised_periods"], name="revised periods",
                         marker_color="#b42318"))
    fig.update_layout(title="Periods arriving, new and revised, at each arrival", yaxis_title="periods (reporter × frequency)",
                      xaxis_title="arrival", barmode="stack", template="plotly_white",
                      legend={"orientation": "h", "y": -0.2})
    page.figures.append(Figure("changes-arrivals", fig, "number of periods (a reporter's year or month)", SOURCE))

    page.tables.append(build_table(
        history["revised"], "changes-revised", "Revised periods, old against new vintage (every revision stored, "
        "largest first)", source="changes",
        note="" if len(history["revised"]) else "No revisions stored yet: every period so far has a single vintage."))
    page.tables.append(build_table(
        history["lines"], "changes-lines", f"Largest revisions by HS6 line (top {TOP_LINES} of every revision stored)",
        source="changes", note="" if len(history["lines"]) else "No line was revised in the vintages stored."))
    page.tables.append(build_table(history["new"], "changes-new", "New periods, by arrival (latest first)", source="changes"))
    return page


def collect(conn: duckdb.DuckDBPyConnection, since: datetime | None = None, top: int = 10) -> dict:
    """For ``tradeflow changes``: what arrived at or after ``since`` (default: the latest arrival)."""
    arrivals = _arrivals(conn)
    latest = None if arrivals.empty else pd.Timestamp(arrivals["arrival"].max()).to_pydatetime()
    start = since or latest or EVER
    found = changes(conn, start, top)
    for df in found.values():  # vintages are dates
        for col in ("previous_vintage", "vintage"):
            if col in df:
                df[col] = pd.to_datetime(df[col]).dt.strftime("%Y-%m-%d").astype(object).where(df[col].notna(), None)
    return {"since": start, "latest": latest, "arrivals": len(arrivals), "is_latest": since is None, **found}
