"""Methodology: every formula with its source; data sources and their terms."""

from __future__ import annotations

import duckdb
import pandas as pd

from tradeflow.fta.schedule import load_conventions
from tradeflow.report.shell import Page, build_table

FORMULAS = [
    ("Margin of preference", "MoP = MFN − preferential (percentage points); relative (MFN − pref) / MFN; trade-weighted Σ wₖ·MoPₖ. "
     "Like with like: each national line against its own MFN, never its heading's average; an excluded line pays its MFN, "
     "so its margin is 0 by construction",
     "GATT glossary; Carpenter & Lendle (2010), CTEI-2010-32"),
    ("Line MFN", "MFN_line(y) = max(0, base rate + MFN_HS6(y) − MFN_HS6(b)): the schedule's base rate moved by the change "
     "(percentage points) in its HS6 heading's applied MFN since the base-rate year b; the base rate where WITS lacks either "
     "year. Applied preferential = least(scheduled, MFN_line)",
     "CPFTA Phase-II schedules (base rates); WITS/UNCTAD TRAINS applied MFN (HS6 simple average of national lines)"),
    ("Liberalised imports (utilisation proxy)", "Σ_HS6 the year's imports from the partner × share of the heading's lines "
     "with preferential < own MFN, ÷ the year's imports from the partner on headings in the schedule (the same year's "
     "trade, not the 2019 weights: blank for years without trade data)", "tradeflow definition after WTO WT/REG/W/46"),
    ("Untapped lines", "HS6 lines whose trade-carrying national lines (all lines where unknown) are each at zero or falling; "
     "year_reaches_zero = first year all those lines are at zero", "tradeflow definition; ITC Trade Map (potential)"),
    ("Line and trade coverage", "LC = lines at zero ÷ all lines; TC = Σ base-year imports on zero lines ÷ all imports from the partner",
     "WTO WT/REG/W/46"),
    ("Average tariffs", "simple (1/N)·Σ τₖ; trade-weighted Σ τₖ·mₖ / Σ mₖ", "WTO Tariff Analysis Online glossary; WITS technical note"),
    ("Preference utilisation", "PUR = 100 × imports receiving the preference ÷ eligible imports (MFN > 0)", "UNCTAD GSP utilisation methodology"),
    ("Revealed comparative advantage", "RCA = (x_ik / X_i) / (x_wk / X_w), w = the reporters on the HS2017 basis with "
     "products and total, read in the latest year whose world is seen: the reporters left out, and those of the three "
     "years before not yet reporting it, together carry at most 1 % of world exports (marts.world_coverage; rca_year)",
     "Balassa (1965); WITS trade indicators"),
    ("Indicative trade potential", "ITP = max(0, min(exporter→World, importer←World) − importer←exporter)", "ITC Trade Map"),
    ("Mirror gap", "gap = M_CIF / f − X_FOB, f = 1.06 (IMF DOTS) or 1.10 (Pakistan Business Council); ratio gap / X_FOB",
     "IMF DOTS guide; PBC (2023)"),
    ("Concentration", "HHI = Σ sₖ² over HS6 lines", "WITS trade indicators"),
    ("Seasonal index", "T_t = centred 2×12 moving average; r_t = Y_t / T_t; SI_m = mean r over month m, rescaled to Σ = 12",
     "US Census Bureau X-11 ratio-to-moving-average"),
    ("Winter share", "(Jan–Mar + Dec) ÷ year, or Dec–Mar ÷ April–March season", "tradeflow definition (Khunjerab closed 1 Dec–31 Mar, 1985 agreement)"),
    ("Goal arithmetic", "target path P(τ) = v₀·(v_T/v₀)^s, s = (τ−t₀)/(T−t₀), when v₀ and v_T are positive, else linear "
     "v₀ + (v_T − v₀)·s; starting point = the latest 12 complete months when they "
     "end after the last annual year (at τ = year + (month − 12)/12), else the last annual value; required CAGR = "
     "(v_T / start)^(1/(T − τ)) − 1; status: start against P(τ) at its own date ('baseline year' while the start is the "
     "baseline); a past target year: met or missed; no data, no baseline data or no data for target year where the value to judge by is missing; "
     "a target below the baseline is a reduction, reached at or below the path or target",
     "tradeflow definition"),
    ("Trade complementarity", "TC_ij = 100·(1 − ½ Σₖ |m_jk/M_j − x_ik/X_i|), i's exports to the World against j's imports from "
     "the World; totals not covered by HS6 data give a range (tc: the rest as one product; tc_lower: disjoint; tc_upper: the rest closing the gaps)",
     "Michaely (1996); WITS Trade Outcomes help"),
    ("Export intensity", "TII_ij = (x_ij / X_i) / (x_wj / X_w); world exports to j ÷ world exports measured as j's imports from the "
     "World ÷ all reporters' imports (M_j / M_w); none for a year whose reporters of the three years before not yet "
     "reporting it carry over 1 % of world imports, or that cannot be judged (marts.world_coverage)",
     "WITS Trade Outcomes help; Mikić & Gilbert, ESCAP (2009)"),
    ("Regime dates", "Khunjerab: seasonal closure, year-round date, suspensions — khunjerab.yaml only (via raw.khunjerab_months); "
     "EDE 30 Apr 2018 and Phase-II cuts 1 Jan 2020 — marts.policy_markers only; a period takes the regime in force at its midpoint",
     "dawn.com/news/1876341; dawn.com/news/1944974; pakistantoday.com.pk (3 Mar 2018)"),
    ("SAMPLE flag", "is_sample = true for any row computed from any synthetic input (schedule, MFN, trade weights, concordance seed)",
     "tradeflow convention"),
    ("HS versions", "HS2022 → HS2017 by the UNSD conversion table; HS2017 → HS2022 split by 2022 trade shares (else equal)",
     "UN Statistics Division correspondence tables"),
    ("Agro and perishable", "WTO Agreement on Agriculture Annex 1; perishable: fresh/chilled/frozen meat, fish, dairy, eggs, flowers, vegetables, fruit",
     "WTO; tradeflow definition (docs/sql.md)"),
]
SOURCES = [
    ("UN Comtrade (comtradeapi.un.org)", "Final data HS6, annual and monthly, as reported; UN Comtrade terms of use"),
    ("World Bank WITS / UNCTAD TRAINS", "MFN applied and preferential tariffs at HS6; WITS terms of use"),
    ("UN Statistics Division", "HS2022–HS2017 correspondence tables"),
    ("CPFTA Phase-II schedules", "MOFCOM FTA portal; Pakistan Ministry of Commerce (imported by the user)"),
    ("Curated events and calendars", "GACC approvals, Khunjerab calendar: press and official sources linked in the YAML files"),
]


