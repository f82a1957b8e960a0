"""Build the warehouse layers in order: raw → staging → marts, each layer all-or-nothing.

The model lists below are the single source of truth for build order and lineage; the Dagster
code location turns them into assets.
"""

from __future__ import annotations

import os

import duckdb

from tradeflow.archive import RawArchive
from tradeflow.errors import ConfigError, WarehouseError
from tradeflow.fta.schedule import schedules_frame
from tradeflow.fta.traded_lines import traded_lines_frame
from tradeflow.green_channel import config
from tradeflow.reference import seed_path
from tradeflow.sources.wits import tariff_frame
from tradeflow.warehouse.comtrade_load import load_raw
from tradeflow.warehouse.db import all_cores, build, transaction
from tradeflow.warehouse.reference_load import concordance_pairs, reference_countries, reference_hs

#: raw tables built from registered frames (model → frame name).
RAW_FRAMES = {
    "raw.wits_tariffs": "wits_observations",
    "raw.reference_countries": "reference_countries_frame",
    "raw.reference_hs": "reference_hs_frame",
    "raw.hs_concordance": "hs_concordance_frame",
    "raw.fta_schedule": "fta_schedule_frame",
    "raw.fta_categories": "fta_categories_frame",
    "raw.fta_traded_lines": "fta_traded_lines_frame",
    "raw.khunjerab_months": "khunjerab_frame",
    "raw.gacc_events": "gacc_events_frame",
    "raw.plan_baskets": "baskets_frame",
}
#: raw tables computed from the marts at build time (goal metrics run over the marts).
GOAL_FRAMES = {"raw.goals": "goals_frame", "raw.goal_series": "goal_series_frame", "raw.goal_monthly": "goal_monthly_frame"}

#: model → the tables it reads (build order is the dict order).
STAGING = {
    "staging.countries": ["raw.reference_countries"],
    "staging.comtrade_flows": ["raw.comtrade_records"],
    "staging.comtrade_totals": ["raw.comtrade_records"],
    "staging.tariffs": ["raw.wits_tariffs", "staging.countries"],
}
MARTS = {
    "marts.dim_country": ["staging.countries"],
    "marts.dim_hs": ["raw.reference_hs"],
    "marts.trade_flows": ["staging.comtrade_flows", "staging.countries"],
    "marts.trade_flows_by_mode": ["staging.comtrade_flows", "staging.countries"],
    "marts.hs_concordance": ["raw.hs_concordance", "staging.comtrade_flows"],
    "marts.trade_flows_hs2017": ["marts.trade_flows", "marts.hs_concordance"],
    "marts.trade_by_period": ["marts.trade_flows"],
    "marts.policy_markers": [],
    "marts.mirror_flows": ["marts.trade_flows_hs2017", "marts.policy_markers"],
    "marts.mirror_gap_by_chapter": ["marts.mirror_flows"],
    "marts.world_exports": ["staging.comtrade_flows", "staging.comtrade_totals", "marts.hs_concordance"],
    "marts.fta_tariff_lines": ["raw.fta_schedule", "raw.fta_categories", "staging.tariffs", "marts.hs_concordance"],
    "marts.fta_indicators": ["marts.fta_tariff_lines", "marts.trade_flows_hs2017"],
    "marts.fta_opportunities": ["marts.fta_tariff_lines", "raw.fta_traded_lines", "marts.trade_flows_hs2017",
                                "marts.world_exports"],
    "marts.fta_utilisation": [],
    "marts.trade_complementarity": ["staging.comtrade_totals", "staging.countries", "marts.world_exports",
                                    "marts.trade_flows_hs2017"],
    "marts.trade_intensity": ["staging.comtrade_totals", "staging.countries", "marts.trade_flows"],
    "marts.agro_monthly": ["marts.trade_flows", "marts.dim_hs"],
    "marts.agro_products": ["marts.trade_flows", "marts.dim_hs"],
    "marts.agro_indicators": ["marts.agro_monthly", "marts.agro_products"],
    "marts.khunjerab_calendar": ["raw.khunjerab_months"],
    "marts.monthly_by_basis": ["marts.trade_flows", "marts.trade_flows_by_mode", "marts.dim_hs"],
    "marts.khunjerab_indicators": ["marts.monthly_by_basis", "raw.khunjerab_months"],
    "marts.khunjerab_before_after": ["marts.monthly_by_basis", "marts.trade_flows", "raw.khunjerab_months"],
    "marts.seasonality_index": ["marts.monthly_by_basis", "marts.trade_flows", "raw.khunjerab_months"],
    "marts.gacc_event_study": ["raw.gacc_events", "marts.trade_flows_hs2017"],
    "marts.basket_flows": ["raw.plan_baskets", "marts.trade_flows_hs2017"],
    "marts.goal_progress": ["marts.basket_flows", "marts.khunjerab_indicators", "marts.mirror_flows",
                            "marts.fta_tariff_lines", "marts.trade_flows", "marts.dim_hs"],
    "marts.revisions": ["raw.comtrade_records", "staging.countries"],
    "marts.period_changes": ["raw.comtrade_records", "staging.countries", "marts.revisions"],
}


