"""Quality-gate counts kept per batch of ``staging.comtrade_flows`` (issue 14: a nightly run checks what it rebuilt).

Every row the flows gates flag, and every duplicate key, lies inside one batch of staging (its batch key:
reporter_code, freq, year, month), and a year-on-year pair inside an annual batch and the one before it, so
the gates' totals are sums of per-batch counts. The counts are stored with the fingerprints of the batches
they were read from (``batch_incremental``'s own, ``meta."staging__comtrade_flows__batches"``) and the
gates' inputs (their SQL, staging's inputs digest, the reference lists); only batches whose fingerprint
changed are counted again. The gates that compare years (tenfold jumps, months against the annual
figure) are kept per (reporter, year) with the fingerprints of every batch the comparison reads; both
kinds are kept by one mechanism (:func:`_refresh`). A batch counted bad stays bad until its rows change.
Without that batch state (a hand-made warehouse) the gates read every row (:mod:`tradeflow.quality`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from tradeflow.errors import WarehouseError
from tradeflow.quality import _CTES, _NEEDS, SAMPLES, _Gate, _jumps_sql, _months_sql, _with

#: Per batch of staging.comtrade_flows (its batch key: reporter_code, freq, year, month) the rows and unexpected counts
#: of every expectation of the flows gates, with the batch's fingerprint (n, h), the gates' inputs (token) they
#: were counted under and when. Every duplicate key and every bad row lies inside one batch, so the totals are sums of these:
#: a nightly run counts only the batches staging rebuilt (at 20 M records the full pass took 12–14 s).
COUNTS_TABLE = "meta.quality_gate_counts"
#: What batch_incremental keeps of staging.comtrade_flows (sql/macros/batch_incremental.sql): the batches with their
#: fingerprints and keys (_k1.._k4), and its last build's inputs digest.
_FLOWS_BATCHES = 'meta."staging__comtrade_flows__batches"'
_FLOWS_BUILD = 'meta."staging__comtrade_flows__build"'
_BATCH_KEY = ("reporter_code", "freq", "year", "month")
#: Part of every token: a change of how the counts are kept or grouped here counts everything again.
VERSION = "gate_counts/3"
#: The tables of kept counts.
TABLES = ("meta.quality_gate_counts", "meta.quality_jump_counts", "meta.quality_month_counts")


def keep_counts(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether counts can be kept by batch (those that cannot be trusted are dropped): staging.comtrade_flows is
    kept by batch, its batches map one-to-one onto its keys, and no two batches hold keys the gates take for one (a missing month and month 0: the
    duplicate-keys gate groups them, so a duplicate could span two batches). Otherwise every kept count is
    dropped and the gates read every row.

    After a forced full rebuild of staging (``tradeflow refresh --force``) the counts kept from before it are
    dropped too: a forced rebuild rebuilds the checks of it.
    """
    have = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' "
        "AND table_name IN ('staging__comtrade_flows__batches', 'staging__comtrade_flows__build')").fetchall()[0][0]
    ok = have == 2 and not conn.execute(
        f"SELECT count(*) FILTER (WHERE keys > 1) + count(*) - count(DISTINCT (_k1, _k2, _k3, _k4)) "
        f"+ count(*) - count(DISTINCT (_k1, _k2, _k3, coalesce(_k4, 0))) FROM {_FLOWS_BATCHES}").fetchall()[0][0]
    if not ok:
        drop_counts(conn)
        return False
    (forced_at,) = conn.execute(f"SELECT max(built_at) FILTER (WHERE reason = 'full refresh requested') FROM {_FLOWS_BUILD}"
                                ).fetchall()[0]
    if forced_at is not None:
        for table in _existing(conn):
            if conn.execute(f"SELECT count(*) FROM {table} WHERE counted_at < $f", {"f": forced_at}).fetchall()[0][0]:
                conn.execute(f"DROP TABLE {table}")
    return True


def _existing(conn: duckdb.DuckDBPyConnection) -> list[str]:
    names = [t.partition(".")[2] for t in TABLES]
    return [f"meta.{t}" for (t,) in conn.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'meta' AND list_contains($n, table_name)",
        {"n": names}).fetchall()]


def drop_counts(conn: duckdb.DuckDBPyConnection) -> None:
    """Forget every kept count (the next evaluation counts everything)."""
    for table in _existing(conn):
        conn.execute(f"DROP TABLE {table}")


def _match(left: str, right: str, cols: tuple[str, ...]) -> str:
    return " AND ".join(f"{left}.{c} IS NOT DISTINCT FROM {right}.{c}" for c in cols)


