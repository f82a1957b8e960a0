"""The raw layer (Python loaders) and what the build needs around the dbt project.

Raw tables are written here, from the archive and the curated configuration, one loader SQL file
each (``sql/raw/``); staging and marts are the dbt project in ``sql/`` (built by
:mod:`tradeflow.warehouse.dbt_project`), whose grains live in its schema files.
"""

from __future__ import annotations

import duckdb

from tradeflow.archive import RawArchive
from tradeflow.errors import WarehouseError
from tradeflow.fta.schedule import schedules_frame
from tradeflow.fta.traded_lines import traded_lines_frame
from tradeflow.green_channel import config
from tradeflow.quality import GateResult
from tradeflow.sources.wits import tariff_frame
from tradeflow.warehouse.comtrade_load import BODIES_TABLE, load_raw
from tradeflow.warehouse.db import build, transaction
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

#: Every raw table and the archive assets it is loaded from (the one list; the code location
#: makes an asset of each, and dbt reads them as sources: sql/models/staging/_sources.yml).
RAW_TABLES: dict[str, list[str]] = {
    "raw.comtrade_records": ["archive.comtrade_annual", "archive.comtrade_monthly"],
    "raw.wits_tariffs": ["archive.wits_tariff_responses"],
    "raw.reference_countries": ["archive.comtrade_annual", "archive.comtrade_monthly"],
    "raw.reference_hs": ["archive.comtrade_annual", "archive.comtrade_monthly"],
    "raw.hs_concordance": ["archive.comtrade_annual", "archive.comtrade_monthly"],
    "raw.fta_schedule": [],
    "raw.fta_categories": [],
    "raw.fta_traded_lines": [],
    "raw.khunjerab_months": [],
    "raw.gacc_events": [],
    "raw.plan_baskets": [],
}


#: The grain of every raw table: the columns that identify one row, checked after each load as a
#: blocking check (one GROUP BY … HAVING count(*) > 1 per table). Staging and marts declare
#: theirs in the dbt schema files (meta.grain, tested by dbt: sql/macros/grain.sql).
GRAIN: dict[str, list[str]] = {
    # vintage too: a byte-identical body can belong to two releases (a revision that left a piece unchanged)
    "raw.comtrade_records": ["request_id", "sha256", "vintage", "typeCode", "freqCode", "period", "reporterCode", "partnerCode",
                             "partner2Code", "flowCode", "classificationCode", "cmdCode", "customsCode", "motCode", "mosCode"],
    "raw.wits_tariffs": ["request_id", "sha256", "importer_m49", "partner_m49", "product_code", "year", "tariff_type", "data_type"],
    "raw.reference_countries": ["list", "m49"],
    "raw.reference_hs": ["classification", "code"],
    "raw.hs_concordance": ["newer_version", "older_version", "newer_code", "older_code"],
    "raw.fta_schedule": ["party", "tariff_line"],
    "raw.fta_categories": ["party", "category"],
    "raw.fta_traded_lines": ["importer", "tariff_line"],
    "raw.khunjerab_months": ["month_start"],
    "raw.gacc_events": ["event_id", "hs6"],
    "raw.plan_baskets": ["basket", "hs_prefix"],
}


#: Those bodies of raw.comtrade_records (BODIES_TABLE, written by the load) whose rows last passed the grain
#: check, with the loader and DuckDB that read them.
CHECKED_TABLE = "meta.comtrade_grain_checked"
#: The columns of the Comtrade grain that one body's rows share: rows that differ in any of them
#: never share a key, so only the rows of bodies added since the last passing check need checking.
_BODY = ("request_id", "sha256", "vintage")


def check_grain(conn: duckdb.DuckDBPyConnection, name: str) -> GateResult:
    """The raw table's grain check (blocking), at the cost of what the load added.

    raw.comtrade_records: its grain holds (request_id, sha256, vintage), so a duplicate key lies
    within the rows of one such body group. Only the groups holding a body not in the last passing
    check are checked; nothing, when no body was added (a no-op nightly run scans no row). A
    different loader (model SQL, record types) or DuckDB version checks every row again. Other raw
    tables (small) are checked whole.
    """
    from tradeflow.quality import grain_check

    grain = grain_of(name)
    if name != "raw.comtrade_records":
        return grain_check(conn, name, grain)
    state = "(SELECT any_value(fingerprint) FROM meta.comtrade_load) || ' duckdb ' || version()"
    have = {t for (t,) in conn.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() "
                                       "WHERE schema_name = 'meta'").fetchall()}
    where = None
    if CHECKED_TABLE in have and conn.execute(
            f"SELECT count(*) = 0 FROM {CHECKED_TABLE} WHERE loader IS DISTINCT FROM {state}").fetchall()[0][0]:
        body = ", ".join(_BODY)
        new = f"SELECT * FROM {BODIES_TABLE} EXCEPT SELECT * EXCLUDE (loader) FROM {CHECKED_TABLE}"
        added = conn.execute(f"SELECT count(*) FROM ({new})").fetchall()[0][0]
        if not added:
            return GateResult("grain", True, True, f"One row per {', '.join(grain)} in {name}",
                              statistics={"table": name, "grain": ", ".join(grain), "bodies_checked": 0})
        where = f"({body}) IN (SELECT ({body}) FROM ({new}))"
    result = grain_check(conn, name, grain, where=where)
    if result.passed:
        conn.execute(f"CREATE OR REPLACE TABLE {CHECKED_TABLE} AS SELECT *, {state} AS loader FROM {BODIES_TABLE}")
    return result


def grain_of(name: str) -> list[str]:
    """The grain of a model; every model must declare one."""
    try:
        return GRAIN[name]
    except KeyError:
        raise WarehouseError(f"raw table {name} declares no grain (add it to GRAIN in tradeflow/warehouse/models.py)") from None


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


def undocumented_marts_columns(warehouse) -> list[str]:
    """marts columns without a description in the database (dbt persists the schema files' docs)."""
    from tradeflow.warehouse.db import connect

    conn = connect(warehouse.path, read_only=True)
    try:
        rows = conn.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                            "AND coalesce(comment, '') = '' ORDER BY table_name, column_index").fetchall()
    finally:
        conn.close()
    return [f"marts.{t}.{c}" for t, c in rows]
