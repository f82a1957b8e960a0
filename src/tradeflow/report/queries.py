"""Report queries are SQL files under ``sql/reports/``; this reads them into pandas (the edge)."""

from __future__ import annotations

import duckdb
import pandas as pd

from tradeflow.warehouse.db import sql_dir


def query(conn: duckdb.DuckDBPyConnection, name: str, **params) -> pd.DataFrame:
    sql = (sql_dir() / "reports" / f"{name}.sql").read_text(encoding="utf-8")
    return conn.execute(sql, params or None).df()


def data_status(conn: duckdb.DuckDBPyConnection) -> dict:
    """Is any trade synthetic, and the newest vintage in the marts. A page showing other marts also asks
    :func:`any_sample` of them: a mart built on a sample schedule, tariff or seed is sample with real trade."""
    is_sample, vintage = conn.execute(
        "SELECT coalesce(bool_or(is_sample), false), max(vintage)::VARCHAR FROM marts.trade_flows"
    ).fetchall()[0]
    return {"is_sample": bool(is_sample), "vintage": vintage or ""}


def any_sample(conn: duckdb.DuckDBPyConnection, *tables: str) -> bool:
    """Is any row of ``tables`` (schema-qualified, each with an ``is_sample`` column) from a synthetic input."""
    flags = " OR ".join(f"coalesce((SELECT bool_or(is_sample) FROM {t}), false)" for t in tables)
    return bool(conn.execute(f"SELECT {flags}").fetchone()[0])