def _refresh(conn: duckdb.DuckDBPyConnection, table: str, key: tuple[str, ...], groups: str, token: str,
             aggregates: dict[str, tuple[str, str]], rows_of: Callable[[str | None], str]) -> None:
    """Bring ``table`` up to date: one row per group (its ``key`` columns and ``fp``, the fingerprints of the
    batches it reads, as ``groups`` gives them) with the ``aggregates`` (column → (aggregate over the group's
    rows, value for a group without rows)), the ``token`` it was counted under and when.

    Groups whose fingerprint changed, new ones and, when the token changed, all are counted again, over the
    rows ``rows_of(todo)`` gives (a relation with the key columns; ``todo`` names a table of the groups to
    count, None: every group, so every row); gone groups leave.
    """
    schema, _, name = table.partition(".")
    have = conn.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = $s AND table_name = $t",
                        {"s": schema, "t": name}).fetchall()[0][0]
    if have and conn.execute(f"SELECT count(*) FROM {table} WHERE token IS DISTINCT FROM $t", {"t": token}).fetchall()[0][0]:
        conn.execute(f"DROP TABLE {table}")  # counted under other gates, inputs or code: count everything again
        have = False
    same = f"{_match('c', 'k', key)} AND c.fp IS NOT DISTINCT FROM k.fp"
    cur, todo = f"__tf_{name}_groups", f"__tf_{name}_todo"
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {cur} AS {groups}")
    try:
        fresh = f"NOT EXISTS (SELECT 1 FROM {table} AS k WHERE {same})" if have else "TRUE"
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {todo} AS SELECT * FROM {cur} AS c WHERE {fresh}")
        keys = ", ".join(key)
        counted = f"""
            SELECT {", ".join(f"t.{c}" for c in key)}, t.fp, $t AS token, now() AS counted_at,
                   {", ".join(f"coalesce(x.{col}, {empty}) AS {col}" for col, (_, empty) in aggregates.items())}
            FROM {todo} AS t
            LEFT JOIN (SELECT {keys}, {", ".join(f"{agg} AS {col}" for col, (agg, _) in aggregates.items())}
                       FROM ({rows_of(todo if have else None)}) GROUP BY {keys}) AS x ON {_match('x', 't', key)}"""
        if not have:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS meta; CREATE TABLE {table} AS {counted}", {"t": token})
        else:  # groups gone or changed leave, changed and new ones are counted
            conn.execute(f"DELETE FROM {table} AS k WHERE NOT EXISTS (SELECT 1 FROM {cur} AS c WHERE {same})")
            conn.execute(f"INSERT INTO {table} {counted}", {"t": token})
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {cur}; DROP TABLE IF EXISTS {todo}")
    (repeated,) = conn.execute(f"SELECT count(*) - count(DISTINCT ({', '.join(key)})) FROM {table}").fetchall()[0]
    if repeated:  # the grain of the kept counts: a group counted twice would count its rows twice
        raise WarehouseError(f"{table}: {repeated} group(s) of ({', '.join(key)}) counted more than once")


def _token(conn: duckdb.DuckDBPyConnection, *parts: str) -> str:
    """What counts were counted under: this module's version, the gate's SQL, staging's inputs digest."""
    (inputs,) = conn.execute(f"SELECT any_value(inputs) FROM {_FLOWS_BUILD}").fetchall()[0]
    return hashlib.sha256("|".join([VERSION, *parts, str(inputs)]).encode()).hexdigest()[:32]


def flows_counts(conn: duckdb.DuckDBPyConnection, conds: list[str]) -> tuple:
    """Rows evaluated and unexpected rows per expectation (``conds``) over every staged row, from counts kept per
    batch of staging in :data:`COUNTS_TABLE`: only batches whose fingerprint changed since they were counted are
    counted again; a change of the gates, of the model that stages the rows (its inputs digest) or of the
    reference lists they are checked against counts every batch again. A batch counted bad stays bad until its
    rows change: a failed run does not hide its failure from the next one.
    """
    (references,) = conn.execute(
        """SELECT (SELECT count(*) || ':' || coalesce(sum(hash(classification, code)::HUGEINT), 0) FROM raw.reference_hs)
                  || '|' || (SELECT count(*) || ':' || coalesce(sum(hash(m49)::HUGEINT), 0) FROM staging.countries)"""
    ).fetchall()[0]
    token = _token(conn, *(_CTES[n] for n in _NEEDS["flows"]), *conds, references)
    groups = (f"SELECT _k1 AS reporter_code, _k2 AS freq, _k3 AS year, _k4 AS month, n || ':' || h AS fp "
              f"FROM {_FLOWS_BATCHES}")

    def rows_of(todo: str | None) -> str:
        staged = (None if todo is None else  # None: every batch, every row
                  f"SELECT s.* FROM staging.comtrade_flows AS s SEMI JOIN {todo} AS t ON {_match('s', 't', _BATCH_KEY)}")
        return f"{_with('flows', staged=staged)}\nSELECT * FROM flows"

    aggregates = {"n_rows": ("count(*)", "0")} | {
        f"e{i}": (f"sum(coalesce({c}, false)::INTEGER)::BIGINT", "0") for i, c in enumerate(conds)}  # faster than FILTER
    _refresh(conn, COUNTS_TABLE, _BATCH_KEY, groups, token, aggregates, rows_of)
    totals = ", ".join(f"coalesce(sum({col}), 0)" for col in aggregates)
    row = conn.execute(f"SELECT {totals}, (SELECT count(*) FROM staging.comtrade_flows) FROM {COUNTS_TABLE}").fetchall()[0]
    if row[0] != row[-1]:  # staged rows outside every batch (batch_incremental refuses them)
        raise OutsideBatches(f"{row[-1] - row[0]} staged row(s) outside the batches of {_FLOWS_BATCHES}")
    return row[:-1]


