"""Report queries are SQL files under ``sql/reports/``; this reads them into pandas (the edge)."""

from __future__ import annotations

import duckdb
import pandas as pd

from tradeflow.warehouse.db import sql_dir


def query(conn: duckdb.DuckDBPyConnection, name: str, **params) -> pd.DataFrame:
    sql = (sql_dir() / "reports" / f"{name}.sql").read_text(encoding="utf-8")
    return conn.execute(sql, params or None).df()


def data_status(conn: duckdb.DuckDBPyConnection) -> dict:
    """Is any input synthetic, and the newest vintage in the marts."""
    is_sample, vintage = conn.execute(
        "SELECT coalesce(bool_or(is_sample), false), max(vintage)::VARCHAR FROM marts.trade_flows"
    ).fetchall()[0]
    return {"is_sample": bool(is_sample), "vintage": vintage or ""}
