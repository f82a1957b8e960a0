"""Quality-gate counts kept per batch of ``staging.comtrade_flows`` (issue 14: a nightly run checks what it rebuilt).

Every row the flows gates flag, and every duplicate key, lies inside one batch of staging (its batch key:
reporter_code, freq, year, month), and a year-on-year pair inside an annual batch and the one before it, so
the gates' totals are sums of per-batch counts. The counts are stored with the fingerprints of the batches
they were read from (``batch_incremental``'s own, ``meta."staging__comtrade_flows__batches"``) and the
gates' inputs (their SQL, staging's inputs digest, the reference lists); only batches whose fingerprint
changed are counted again. A batch counted bad stays bad until its rows change. Without that batch state
(a hand-made warehouse) the gates read every row (:mod:`tradeflow.quality`).
"""

from __future__ import annotations

import hashlib

import duckdb

from tradeflow.quality import _CTES, _NEEDS, SAMPLES, _Gate, _jumps_sql, _with

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


def batch_state(conn: duckdb.DuckDBPyConnection) -> bool:
    """staging.comtrade_flows is kept by batch and its batches map one-to-one onto its keys."""
    have = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' "
        "AND table_name IN ('staging__comtrade_flows__batches', 'staging__comtrade_flows__build')").fetchall()[0][0]
    return have == 2 and not conn.execute(
        f"SELECT count(*) FILTER (WHERE keys > 1) + count(*) - count(DISTINCT (_k1, _k2, _k3, _k4)) FROM {_FLOWS_BATCHES}"
    ).fetchall()[0][0]


def _key_match(left: str, right: str, right_cols: tuple[str, ...] = ("_k1", "_k2", "_k3", "_k4")) -> str:
    return " AND ".join(f"{left}.{c} IS NOT DISTINCT FROM {right}.{k}" for c, k in zip(_BATCH_KEY, right_cols))