def conventions() -> list[tuple[str, str, str]]:
    """Schedule-reading conventions from categories.yaml, shown with the clause they come from."""
    conv = load_conventions()
    first = ("the first of N equal cuts on entry into force (1 Jan 2020): zero in year N−1" if conv["first_cut_offset"] == 0
             else "the first of N equal cuts a year after entry into force: zero in year N")
    status = str(conv.get("status", "assumption"))
    return [(f"First cut ({status})", f"Linear categories: {first}; rate_t = base × (1 − (t + 1 − {conv['first_cut_offset']})/N)",
             str(conv["clause"])),
            (f"Base-rate year ({status})", f"Base rates stand for the {conv['base_rate_year']} MFN", str(conv["clause"]))]


def methodology_page(conn: duckdb.DuckDBPyConnection, status: dict) -> Page:
    formulas = pd.DataFrame(FORMULAS + conventions(), columns=["indicator", "formula", "reference"])
    sources = pd.DataFrame(SOURCES, columns=["source", "terms"])
    return Page(slug="methodology", title="China–Pakistan trade: methodology",
                intro="How every indicator is computed, and where the data come from. The SQL of each table is in sql/ "
                      "and the column contract in docs/sql.md.",
                is_sample=status["is_sample"], vintage=status["vintage"],
                tables=[build_table(formulas, "methodology-formulas", "Formulas", source="methodology"),
                        build_table(sources, "methodology-sources", "Data sources and terms", source="methodology")])
