"""Run each goal's metric SQL over the marts and tabulate goals, yearly series and monthly series."""

from __future__ import annotations

import re

import duckdb
import pandas as pd

from tradeflow.errors import ConfigError


def _one_select(conn: duckdb.DuckDBPyConnection, goal_id: str, sql: str) -> None:
    """A goal's metric is one SELECT: it runs on the build's connection, where anything else could change the marts."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise ConfigError(f"goal {goal_id}: its metric is not valid SQL: {str(exc).splitlines()[0]}") from None
    kinds = [s.type.name for s in statements]
    if kinds != ["SELECT"]:
        raise ConfigError(f"goal {goal_id}: its metric must be one SELECT statement; it is {', '.join(kinds) or 'empty'}")
    # a SELECT can still hold a write in a WITH clause (WITH d AS (DELETE … RETURNING *) SELECT …): DuckDB's own
    # parse tree says so
    tree = conn.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0]
    if write := re.search(r'"type":"(INSERT|UPDATE|DELETE)_QUERY_NODE"', tree):
        raise ConfigError(f"goal {goal_id}: its metric must only read; it writes ({write.group(1)} inside a WITH clause)")


def _run(conn: duckdb.DuckDBPyConnection, goal_id: str, sql: str, cols: tuple[str, str]) -> pd.DataFrame:
    _one_select(conn, goal_id, sql)
    try:
        df = conn.execute(sql).df()
    except duckdb.Error as exc:
        raise ConfigError(f"goal {goal_id}: its metric does not run: {str(exc).splitlines()[0]}") from None
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ConfigError(f"goal {goal_id}: its metric must return columns {list(cols)}; missing {missing}")
    values = df["value"]
    if not values.isna().all() and not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        bad = values.dropna().iloc[0]
        raise ConfigError(f"goal {goal_id}: its metric's value must be a number, got {bad!r} ({values.dtype})")
    if df[cols[0]].duplicated().any():
        dup = df.loc[df[cols[0]].duplicated(), cols[0]].iloc[0]
        raise ConfigError(f"goal {goal_id}: its metric returns more than one value for {cols[0]} {dup}")
    return df[list(cols)].assign(goal_id=goal_id)


TABLE = re.compile(r"\b(marts|raw|staging)\.([a-z_][a-z0-9_]*)", re.IGNORECASE)


def metric_is_sample(conn: duckdb.DuckDBPyConnection, *sqls: str | None) -> bool:
    """True when any table a metric reads holds a synthetic row (its is_sample column)."""
    for schema, table in sorted({m for sql in sqls if sql for m in TABLE.findall(sql)}):
        has = conn.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                           "AND column_name = 'is_sample'", [schema.lower(), table.lower()]).fetchall()[0][0]
        if has and conn.execute(f"SELECT coalesce(bool_or(is_sample), false) FROM {schema}.{table}").fetchall()[0][0]:
            return True
    return False


def goal_frames(conn: duckdb.DuckDBPyConnection, goals: list[dict],
                parts: tuple[str, ...] = ("goals_frame", "goal_series_frame", "goal_monthly_frame")) -> dict[str, pd.DataFrame]:
    """The goals table, yearly series and monthly series of ``goals`` (only the frames in ``parts``)."""
    out: dict[str, pd.DataFrame] = {}
    if "goals_frame" in parts:
        table = []
        for g in goals:
            t = g.get("target") or {}
            table.append((g["id"], g["label"], g["section"], g["paraphrase"], g.get("unit", ""), int(g["baseline_year"]),
                          t.get("value"), t.get("multiple_of_baseline"), t.get("year"), t.get("statement"),
                          t.get("source"), metric_is_sample(conn, g["metric"], g.get("monthly_metric"))))
        out["goals_frame"] = pd.DataFrame(table, columns=[
            "goal_id", "label", "section", "paraphrase", "unit", "baseline_year", "target_value", "target_multiple",
            "target_year", "target_statement", "target_source", "is_sample"]).astype(
            {"target_value": "float64", "target_multiple": "float64", "target_year": "Int64"})
    if "goal_series_frame" in parts:
        series = [_run(conn, g["id"], g["metric"], ("year", "value")).assign(is_sample=metric_is_sample(conn, g["metric"]))
                  for g in goals]
        out["goal_series_frame"] = pd.concat(series, ignore_index=True).astype({"year": "int64", "value": "float64"})
    if "goal_monthly_frame" in parts:
        monthly = [_run(conn, g["id"], g["monthly_metric"], ("period_start", "value"))
                   .assign(is_sample=metric_is_sample(conn, g["monthly_metric"])) for g in goals if g.get("monthly_metric")]
        out["goal_monthly_frame"] = (pd.concat(monthly, ignore_index=True) if monthly else
                                     pd.DataFrame(columns=["period_start", "value", "goal_id", "is_sample"]))
    return out


#: The marts a goal's metric may read: the dbt models that build the goal tables ref() each of
#: them (sql/models/marts/goals.py, goal_actuals.py, goal_actuals_monthly.py), so they run after them.
GOAL_INPUTS = ("basket_flows", "dim_hs", "fta_tariff_lines", "khunjerab_indicators", "mirror_flows", "trade_flows",
               "trade_flows_hs2017", "world_exports")

#: goal table → the frame of goal_frames() it holds and its typed columns.
_TABLES = {
    "goals": ("goals_frame", "*"),
    "goal_actuals": ("goal_series_frame", "goal_id, CAST(year AS INTEGER) AS year, CAST(value AS DOUBLE) AS value, "
                     "CAST(is_sample AS BOOLEAN) AS is_sample"),
    "goal_actuals_monthly": ("goal_monthly_frame", "goal_id, CAST(period_start AS DATE) AS period_start, "
                             "CAST(value AS DOUBLE) AS value, CAST(is_sample AS BOOLEAN) AS is_sample"),
}


def goal_tables(conn: duckdb.DuckDBPyConnection, goals: list[dict],
                names: tuple[str, ...] = tuple(_TABLES)) -> dict[str, duckdb.DuckDBPyRelation]:
    """The goal tables ``names`` (marts.goals, goal_actuals, goal_actuals_monthly) for ``goals``, as typed
    relations on ``conn`` (typed in DuckDB, so an empty monthly table still has a DATE column). Each
    computes only its own part: the metrics run once per build, not once per table."""
    frames = goal_frames(conn, goals, tuple(_TABLES[n][0] for n in names))
    return {n: conn.from_df(frames[_TABLES[n][0]]).project(_TABLES[n][1]) for n in names}


def goal_table(conn: duckdb.DuckDBPyConnection, table: str) -> duckdb.DuckDBPyRelation:
    """One goal table (``goals``, ``goal_actuals`` or ``goal_actuals_monthly``), computed from the marts.

    Goals come from goals.yaml plus one per plan basket (raw.plan_baskets); a metric reading a
    table outside :data:`GOAL_INPUTS` is refused (the build would not order it after that table).
    The metrics are configuration, free to sum DOUBLE: they run on one DuckDB thread, so their
    values do not depend on the order threads finish in (the models' own sums are exact instead).
    """
    from tradeflow.green_channel import config
    from tradeflow.warehouse.db import duckdb_threads

    goals = config.goals(basket_table=conn.execute("SELECT * FROM raw.plan_baskets").df())
    for g in goals:
        for sql in (g["metric"], g.get("monthly_metric")):
            for schema, name in TABLE.findall(sql or ""):
                if schema.lower() != "marts" or name.lower() not in GOAL_INPUTS:
                    raise ConfigError(f"goal {g['id']}: its metric reads {schema}.{name}; goal metrics may read only "
                                      f"marts.{{{', '.join(GOAL_INPUTS)}}} (GOAL_INPUTS in tradeflow/green_channel/goals.py)")
    with duckdb_threads(conn, 1):
        return goal_tables(conn, goals, (table,))[table]