def flows_counts(conn: duckdb.DuckDBPyConnection, conds: list[str]) -> tuple:
    """Rows evaluated and unexpected rows per expectation (``conds``) over every staged row.

    Where staging.comtrade_flows is kept by batch (its state in schema meta), the counts are kept per
    batch in :data:`COUNTS_TABLE` and only batches whose fingerprint changed since they were counted are
    counted again; a change of the gates, of the model that stages the rows (its inputs digest) or of
    the reference lists they are checked against counts every batch again. A batch counted bad stays
    bad until its rows change: a failed run does not hide its failure from the next one.
    """
    counts = ", ".join(["count(*) AS n_rows"] + [f"sum(coalesce({c}, false)::INTEGER)::BIGINT AS e{i}"  # faster than FILTER
                                                 for i, c in enumerate(conds)])
    totals = ", ".join(["coalesce(sum(n_rows), 0)"] + [f"coalesce(sum(e{i}), 0)" for i in range(len(conds))])
    have_counts = conn.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' "
                               "AND table_name = 'quality_gate_counts'").fetchall()[0][0]
    if not batch_state(conn):  # no batches to keep counts by: count every row
        if have_counts:
            conn.execute(f"DROP TABLE {COUNTS_TABLE}")
        return conn.execute(f"{_with('flows')}\nSELECT {counts} FROM flows").fetchall()[0]
    (inputs, references) = conn.execute(
        f"""SELECT (SELECT any_value(inputs) FROM {_FLOWS_BUILD}),
                   (SELECT count(*) || ':' || coalesce(sum(hash(classification, code)::HUGEINT), 0) FROM raw.reference_hs)
                   || '|' || (SELECT count(*) || ':' || coalesce(sum(hash(m49)::HUGEINT), 0) FROM staging.countries)"""
    ).fetchall()[0]
    gate_sql = "|".join([*(_CTES[n] for n in _NEEDS["flows"]), *conds])
    token = hashlib.sha256(f"{gate_sql}|{inputs}|{references}".encode()).hexdigest()[:32]
    if have_counts and conn.execute(f"SELECT count(*) FROM {COUNTS_TABLE} WHERE token IS DISTINCT FROM $t",
                                    {"t": token}).fetchall()[0][0]:
        conn.execute(f"DROP TABLE {COUNTS_TABLE}")  # counted under other gates or inputs: count everything again
        have_counts = False
    fresh = (f"NOT EXISTS (SELECT 1 FROM {COUNTS_TABLE} AS c WHERE {_key_match('c', 'b')} AND c.n = b.n AND c.h = b.h)"
             if have_counts else "TRUE")
    todo = "__tf_gate_batches"
    conn.execute(f"""CREATE OR REPLACE TEMP TABLE {todo} AS
                     SELECT _k1 AS reporter_code, _k2 AS freq, _k3 AS year, _k4 AS month, n, h
                     FROM {_FLOWS_BATCHES} AS b WHERE {fresh}""")
    try:
        staged = (f"SELECT s.* FROM staging.comtrade_flows AS s SEMI JOIN {todo} AS t ON {_key_match('s', 't', _BATCH_KEY)}"
                  if have_counts else None)  # every batch: every row
        keys = ", ".join(_BATCH_KEY)
        counted = f"""
            SELECT t.reporter_code, t.freq, t.year, t.month, t.n, t.h, $t AS token, now()::TIMESTAMP AS counted_at,
                   {", ".join(["coalesce(x.n_rows, 0) AS n_rows"] + [f"coalesce(x.e{i}, 0) AS e{i}" for i in range(len(conds))])}
            FROM {todo} AS t
            LEFT JOIN ({_with('flows', staged=staged)}
                       SELECT {keys}, {counts} FROM flows GROUP BY {keys}) AS x ON {_key_match('x', 't', _BATCH_KEY)}"""
        if not have_counts:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS meta; CREATE TABLE {COUNTS_TABLE} AS {counted}", {"t": token})
        else:  # batches gone or changed leave, changed and new ones are counted
            conn.execute(f"""DELETE FROM {COUNTS_TABLE} AS c
                             WHERE NOT EXISTS (SELECT 1 FROM {_FLOWS_BATCHES} AS b
                                               WHERE {_key_match('c', 'b')} AND c.n = b.n AND c.h = b.h)""")
            conn.execute(f"INSERT INTO {COUNTS_TABLE} {counted}", {"t": token})
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {todo}")
    row = conn.execute(f"SELECT {totals}, (SELECT count(*) FROM staging.comtrade_flows) FROM {COUNTS_TABLE}").fetchall()[0]
    if row[0] != row[-1]:  # staged rows outside every batch (batch_incremental refuses them): count every row
        conn.execute(f"DROP TABLE {COUNTS_TABLE}")
        return conn.execute(f"{_with('flows')}\nSELECT {counts} FROM flows").fetchall()[0]
    return row[:-1]


#: Per annual batch of staging.comtrade_flows (reporter_code, year) the year-on-year pairs ending in that year:
#: how many, how many jump tenfold, and the first failing ones (in the gate's sample order), with the fingerprints
#: of the batch and of the year before it (a pair reads both) they were counted under.
JUMP_COUNTS_TABLE = "meta.quality_jump_counts"


