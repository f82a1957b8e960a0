"""Plan goals scorecard: one row per goal with a sparkline, target path, gap, required CAGR and status,
and one small chart per goal with a target (actual against the target path).

A goal may be computed from a synthetic input while the trade is real (the zero-duty share on the bundled SAMPLE
CPFTA schedules, before ``tradeflow schedule import``): marts.goal_progress.is_sample says so per goal, and the page
marks those goals' rows and charts, and is a SAMPLE page."""

from __future__ import annotations

import textwrap

import duckdb
import pandas as pd
import plotly.graph_objects as go
from markupsafe import escape

from tradeflow.report.columns import change_text
from tradeflow.report.queries import query
from tradeflow.report.shell import Figure, Page, build_table

SOURCE = "marts.goal_progress (goals.yaml metrics over the marts); targets as published (source linked)"


def sparkline(values: list[float], width: int = 120, height: int = 28) -> str:
    """A tiny inline SVG line (deterministic, no script)."""
    vals = [float(v) for v in values if not pd.isna(v)]
    if len(vals) < 2:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    pts = " ".join(f"{i * (width - 4) / (len(vals) - 1) + 2:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}"
                   for i, v in enumerate(vals))
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="trend"><polyline fill="none" stroke="#0b3d2e" stroke-width="1.5" points="{pts}"/></svg>')


def scorecard(df: pd.DataFrame) -> pd.DataFrame:
    """One row per goal: its latest year, with the change of the metric over the whole series: a share's in
    percentage points (last − first), other metrics' relative (last ÷ first − 1, none from a base ≤ 0)."""
    # a goal with no value in any year (status 'no data') keeps its one row
    last = df[(df["year"] == df["latest_year"]) | df["latest_year"].isna()].drop_duplicates("goal_id").set_index("goal_id")
    series = df.dropna(subset=["actual"]).sort_values("year").groupby("goal_id")["actual"]
    first = series.first().reindex(last.index)
    trend = (last["actual"] - first).where(last["unit"] == "share", (last["actual"] / first - 1).where(first > 0))
    out = last.assign(goal=last["label"], trend=trend).reset_index()
    return out[["goal", "trend", "latest_year", "unit", "actual", "target_path", "gap", "target_value", "direction",
                "required_cagr", "nowcast_12m", "status", "target_source"]].assign(
        meta_goal_id=out["goal_id"], meta_section=out["section"], meta_paraphrase=out["paraphrase"],
        meta_statement=out["target_statement"], meta_target_year=out["target_year"],
        meta_cagr_start=out["cagr_start_basis"] if "cagr_start_basis" in out else None,
        meta_sample=out["is_sample"].fillna(False).astype(bool) if "is_sample" in out else False)


def goal_figure(goal_id: str, g: pd.DataFrame, sample: bool | None = None) -> Figure:
    """Actual against the target path (and the target itself) for one goal."""
    share = (g["unit"] == "share").all()
    scale, unit = (0.01, "%") if share else (1e9, "US$ billion")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=g["year"], y=g["actual"] / scale, name="actual", mode="lines+markers",
                             line={"color": "#0b3d2e"}))
    last = g.iloc[-1]
    t0, v0, t1, v1 = last["baseline_year"], last["baseline_value"], last["target_year"], last["target_value"]
    if not any(pd.isna(x) for x in (t0, v0, t1, v1)) and int(t1) > int(t0):
        # the target path of marts.goal_progress (macro goal_path), drawn from the baseline to the target:
        # v₀·(v_T/v₀)^s between positive values, else v₀ + (v_T − v₀)·s, s = (t − t₀)/(T − t₀)
        years = list(range(int(t0), int(t1) + 1))
        s = [(y - int(t0)) / (int(t1) - int(t0)) for y in years]
        path = [(v0 * (v1 / v0) ** x if v0 > 0 and v1 > 0 else v0 + (v1 - v0) * x) / scale for x in s]
        fig.add_trace(go.Scatter(x=years, y=path, name="target path", mode="lines", line={"color": "#b42318", "dash": "dash"}))
    if not pd.isna(t1):
        fig.add_trace(go.Scatter(x=[int(t1)], y=[v1 / scale], name=f"target ({int(t1)})", mode="markers",
                                 marker={"symbol": "star", "size": 12, "color": "#b42318"}))
    title = "<br>".join(textwrap.wrap(str(last["label"]), 52)[:3])
    fig.update_layout(title={"text": title, "font": {"size": 13}}, template="plotly_white", height=320,
                      margin={"l": 50, "r": 10, "t": 70, "b": 40}, yaxis_title=unit,
                      legend={"orientation": "h", "y": -0.2}, xaxis={"dtick": 2})
    return Figure(f"goal-{goal_id.replace('_', '-')}", fig, unit, SOURCE, sample=sample)


