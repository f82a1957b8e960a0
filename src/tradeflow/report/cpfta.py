"""CPFTA Phase II: the liberalisation path of both schedules, coverage and margins, untapped lines."""

from __future__ import annotations

import duckdb
import plotly.graph_objects as go

from tradeflow.report.queries import any_sample, query
from tradeflow.report.shell import Figure, Page, build_table

SOURCE = "CPFTA Phase-II schedules (raw.fta_schedule), WITS/TRAINS MFN rates, UN Comtrade (marts.fta_*)"
NAMES = {"CHN": "China's schedule (Pakistan's access)", "PAK": "Pakistan's schedule (China's access)"}


def cpfta_page(conn: duckdb.DuckDBPyConnection, status: dict) -> Page:
    path = query(conn, "fta_path")
    schedule_sample = bool(conn.execute("SELECT bool_or(is_sample) FROM raw.fta_schedule").fetchall()[0][0])
    page = Page(
        slug="cpfta", title="China–Pakistan trade: CPFTA Phase II",
        intro=("Year by year and line by line, what the Phase-II schedules give each side (year 0 = 2020). Coverage "
               "and margins weight HS6 lines by each importer's 2019 imports from the partner."),
        # the marts' flags too: a sample WITS rate or trade weight makes an indicator sample with official schedules
        is_sample=status["is_sample"] or schedule_sample
        or any_sample(conn, "marts.fta_indicators", "marts.fta_opportunities"), vintage=status["vintage"])
    if schedule_sample:
        page.notes.append("The schedules shown are SAMPLE schedules built to the published structure (shares of lines "
                          "by category); load the official ones with `tradeflow schedule import`.")
    fig = go.Figure()
    for importer, df in path.groupby("importer", sort=True):
        fig.add_trace(go.Scatter(x=df["year"], y=100 * df["share_lines_zero"], name=NAMES.get(importer, importer),
                                 mode="lines+markers"))
    fig.update_layout(title="Share of tariff lines at zero duty", yaxis_title="% of national tariff lines",
                      xaxis_title="Year", template="plotly_white", yaxis_range=[0, 100], legend={"orientation": "h", "y": -0.2})
    page.figures.append(Figure("cpfta-lines-zero", fig, "% of national tariff lines", SOURCE))

    fig = go.Figure()
    for importer, df in path.groupby("importer", sort=True):
        fig.add_trace(go.Scatter(x=df["year"], y=df["avg_pref_weighted_pct"], name=f"{importer}: preferential (weighted)"))
        fig.add_trace(go.Scatter(x=df["year"], y=df["avg_mfn_weighted_pct"], name=f"{importer}: MFN (weighted)",
                                 line={"dash": "dot"}))
    fig.update_layout(title="Trade-weighted preferential and MFN rates", yaxis_title="ad valorem %", xaxis_title="Year",
                      template="plotly_white", legend={"orientation": "h", "y": -0.2})
    page.figures.append(Figure("cpfta-rates", fig, "ad valorem %, weights: 2019 imports from the partner", SOURCE))

    fig = go.Figure()
    for importer, df in path.groupby("importer", sort=True):
        fig.add_trace(go.Bar(x=df["year"], y=df["lines_zero_next_jan"], name=NAMES.get(importer, importer)))
    fig.update_layout(title="Lines reaching zero on the next 1 January", yaxis_title="tariff lines", xaxis_title="Year",
                      template="plotly_white", barmode="group", legend={"orientation": "h", "y": -0.2})
    page.figures.append(Figure("cpfta-next-zero", fig, "number of national tariff lines", SOURCE))

    cols = ["importer", "year", "lines_total", "lines_zero", "share_lines_zero", "avg_pref_simple_pct",
            "avg_mfn_simple_pct", "avg_pref_weighted_pct", "margin_weighted_pp", "trade_coverage_zero",
            "lines_zero_next_jan", "share_imports_liberalised"]
    page.tables.append(build_table(path[cols], "cpfta-indicators", "Indicators by importer and year",
                                   source="fta_indicators"))
    opp = query(conn, "fta_opportunities")
    (year,) = conn.execute("SELECT max(year) FROM marts.fta_opportunities").fetchone()  # one year: trade and rates
    page.tables.append(build_table(opp, "cpfta-opportunities",
                                   f"Untapped lines for Pakistan in China in {year if year is not None else '—'} "
                                   "(the latest year both Pakistan's exports and China's imports are published; "
                                   "trade and rates of that year), ranked by ITC indicative trade potential "
                                   "= min(Pakistan→World, China←World) − China←Pakistan", source="fta_opportunities",
                                   note="" if len(opp) else _why_no_opportunities(conn, year)))
    return page


def _why_no_opportunities(conn: duckdb.DuckDBPyConnection, year: int | None) -> str:
    """The reason the untapped-lines table is empty, from the data: no year both sides published, no schedule
    line for China, or no line with potential left."""
    if year is not None:
        return f"No rows: no line has trade potential left in {year} (China←Pakistan reaches it on every line)."
    years = {side: [int(y) for y in got] for side, got in query(conn, "fta_opportunities_years").itertuples(index=False)}
    if common := set(years["PAK"]) & set(years["CHN"]):
        (lines,) = conn.execute("SELECT count(*) FROM raw.fta_schedule WHERE party = 'CHN'").fetchone()
        if not lines:
            return "No rows: China's Phase-II schedule has no tariff line loaded (`tradeflow schedule import`)."
        (first,) = conn.execute("SELECT min(year) FROM marts.fta_tariff_lines WHERE importer = 'CHN'").fetchone()
        if first is not None and max(common) < first:
            return (f"No rows: the latest year both sides published, {max(common)}, is before China's Phase-II "
                    f"schedule starts ({first}): it has no preferential rates for that year.")
        return ("No rows: no HS6 line that Pakistan exports and China imports has all its Chinese tariff lines at zero "
                "or falling by 2035.")
    pak, chn = (", ".join(map(str, years[side])) or "no year" for side in ("PAK", "CHN"))
    return ("No rows: no year has both sides' annual trade with the World, so no line can be ranked. Loaded: "
            f"Pakistan's exports to the World for {pak}; China's imports from the World for {chn}.")
