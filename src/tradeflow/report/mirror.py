"""Mirror gap: what each side records of the same trade, CIF/FOB-adjusted, by year and chapter."""

from __future__ import annotations

import duckdb
import plotly.graph_objects as go

from tradeflow.report.queries import any_sample, query
from tradeflow.report.shell import Figure, Page, build_table

SOURCE = "UN Comtrade, both reporters (marts.mirror_flows, marts.mirror_gap_by_chapter)"
MARKERS = {"ede": "EDE starts", "cpfta_phase2_cuts": "Phase II cuts"}  # dates: marts.policy_markers


def _markers(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = conn.execute("SELECT marker, CAST(event_date AS VARCHAR) FROM marts.policy_markers ORDER BY event_date").fetchall()
    return [(date, MARKERS[m]) for m, date in rows if m in MARKERS]


def mirror_page(conn: duckdb.DuckDBPyConnection, status: dict) -> Page:
    years = query(conn, "mirror_by_year")
    default = years[years["is_default_factor"]]
    factor = float(default["cif_fob_factor"].iloc[0]) if not default.empty else 1.06
    markers = _markers(conn)
    dates = " and ".join(f"{label} ({date})" for date, label in markers)
    page = Page(
        slug="mirror", title="China–Pakistan trade: mirror gap",
        intro=(f"The importer's records (CIF, converted to FOB with a factor of {factor:.2f}, IMF DOTS) set against the "
               "exporter's (FOB). gap = importer FOB − exporter FOB; negative means the importer records less. "
               f"Lines mark {dates}."),
        is_sample=status["is_sample"] or any_sample(conn, "marts.mirror_flows", "marts.mirror_gap_by_chapter"),
        vintage=status["vintage"])
    one_sided = query(conn, "mirror_one_sided")
    if not one_sided.empty:
        names = {"CHN": "China", "PAK": "Pakistan"}
        listed = [f"{r.year}" if r.freq == "A" else f"{r.year}-{int(r.month):02d}" for r in one_sided.itertuples()]
        by = sorted({names.get(b, b) for b in one_sided["published_by"]})
        page.notes.append(f"Left out, published so far by one side only ({' and '.join(by)}): {', '.join(listed)}. "
                          "A mirror gap needs both sides' records of the same period.")
    fig = go.Figure()
    for direction, df in default.groupby("direction", sort=True):
        fig.add_trace(go.Scatter(x=df["year"], y=100 * df["gap_ratio"], name=direction, mode="lines+markers"))
    for date, label in markers:
        year = int(date[:4]) + (int(date[5:7]) - 1) / 12
        fig.add_vline(x=year, line_dash="dot", line_color="#52606d")
        fig.add_annotation(x=year, y=1, yref="paper", text=label, showarrow=False, yanchor="bottom")
    fig.update_layout(title=f"Mirror gap as % of exporter-reported value (CIF/FOB factor {factor:.2f})",
                      yaxis_title="% of exporter FOB value", xaxis_title="Year", template="plotly_white",
                      legend={"orientation": "h", "y": -0.2})
    page.figures.append(Figure("mirror-ratio", fig, "% of exporter-reported FOB value", SOURCE))

    chapters = query(conn, "mirror_chapters")
    if not chapters.empty:
        fig = go.Figure()
        for direction, df in chapters.groupby("direction", sort=True):
            top = df.reindex(df["gap_usd"].abs().sort_values(ascending=False).index).head(10).sort_values("gap_usd")
            fig.add_trace(go.Bar(y="HS " + top["chapter"] + " " + top["chapter_name"].fillna(""), x=top["gap_usd"] / 1e6,
                                 name=direction, orientation="h"))
        fig.update_layout(title=f"Gap by HS chapter, {int(chapters['year'].iloc[0])} (ten largest each way)",
                          xaxis_title="US$ million", template="plotly_white", height=620, barmode="group",
                          legend={"orientation": "h", "y": -0.12})
        page.figures.append(Figure("mirror-chapters", fig, "US$ million (importer FOB − exporter FOB)", SOURCE))
    both = years[["direction", "year", "cif_fob_factor", "exporter_fob_usd", "importer_fob_usd", "gap_usd", "gap_ratio"]]
    page.tables.append(build_table(both, "mirror-by-year",
                                   "Gap by year, both factors (1.06 IMF DOTS, 1.10 Pakistan Business Council)",
                                   source="mirror_by_year"))
    return page