#: The grain of every table: the columns that identify one row. The build checks each as a
#: blocking check (one GROUP BY … HAVING count(*) > 1 per table), so a join that fans out
#: fails the run instead of multiplying values.
GRAIN: dict[str, list[str]] = {
    # vintage too: a byte-identical body can belong to two releases (a revision that left a piece unchanged)
    "raw.comtrade_records": ["request_id", "sha256", "vintage", "typeCode", "freqCode", "period", "reporterCode", "partnerCode",
                             "partner2Code", "flowCode", "classificationCode", "cmdCode", "customsCode", "motCode", "mosCode"],
    "raw.wits_tariffs": ["request_id", "importer_m49", "partner_m49", "product_code", "year", "tariff_type", "data_type"],
    "raw.reference_countries": ["list", "m49"],
    "raw.reference_hs": ["classification", "code"],
    "raw.hs_concordance": ["newer_version", "older_version", "newer_code", "older_code"],
    "raw.fta_schedule": ["party", "tariff_line"],
    "raw.fta_categories": ["party", "category"],
    "raw.fta_traded_lines": ["importer", "tariff_line"],
    "raw.khunjerab_months": ["month_start"],
    "raw.gacc_events": ["event_id", "hs6"],
    "raw.plan_baskets": ["basket", "hs_prefix"],
    "raw.goals": ["goal_id"],
    "raw.goal_series": ["goal_id", "year"],
    "raw.goal_monthly": ["goal_id", "period_start"],
    "staging.countries": ["m49"],
    "staging.comtrade_flows": ["reporter_code", "partner_code", "flow", "freq", "year", "month", "hs6", "mot_code"],
    "staging.comtrade_totals": ["reporter_code", "partner_code", "flow", "freq", "year", "month"],
    "staging.tariffs": ["importer", "partner", "year", "hs6", "tariff_type"],
    "marts.dim_country": ["m49"],
    "marts.dim_hs": ["hs_version", "code"],
    "marts.trade_flows": ["reporter", "partner", "flow", "freq", "year", "month", "hs6"],
    "marts.trade_flows_by_mode": ["reporter", "partner", "flow", "year", "month", "hs6", "mot_code"],
    "marts.hs_concordance": ["from_version", "from_code", "to_version", "to_code"],
    "marts.trade_flows_hs2017": ["reporter", "partner", "flow", "freq", "year", "month", "hs6_reported", "hs6_2017"],
    "marts.trade_by_period": ["reporter", "partner", "flow", "period_type", "period_label", "basis"],
    "marts.policy_markers": ["event_date", "marker"],
    "marts.mirror_flows": ["direction", "freq", "year", "month", "hs6", "cif_fob_factor"],
    "marts.mirror_gap_by_chapter": ["direction", "year", "chapter", "cif_fob_factor"],
    "marts.world_exports": ["reporter", "year", "hs6"],
    "marts.fta_tariff_lines": ["importer", "tariff_line", "year"],
    "marts.fta_indicators": ["importer", "year"],
    "marts.fta_opportunities": ["year", "hs6"],
    "marts.fta_utilisation": ["importer", "partner", "year", "hs6", "regime"],
    "marts.agro_monthly": ["reporter", "partner", "flow", "year", "month"],
    "marts.agro_products": ["reporter", "partner", "flow", "year", "hs6"],
    "marts.agro_indicators": ["reporter", "partner", "flow", "year"],
    "marts.khunjerab_calendar": ["month_start"],
    "marts.monthly_by_basis": ["reporter", "partner", "flow", "basis", "product_group", "period_start"],
    "marts.khunjerab_indicators": ["reporter", "partner", "flow", "basis", "product_group", "year"],
    "marts.khunjerab_before_after": ["reporter", "flow", "basis", "product_group", "regime"],
    "marts.seasonality_index": ["reporter", "flow", "basis", "product_group", "months_window", "month"],
    "marts.gacc_event_study": ["event_id", "period_start"],
    "marts.basket_flows": ["basket", "reporter", "partner", "flow", "year"],
    "marts.goal_progress": ["goal_id", "year"],
    "marts.trade_complementarity": ["exporter", "importer", "year"],
    "marts.trade_intensity": ["exporter", "importer", "year"],
    "marts.revisions": ["source", "reporter", "partner", "flow", "freq", "period", "vintage", "hs6"],
    "marts.period_changes": ["source", "reporter", "partner", "flow", "freq", "period", "vintage"],
}


