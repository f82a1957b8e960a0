"""Plan goals scorecard: one row per goal with a sparkline, target path, gap, required CAGR and status."""

from __future__ import annotations

import html

import duckdb
import pandas as pd
from markupsafe import Markup

from tradeflow.report.queries import query
from tradeflow.report.shell import Page, table_html


def sparkline(values: list[float], width: int = 120, height: int = 28) -> str:
    """A tiny inline SVG line (deterministic, no script)."""
    vals = [float(v) for v in values if not pd.isna(v)]
    if len(vals) < 2:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    pts = " ".join(f"{i * (width - 4) / (len(vals) - 1) + 2:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}"
                   for i, v in enumerate(vals))
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<polyline fill="none" stroke="#0b3d2e" stroke-width="1.5" points="{pts}"/></svg>')


def _v(unit: str, v) -> str:
    if pd.isna(v):
        return ""
    return f"{100 * v:.1f} %" if unit == "share" else f"US$ {v / 1e9:.2f} bn" if abs(v) >= 1e9 else f"US$ {v / 1e6:.1f} m"


def goals_page(conn: duckdb.DuckDBPyConnection, status: dict) -> Page:
    df = query(conn, "goals")
    page = Page(slug="goals", title="China–Pakistan trade: plan goals scorecard",
                intro=("Each goal serves a clause of the Action Plan 2025–2029. A target appears only where one was "
                       "published (source linked); other goals are tracked as trends."),
                is_sample=status["is_sample"], vintage=status["vintage"])
    rows = []
    for goal_id, g in df.groupby("goal_id", sort=True):
        last = g[g["year"] == g["latest_year"]].iloc[0]
        cls = {"on track": "status-on", "off track": "status-off", "met": "status-on", "missed": "status-off"}.get(last["status"], "")
        source = (f'<a href="{html.escape(last["target_source"])}">{html.escape(str(last["target_statement"]))}</a>'
                  if isinstance(last["target_source"], str) else "")
        cagr = ("" if pd.isna(last["required_cagr"]) else
                f"{100 * last['required_cagr']:.1f} %<br><small>from {html.escape(str(last['cagr_start_basis']))}</small>")
        due = "" if pd.isna(last["target_year"]) else f" by {int(last['target_year'])}"
        rows.append(
            f"<tr><td>{html.escape(last['label'])}<br><small>{html.escape(last['section'])}: {html.escape(last['paraphrase'])}</small></td>"
            f"<td>{sparkline(list(g['actual']))}</td><td>{int(last['latest_year'])}</td><td>{_v(last['unit'], last['actual'])}</td>"
            f"<td>{_v(last['unit'], last['target_path'])}</td><td>{_v(last['unit'], last['gap'])}</td>"
            f"<td>{_v(last['unit'], last['target_value'])}{due}</td>"
            f"<td>{cagr}</td><td>{_v(last['unit'], last['nowcast_12m'])}</td><td class='{cls}'>{html.escape(last['status'])}</td>"
            f"<td>{source}</td></tr>")
    head = ("<tr><th>Goal</th><th>Trend</th><th>Year</th><th>Actual</th><th>Target path</th><th>Gap</th><th>Target</th>"
            "<th>Required CAGR</th><th>Nowcast (12 months)</th><th>Status</th><th>Source of target</th></tr>")
    page.tables.append(("Scorecard", Markup(f"<table class='sortable' id='goals'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>")))
    page.tables.append(("All goal values by year", table_html(df.drop(columns=["target_statement"]), "goal-progress")))
    return page
