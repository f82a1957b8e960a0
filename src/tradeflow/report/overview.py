"""Overview: bilateral trade both ways as each side reports it, the balance, and composition.

Each reporter's periods arrive on their own (China usually publishes a year first): a year one side has not published
is no value in that side's series and balance (a gap, never a zero: 0 would read as balanced trade), the page names
it, and the chapter chart, which sets the two sides' exports side by side, is of the latest year both published."""

from __future__ import annotations

import duckdb
import plotly.graph_objects as go

from tradeflow.report.queries import any_sample, query
from tradeflow.report.shell import Figure, Page, build_table

SOURCE = "UN Comtrade final data, HS6 (marts.trade_flows)"
NAMES = {"CHN": "China", "PAK": "Pakistan"}
COLOURS = {
    "China-reported exports to Pakistan (FOB)": "#c0392b",
    "Pakistan-reported imports from China (CIF)": "#e67e22",
    "Pakistan-reported exports to China (FOB)": "#1e8449",
    "China-reported imports from Pakistan (CIF)": "#2e86c1",
}


def overview_page(conn: duckdb.DuckDBPyConnection, status: dict) -> Page:
    totals = query(conn, "bilateral_totals")
    page = Page(
        slug="overview",
        title="China–Pakistan trade: overview",
        intro=(
            "Goods trade between China and Pakistan as each side reports it. Exporters report FOB values and "
            "importers CIF values, so the two sides never match exactly; the gap is large and is tracked on the "
            "mirror-gap page. Calendar years."
        ),
        is_sample=status["is_sample"] or any_sample(conn, "marts.basket_flows", "marts.trade_by_period"),
        vintage=status["vintage"],
    )
    fig = go.Figure()
    for series, df in totals.groupby("series", sort=False):
        fig.add_trace(
            go.Scatter(x=df["year"], y=df["value_usd"] / 1e9, name=series, mode="lines+markers",
                       line={"color": COLOURS.get(series)})
        )
    fig.update_layout(title="Bilateral trade as each side reports it", yaxis_title="US$ billion",
                      xaxis_title="Year", legend={"orientation": "h", "y": -0.2}, template="plotly_white")
    page.figures.append(Figure("overview-bilateral", fig, "US$ billion, current prices", SOURCE))
    one_sided = query(conn, "mirror_one_sided")
    one_sided = one_sided[one_sided["freq"] == "A"]
    if not one_sided.empty:
        by = sorted({NAMES.get(b, b) for b in one_sided["published_by"]})
        page.notes.append(f"Published so far by one side only ({' and '.join(by)}): "
                          f"{', '.join(str(y) for y in one_sided['year'])}. The other side's records of "
                          f"{'it are' if len(one_sided) == 1 else 'them are'} not out yet: its series and balance have "
                          "no value there (a gap, not zero).")

    # a series missing in a year stays missing (NaN: no bar), never 0
    bal = totals.pivot_table(index="year", columns="series", values="value_usd", aggfunc="sum")
    fig = go.Figure()
    for label, exp, imp, colour in (
        ("Pakistan's balance with China, China's records",
         "China-reported imports from Pakistan (CIF)", "China-reported exports to Pakistan (FOB)", "#2e86c1"),
        ("Pakistan's balance with China, Pakistan's records",
         "Pakistan-reported exports to China (FOB)", "Pakistan-reported imports from China (CIF)", "#1e8449"),
    ):
        if exp in bal and imp in bal:
            diff = ((bal[exp] - bal[imp]) / 1e9).dropna()  # only the years with both of the side's flows
            fig.add_trace(go.Bar(x=diff.index, y=diff, name=label, marker_color=colour))
    fig.update_layout(title="Pakistan's trade balance with China", yaxis_title="US$ billion", barmode="group",
                      xaxis_title="Year", legend={"orientation": "h", "y": -0.2}, template="plotly_white")
    page.figures.append(Figure("overview-balance", fig, "US$ billion (exports − imports)", SOURCE))

    comp = query(conn, "chapter_composition")
    if not comp.empty:
        # the latest year both sides published (and both exported in); if none, the latest, saying whose it is
        sides = comp.groupby("year")["direction"].nunique()
        both = sorted(set(sides.index[sides == 2]) - set(one_sided["year"]))
        latest = int(both[-1]) if both else int(comp["year"].max())
        only = comp.loc[comp["year"] == latest, "direction"].iloc[0]
        side = "" if both else f"; {only} only, the other side has none"
        fig = go.Figure()
        for direction, df in comp[comp["year"] == latest].groupby("direction", sort=True):
            top = df.nlargest(12, "value_usd").sort_values("value_usd")
            fig.add_trace(go.Bar(y="HS " + top["chapter"], x=top["value_usd"] / 1e9, name=direction, orientation="h"))
        fig.update_layout(title=f"Exports by HS chapter, {latest} (exporter's records, top 12 each way{side})",
                          xaxis_title="US$ billion", template="plotly_white", barmode="group", height=560,
                          legend={"orientation": "h", "y": -0.15})
        page.figures.append(Figure("overview-chapters", fig, "US$ billion", SOURCE))

    baskets = query(conn, "basket_totals")
    if not baskets.empty:
        fig = go.Figure()
        for (label, direction), df in baskets.groupby(["label", "direction"], sort=True):
            fig.add_trace(go.Scatter(x=df["year"], y=df["value_usd"] / 1e9, name=f"{label} · {direction}", mode="lines"))
        fig.update_layout(title="Plan sector baskets: bilateral exports (exporter's records)", yaxis_title="US$ billion",
                          xaxis_title="Year", template="plotly_white", height=560, legend={"orientation": "h", "y": -0.25})
        page.figures.append(Figure("overview-baskets", fig, "US$ billion", SOURCE + "; baskets from baskets.yaml"))
    fiscal = query(conn, "fiscal_totals")
    page.tables.append(build_table(fiscal, "overview-periods",
                                   "Calendar years and Pakistan fiscal years (July–June) as each side reports them",
                                   source="fiscal_totals"))
    return page
