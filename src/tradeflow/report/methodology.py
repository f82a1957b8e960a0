"""Methodology: every formula with its source; data sources and their terms."""

from __future__ import annotations

import duckdb
import pandas as pd

from tradeflow.report.shell import Page, build_table

FORMULAS = [
    ("Margin of preference", "MoP = MFN − preferential (percentage points); relative (MFN − pref) / MFN; trade-weighted Σ wₖ·MoPₖ",
     "GATT glossary; Carpenter & Lendle (2010), CTEI-2010-32"),
    ("Line and trade coverage", "LC = lines at zero ÷ all lines; TC = Σ base-year imports on zero lines ÷ all imports from the partner",
     "WTO WT/REG/W/46"),
    ("Average tariffs", "simple (1/N)·Σ τₖ; trade-weighted Σ τₖ·mₖ / Σ mₖ", "WTO Tariff Analysis Online glossary; WITS technical note"),
    ("Preference utilisation", "PUR = 100 × imports receiving the preference ÷ eligible imports (MFN > 0)", "UNCTAD GSP utilisation methodology"),
    ("Revealed comparative advantage", "RCA = (x_ik / X_i) / (x_wk / X_w)", "Balassa (1965); WITS trade indicators"),
    ("Indicative trade potential", "ITP = max(0, min(exporter→World, importer←World) − importer←exporter)", "ITC Trade Map"),
    ("Mirror gap", "gap = M_CIF / f − X_FOB, f = 1.06 (IMF DOTS) or 1.10 (Pakistan Business Council); ratio gap / X_FOB",
     "IMF DOTS guide; PBC (2023)"),
    ("Concentration", "HHI = Σ sₖ² over HS6 lines", "WITS trade indicators"),
    ("Seasonal index", "T_t = centred 2×12 moving average; r_t = Y_t / T_t; SI_m = mean r over month m, rescaled to Σ = 12",
     "US Census Bureau X-11 ratio-to-moving-average"),
    ("Winter share", "(Jan–Mar + Dec) ÷ year, or Dec–Mar ÷ April–March season", "tradeflow definition (Khunjerab closed 1 Dec–31 Mar, 1985 agreement)"),
    ("Goal arithmetic", "target path v₀·(v_T/v₀)^((t−t₀)/(T−t₀)); required CAGR (v_T / v_latest)^(1/(T − latest)) − 1; nowcast = latest 12 months",
     "tradeflow definition"),
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


def methodology_page(conn: duckdb.DuckDBPyConnection, status: dict) -> Page:
    formulas = pd.DataFrame(FORMULAS, columns=["indicator", "formula", "reference"])
    sources = pd.DataFrame(SOURCES, columns=["source", "terms"])
    return Page(slug="methodology", title="China–Pakistan trade: methodology",
                intro="How every indicator is computed, and where the data come from. The SQL of each table is in sql/ "
                      "and the column contract in docs/sql.md.",
                is_sample=status["is_sample"], vintage=status["vintage"],
                tables=[build_table(formulas, "methodology-formulas", "Formulas", source="methodology"),
                        build_table(sources, "methodology-sources", "Data sources and terms", source="methodology")])