class OutsideBatches(Exception):
    """Staging holds rows no batch accounts for: no kept count can be trusted (the caller counts every row)."""


@dataclass(frozen=True)
class _Yearly:
    """A gate whose rows each lie in the batches of one (reporter, year): how its counts are kept."""

    table: str  # where the counts are kept, one row per (reporter_code, year)
    relation: Callable[[str], str]  # the gate's relation over the staged rows a WHERE selects
    groups: str  # SQL: (reporter_code, year, fp) for every group, fp: the fingerprints of the batches it reads
    rows: str  # a WHERE over staged rows: those a group of {todo} (a table of groups) reads; may read more


_ANNUAL = f"SELECT _k1 AS reporter_code, _k3 AS year, n, h FROM {_FLOWS_BATCHES} WHERE _k2 = 'A' AND _k4 IS NULL"
#: Per gate (its relation): the year-on-year pairs belong to their later year and read the year before it too;
#: the months of a year are checked against its annual figure, reading the annual batch and the twelve monthly ones.
YEARLY = {
    "jumps": _Yearly(
        "meta.quality_jump_counts", _jumps_sql,
        f"""SELECT c.reporter_code, c.year, concat_ws('|', c.n, c.h, coalesce(p.n::VARCHAR, '-'), coalesce(p.h::VARCHAR, '-')) AS fp
            FROM ({_ANNUAL}) AS c
            LEFT JOIN ({_ANNUAL}) AS p ON p.reporter_code IS NOT DISTINCT FROM c.reporter_code AND p.year = c.year - 1""",
        "hash(reporter_code, year) IN (SELECT hash(reporter_code, year) FROM {todo} "
        "UNION ALL SELECT hash(reporter_code, year - 1) FROM {todo})"),
    "months": _Yearly(
        "meta.quality_month_counts", _months_sql,
        f"""SELECT _k1 AS reporter_code, _k3 AS year,
                   string_agg(_k2 || coalesce(_k4::VARCHAR, '') || ':' || n || ':' || h, '|' ORDER BY _k2, _k4) AS fp
            FROM {_FLOWS_BATCHES} WHERE _k2 IN ('A', 'M') GROUP BY _k1, _k3""",
        "hash(reporter_code, year) IN (SELECT hash(reporter_code, year) FROM {todo})"),
}


def year_counts(conn: duckdb.DuckDBPyConnection, gate: _Gate) -> tuple[int, dict[str, list[int]], dict[str, list]]:
    """A gate over annual comparisons (:data:`YEARLY`), as :func:`tradeflow.quality._evaluate` gives it, from counts
    kept per (reporter, year).

    A group is counted again when the fingerprint of a batch it reads changed (a gone batch too), reading the
    staged rows of its batches only. The sample is the first :data:`SAMPLES` failing rows of all groups (each
    group keeps its first ones, in the gate's sample order, so the merge is exact).
    """
    y = YEARLY[gate.source]
    [(_, cond)] = gate.expectations
    names = ", ".join(gate.sample_cols)
    pack = ", ".join(f"{c} := {c}" for c in gate.sample_cols)
    token = _token(conn, y.relation(), y.groups, y.rows, cond, names, str(SAMPLES))
    bad = f"coalesce({cond}, false)"
    aggregates = {"evaluated": ("count(*)", "0"), "unexpected": (f"sum({bad}::INTEGER)::BIGINT", "0"),
                  "sample": (f"list(struct_pack({pack}) ORDER BY {names}) FILTER (WHERE {bad})[1:{SAMPLES}]", "[]")}
    _refresh(conn, y.table, ("reporter_code", "year"), y.groups, token, aggregates,
             lambda todo: y.relation("TRUE" if todo is None else y.rows.format(todo=todo)))
    (evaluated, unexpected) = conn.execute(
        f"SELECT coalesce(sum(evaluated), 0), coalesce(sum(unexpected), 0) FROM {y.table}").fetchall()[0]
    sample = conn.execute(f"SELECT s.* FROM (SELECT unnest(sample) AS s FROM {y.table}) "
                          f"ORDER BY {', '.join('s.' + c for c in gate.sample_cols)} LIMIT {SAMPLES}").fetchall()
    return int(evaluated), {gate.name: [int(unexpected)]}, {gate.name: [dict(zip(gate.sample_cols, r)) for r in sample]}
