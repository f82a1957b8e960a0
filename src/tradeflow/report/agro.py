"""Agro green channel: products by month, winter at Khunjerab before and after Dec 2024, seasonality, GACC events.

Every chart and the table here are built from Pakistan's monthly records: with none loaded (annual data only) the page
says so instead of drawing empty charts. marts.gacc_event_study holds each event's 37-month window whether or not the
months are published (in_data): only windows with a published month are drawn."""

from __future__ import annotations

import duckdb
import plotly.graph_objects as go

from tradeflow.report.queries import any_sample, query
from tradeflow.report.shell import Figure, Page, build_table

SOURCE = "UN Comtrade monthly data, transport modes where reported (marts.agro_*, marts.khunjerab_*, marts.gacc_event_study)"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def agro_page(conn: duckdb.DuckDBPyConnection, status: dict) -> Page:
    page = Page(
        slug="agro", title="China–Pakistan trade: agro green channel",
        intro=("Agro products (WTO Agreement on Agriculture coverage) that Pakistan exports to China, month by month; "
               "whether winter still stops road trade at Khunjerab–Sost (closed 1 Dec–31 Mar until the year-round "
               "regime of 2 Dec 2024); and exports around GACC market-access events."),
        is_sample=status["is_sample"] or any_sample(
            conn, "marts.trade_flows_hs2017", "marts.khunjerab_before_after", "marts.seasonality_index",
            "marts.gacc_event_study", "marts.agro_indicators"), vintage=status["vintage"])
    (months,) = conn.execute(
        "SELECT count(*) FROM marts.reported_periods WHERE reporter = 'PAK' AND freq = 'M'").fetchone()
    if not months:
        page.notes.append("No monthly UN Comtrade data from Pakistan are loaded: the charts and the table of this page "
                          "are built from Pakistan's monthly records, so there is nothing to draw yet.")
    heat = query(conn, "agro_heatmap")
    if not heat.empty:
        grid = heat.pivot_table(index="product", columns="period_start", values="value_usd", aggfunc="sum").fillna(0)
        fig = go.Figure(go.Heatmap(z=grid.to_numpy() / 1e6, x=[str(c)[:7] for c in grid.columns], y=list(grid.index),
                                   colorscale="Greens", colorbar={"title": "US$ m"}))
        fig.update_layout(title="Pakistan's agro exports to China by product and month (Pakistan's records)",
                          template="plotly_white", height=560, xaxis_title="Month")
        page.figures.append(Figure("agro-heatmap", fig, "US$ million", SOURCE))
    ba = query(conn, "khunjerab_before_after")
    sel = ba[(ba["reporter"] == "PAK") & (ba["flow"] == "X")]
    if not sel.empty:
        fig = go.Figure()
        for regime, df in sel.groupby("regime", sort=False):
            fig.add_trace(go.Bar(x=df["basis"].str.replace("_", " ") + " · " + df["product_group"], y=100 * df["winter_share"],
                                 name=regime, text=[f"{n} season{'s' if n != 1 else ''}" for n in df["seasons"]],
                                 textposition="outside"))  # "after" may be one season against several before
        fig.update_layout(title="Winter (Dec–Mar) share of Pakistan's exports to China, before and after Dec 2024",
                          yaxis_title="% of the April–March season", template="plotly_white", barmode="group",
                          legend={"orientation": "h", "y": -0.2})
        page.figures.append(Figure("agro-winter", fig, "% of the season's exports", SOURCE))
    si = query(conn, "seasonality")
    if not si.empty:
        fig = go.Figure()
        for (basis, group, window), df in si.groupby(["basis", "product_group", "months_window"], sort=True):
            fig.add_trace(go.Scatter(x=[MONTHS[m - 1] for m in df["month"]], y=df["seasonal_index"],
                                     name=f"{basis.replace('_', ' ')} · {group} · {window}",
                                     mode="lines+markers"))
        fig.update_layout(title="Seasonal index of Pakistan's exports to China (ratio to a centred 2×12 moving average)",
                          yaxis_title="index (12 months sum to 12)", template="plotly_white",
                          legend={"orientation": "h", "y": -0.25}, height=520)
        page.figures.append(Figure("agro-seasonality", fig, "index, 1 = an average month", SOURCE))
    ev = query(conn, "event_study")
    ev = ev[ev.groupby("event_id")["in_data"].transform("any")]  # a window wholly outside the data: nothing to draw
    if not ev.empty:
        fig = go.Figure()
        for (eid, product), df in ev.groupby(["event_id", "product"], sort=True):
            fig.add_trace(go.Scatter(x=df["months_from_event"], y=df["exports_usd"] / 1e6, name=f"{product}",
                                     mode="lines"))
        fig.add_vline(x=0, line_dash="dot", line_color="#52606d")
        fig.update_layout(title="Exports to China around GACC events (months −12 to +24)",
                          xaxis_title="months from the event", yaxis_title="US$ million a month",
                          template="plotly_white", legend={"orientation": "h", "y": -0.25}, height=560)
        page.figures.append(Figure("agro-events", fig, "US$ million a month (Pakistan's records)", SOURCE))
    page.tables.append(build_table(query(conn, "agro_indicators"), "agro-indicators", "Agro indicators by year",
                                   source="agro_indicators",
                                   note="" if months else "No rows: the indicators need Pakistan's monthly records."))
    return page