def jump_counts(conn: duckdb.DuckDBPyConnection, gate: _Gate) -> tuple[int, dict[str, list[int]], dict[str, list]]:
    """The jumps gate as :func:`tradeflow.quality._evaluate` gives it, from counts kept per annual batch (see :data:`JUMP_COUNTS_TABLE`).

    A pair (year − 1, year) belongs to the batch of its later year; a batch is counted again when its own
    fingerprint or that of the year before changed, reading the annual rows of those two years only. The sample
    is the first :data:`SAMPLES` failing pairs of all batches (each batch keeps its first ones, so the merge is
    exact). Without batch state everything is evaluated (:func:`tradeflow.quality._evaluate`).
    """
    [(_, cond)] = gate.expectations
    names = ", ".join(gate.sample_cols)
    pack = ", ".join(f"{c} := {c}" for c in gate.sample_cols)
    (inputs,) = conn.execute(f"SELECT any_value(inputs) FROM {_FLOWS_BUILD}").fetchall()[0]
    token = hashlib.sha256(f"{_CTES['jumps']}|{cond}|{names}|{SAMPLES}|{inputs}".encode()).hexdigest()[:32]
    have = conn.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' "
                        "AND table_name = 'quality_jump_counts'").fetchall()[0][0]
    if have and conn.execute(f"SELECT count(*) FROM {JUMP_COUNTS_TABLE} WHERE token IS DISTINCT FROM $t",
                             {"t": token}).fetchall()[0][0]:
        conn.execute(f"DROP TABLE {JUMP_COUNTS_TABLE}")
        have = False
    annual = f"SELECT _k1 AS reporter_code, _k3 AS year, n, h FROM {_FLOWS_BATCHES} WHERE _k2 = 'A' AND _k4 IS NULL"
    same = ("c.reporter_code IS NOT DISTINCT FROM j.reporter_code AND c.year IS NOT DISTINCT FROM j.year "
            "AND c.n = j.n AND c.h = j.h AND c.prev_n IS NOT DISTINCT FROM j.prev_n AND c.prev_h IS NOT DISTINCT FROM j.prev_h")
    cur, todo = "__tf_jump_batches", "__tf_jump_todo"
    conn.execute(f"""CREATE OR REPLACE TEMP TABLE {cur} AS
                     SELECT c.reporter_code, c.year, c.n, c.h, p.n AS prev_n, p.h AS prev_h
                     FROM ({annual}) AS c
                     LEFT JOIN ({annual}) AS p ON p.reporter_code IS NOT DISTINCT FROM c.reporter_code AND p.year = c.year - 1""")
    try:
        fresh = f"NOT EXISTS (SELECT 1 FROM {JUMP_COUNTS_TABLE} AS j WHERE {same})" if have else "TRUE"
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {todo} AS SELECT * FROM {cur} AS c WHERE {fresh}")
        # the annual rows of each batch to count and of the year before it (a hash collision only reads more rows,
        # which make no pair ending in a batch to count)
        rows = ("TRUE" if not have else
                f"hash(reporter_code, year) IN (SELECT hash(reporter_code, year) FROM {todo} "
                f"UNION ALL SELECT hash(reporter_code, year - 1) FROM {todo})")
        counted = f"""
            SELECT t.reporter_code, t.year, t.n, t.h, t.prev_n, t.prev_h, $t AS token, now()::TIMESTAMP AS counted_at,
                   coalesce(x.pairs, 0) AS pairs, coalesce(x.unexpected, 0) AS unexpected,
                   coalesce(x.sample, []) AS sample
            FROM {todo} AS t
            LEFT JOIN (SELECT reporter_code, year, count(*) AS pairs, sum(coalesce({cond}, false)::INTEGER)::BIGINT AS unexpected,
                              list(struct_pack({pack}) ORDER BY {names}) FILTER (WHERE coalesce({cond}, false))[1:{SAMPLES}] AS sample
                       FROM ({_jumps_sql(rows)}) GROUP BY reporter_code, year) AS x
              ON x.reporter_code IS NOT DISTINCT FROM t.reporter_code AND x.year IS NOT DISTINCT FROM t.year"""
        if not have:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS meta; CREATE TABLE {JUMP_COUNTS_TABLE} AS {counted}", {"t": token})
        else:
            conn.execute(f"DELETE FROM {JUMP_COUNTS_TABLE} AS j WHERE NOT EXISTS (SELECT 1 FROM {cur} AS c WHERE {same})")
            conn.execute(f"INSERT INTO {JUMP_COUNTS_TABLE} {counted}", {"t": token})
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {cur}; DROP TABLE IF EXISTS {todo}")
    (pairs, unexpected) = conn.execute(
        f"SELECT coalesce(sum(pairs), 0), coalesce(sum(unexpected), 0) FROM {JUMP_COUNTS_TABLE}").fetchall()[0]
    sample = conn.execute(f"SELECT s.* FROM (SELECT unnest(sample) AS s FROM {JUMP_COUNTS_TABLE}) "
                          f"ORDER BY {', '.join('s.' + c for c in gate.sample_cols)} LIMIT {SAMPLES}").fetchall()
    return int(pairs), {gate.name: [int(unexpected)]}, {gate.name: [dict(zip(gate.sample_cols, r)) for r in sample]}
