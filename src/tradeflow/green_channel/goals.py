"""Run each goal's metric SQL over the marts and tabulate goals, yearly series and monthly series."""

from __future__ import annotations

import re

import duckdb
import pandas as pd

from tradeflow.errors import ConfigError


def _run(conn: duckdb.DuckDBPyConnection, goal_id: str, sql: str, cols: tuple[str, str]) -> pd.DataFrame:
    try:
        df = conn.execute(sql).df()
    except duckdb.Error as exc:
        raise ConfigError(f"goal {goal_id}: its metric does not run: {str(exc).splitlines()[0]}") from None
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ConfigError(f"goal {goal_id}: its metric must return columns {list(cols)}; missing {missing}")
    if df[cols[0]].duplicated().any():
        dup = df.loc[df[cols[0]].duplicated(), cols[0]].iloc[0]
        raise ConfigError(f"goal {goal_id}: its metric returns more than one value for {cols[0]} {dup}")
    return df[list(cols)].assign(goal_id=goal_id)


TABLE = re.compile(r"\b(marts|raw|staging)\.([a-z_][a-z0-9_]*)", re.IGNORECASE)


def metric_is_sample(conn: duckdb.DuckDBPyConnection, *sqls: str | None) -> bool:
    """True when any table a metric reads holds a synthetic row (its is_sample column)."""
    for schema, table in sorted({m for sql in sqls if sql for m in TABLE.findall(sql)}):
        has = conn.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                           "AND column_name = 'is_sample'", [schema.lower(), table.lower()]).fetchone()[0]
        if has and conn.execute(f"SELECT coalesce(bool_or(is_sample), false) FROM {schema}.{table}").fetchone()[0]:
            return True
    return False


def goal_frames(conn: duckdb.DuckDBPyConnection, goals: list[dict]) -> dict[str, pd.DataFrame]:
    table, series, monthly = [], [], []
    for g in goals:
        t = g.get("target") or {}
        table.append((g["id"], g["label"], g["section"], g["paraphrase"], g.get("unit", ""), int(g["baseline_year"]),
                      t.get("value"), t.get("multiple_of_baseline"), t.get("year"), t.get("statement"), t.get("source"),
                      metric_is_sample(conn, g["metric"], g.get("monthly_metric"))))
        series.append(_run(conn, g["id"], g["metric"], ("year", "value")))
        if g.get("monthly_metric"):
            monthly.append(_run(conn, g["id"], g["monthly_metric"], ("period_start", "value")))
    return {
        "goals_frame": pd.DataFrame(table, columns=["goal_id", "label", "section", "paraphrase", "unit", "baseline_year",
                                                    "target_value", "target_multiple", "target_year", "target_statement",
                                                    "target_source", "is_sample"]).astype({"target_value": "float64",
                                                                              "target_multiple": "float64",
                                                                              "target_year": "Int64"}),
        "goal_series_frame": pd.concat(series, ignore_index=True).astype({"year": "int64", "value": "float64"}),
        "goal_monthly_frame": (pd.concat(monthly, ignore_index=True) if monthly else
                               pd.DataFrame(columns=["period_start", "value", "goal_id"])),
    }