def goals_page(conn: duckdb.DuckDBPyConnection, status: dict) -> Page:
    df = query(conn, "goals")
    df["is_sample"] = df["is_sample"].fillna(False).astype(bool) | status["is_sample"]
    partly = bool(df["is_sample"].any()) and not df["is_sample"].all()
    page = Page(slug="goals", title="China–Pakistan trade: plan goals scorecard",
                intro=("Each goal serves a clause of the Action Plan 2025–2029. A target appears only where one was "
                       "published (source linked); other goals are tracked as trends."),
                is_sample=bool(df["is_sample"].any()), vintage=status["vintage"],
                sample_note=("the goals marked SAMPLE are computed from synthetic inputs (e.g. the bundled sample "
                             "CPFTA schedules, until `tradeflow schedule import`) and are not real statistics; the "
                             "other goals are from real data." if partly else ""))
    card = scorecard(df)
    spark = {gid: sparkline(list(g.sort_values("year")["actual"])) for gid, g in df.groupby("goal_id", sort=False)}
    html = {
        "goal": [f"{escape(r.goal)}<br><small>{escape(r.meta_section)}: {escape(r.meta_paraphrase)}</small>"
                 for r in card.itertuples()],
        "trend": [spark[r.meta_goal_id] + ("" if pd.isna(r.trend) else f" {change_text(r.trend, r.unit)}")
                  for r in card.itertuples()],
        "target_value": [None if pd.isna(r.target_value) else
                         f"{_metric(r.target_value, r.unit)}{'' if pd.isna(r.meta_target_year) else f' by {int(r.meta_target_year)}'}"
                         for r in card.itertuples()],
        "required_cagr": [None if pd.isna(r.required_cagr) or not isinstance(r.meta_cagr_start, str) else
                          f"{100 * r.required_cagr:.1f}<br><small>from {escape(r.meta_cagr_start)}</small>"
                          for r in card.itertuples()],
        "target_source": [None if not isinstance(r.target_source, str) else
                          f'<a href="{escape(r.target_source)}">{escape(r.meta_statement or r.target_source)}</a>'
                          for r in card.itertuples()],
    }
    css = {"status": [{"on track": "status-on", "off track": "status-off", "met": "status-on", "missed": "status-off"}
                      .get(s, "") for s in card["status"]]}
    shown = card.drop(columns=[c for c in card.columns if c.startswith("meta_")]).assign(
        target_source=card["meta_statement"].where(card["target_source"].notna()))
    page.tables.append(build_table(shown, "goals", "Scorecard", source="goal_progress", html=html, css=css,
                                   sample_rows=card["meta_sample"]))
    for goal_id, g in df.groupby("goal_id", sort=True):
        if g["target_value"].notna().any():
            page.grid_figures.append(goal_figure(str(goal_id), g.sort_values("year"),
                                                 sample=bool(g["is_sample"].any())))
    page.grid_title = "Goals with a published target: actual against the target path"
    values = df[["label", "year", "unit", "actual", "target_path", "gap", "baseline_year", "baseline_value", "target_value",
                 "target_year", "status"]]
    page.tables.append(build_table(values, "goal-progress",
                                   "All goal values by year", source="goal_progress", sample_rows=df["is_sample"]))
    return page


def _metric(v: float, unit: str) -> str:
    return f"{100 * v:.1f} %" if unit == "share" else f"US$ {v / 1e9:.2f} bn" if abs(v) >= 1e9 else f"US$ {v / 1e6:.1f} m"
