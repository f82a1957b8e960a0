"""Build the warehouse layers in order: raw → staging → marts, each layer all-or-nothing."""

from __future__ import annotations

import duckdb

from tradeflow.archive import RawArchive
from tradeflow.reference import seed_path
from tradeflow.sources.wits import tariff_frame
from tradeflow.warehouse.comtrade_load import load_raw
from tradeflow.warehouse.db import build, transaction

#: Models per layer, in build order (file sql/<schema>/<table>.sql each).
STAGING = ("staging.countries", "staging.comtrade_flows", "staging.tariffs")
MARTS = ("marts.trade_flows", "marts.trade_flows_by_mode")


def build_raw(conn: duckdb.DuckDBPyConnection, archive: RawArchive) -> dict[str, int]:
    """Load every archived Comtrade body; live data, once there are any, supersede the sample."""
    entries = _prefer_live(archive.loadable("comtrade.final"))
    tariffs = tariff_frame(archive, _prefer_live(archive.loadable("wits.trains")))
    with transaction(conn):
        counts = {"raw.comtrade_records": load_raw(conn, archive, entries)}
        conn.register("wits_observations", tariffs)
        try:
            counts["raw.wits_tariffs"] = build(conn, "raw.wits_tariffs")
        finally:
            conn.unregister("wits_observations")
        return counts


def _prefer_live(entries):
    """Live data, once there are any, supersede the sample."""
    return [e for e in entries if not e.is_sample] if any(not e.is_sample for e in entries) else entries


def build_staging(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    params = {"countries_csv": str(seed_path("countries.csv"))}
    with transaction(conn):
        return {name: build(conn, name, **params) for name in STAGING}


def build_marts(conn: duckdb.DuckDBPyConnection, names: tuple[str, ...] = MARTS) -> dict[str, int]:
    with transaction(conn):
        return {name: build(conn, name) for name in names}