def grain_of(name: str) -> list[str]:
    """The grain of a model; every model must declare one."""
    try:
        return GRAIN[name]
    except KeyError:
        raise WarehouseError(f"model {name} declares no grain (add it to GRAIN in tradeflow/warehouse/models.py)") from None


#: Base year of trade weights for the CPFTA indicators: the last full year before the Phase-II cuts.
BASE_YEAR = 2019


def cif_fob_factors() -> tuple[list[float], float]:
    """CIF/FOB factors for the mirror marts (TRADEFLOW_CIF_FOB_FACTORS, first = default)."""
    text = os.environ.get("TRADEFLOW_CIF_FOB_FACTORS", "1.06,1.10")
    try:
        factors = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"TRADEFLOW_CIF_FOB_FACTORS must be numbers like 1.06,1.10, got {text!r}") from None
    if not factors or any(not 1.0 <= f < 2.0 for f in factors):
        raise ConfigError(f"TRADEFLOW_CIF_FOB_FACTORS: each factor must be in [1, 2), got {text!r}")
    return factors, factors[0]


def params() -> dict:
    factors, default = cif_fob_factors()
    year_round, year_round_source = config.khunjerab_year_round()
    return {
        "khunjerab_year_round": year_round.isoformat(),
        "khunjerab_year_round_source": year_round_source,
        "countries_csv": str(seed_path("countries.csv")),
        "chapters_csv": str(seed_path("hs_chapters.csv")),
        "sections_csv": str(seed_path("hs_sections.csv")),
        "factors": factors,
        "default_factor": default,
        "base_year": BASE_YEAR,
    }


def _build_goal_inputs(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Run every goal's metric over the marts built so far and store goals and series in raw."""
    from tradeflow.green_channel.goals import goal_frames

    basket_table = conn.execute("SELECT * FROM raw.plan_baskets").df()
    return _build_from_frames(conn, GOAL_FRAMES, goal_frames(conn, config.goals(basket_table=basket_table)))


def _build_from_frames(conn: duckdb.DuckDBPyConnection, models: dict[str, str], frames: dict) -> dict[str, int]:
    """Build each model from the pandas frame it selects from (registered only while it builds)."""
    counts = {}
    for model, frame in models.items():
        conn.register(frame, frames[frame])
        try:
            counts[model] = build(conn, model)
        finally:
            try:
                conn.unregister(frame)
            except duckdb.Error:  # refused inside an aborted transaction: keep the error that aborted it
                pass
    return counts


def _prefer_live(entries):
    """Live data, once there are any, supersede the sample."""
    return [e for e in entries if not e.is_sample] if any(not e.is_sample for e in entries) else entries


def build_raw(conn: duckdb.DuckDBPyConnection, archive: RawArchive) -> dict[str, int]:
    """Load every archived body and reference list; live data, once there are any, supersede the sample."""
    entries = _prefer_live(archive.loadable("comtrade.final"))
    # load_raw re-hashes the bodies it reads and any loaded body whose object changed on disk
    schedule, categories = schedules_frame(archive.root.parent)
    baskets = config.baskets()
    frames = {
        "khunjerab_frame": config.khunjerab_months(),
        "gacc_events_frame": config.gacc_events(),
        "baskets_frame": baskets,
        "fta_schedule_frame": schedule,
        "fta_categories_frame": categories,
        "fta_traded_lines_frame": traded_lines_frame(schedule),
        "wits_observations": tariff_frame(archive, _prefer_live(archive.loadable("wits.trains"))),
        "reference_countries_frame": reference_countries(archive),
        "reference_hs_frame": reference_hs(archive),
        "hs_concordance_frame": concordance_pairs(archive),
    }
    with transaction(conn):
        counts = {"raw.comtrade_records": load_raw(conn, archive, entries)}
        counts.update(_build_from_frames(conn, RAW_FRAMES, frames))
        return counts


def build_staging(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    p = params()
    with transaction(conn), all_cores(conn):  # staging sums nothing: any thread count gives the same rows
        return {name: build(conn, name, **p) for name in STAGING}


def build_marts(conn: duckdb.DuckDBPyConnection, names=None) -> dict[str, int]:
    """Build the marts and document every column in the database (sql/marts/_contract.yaml)."""
    from tradeflow.contract import apply_comments

    p = params()
    with transaction(conn):
        counts = {}
        for name in names or MARTS:
            if name == "marts.goal_progress":
                counts.update(_build_goal_inputs(conn))
            counts[name] = build(conn, name, **p)
        missing = apply_comments(conn)
        if missing:
            raise WarehouseError(f"undocumented marts columns (add them to sql/marts/_contract.yaml): {', '.join(missing)}")
        return counts
