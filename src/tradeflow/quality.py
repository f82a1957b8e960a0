"""Quality gates on staged data, run inside DuckDB: one aggregate query per relation, only failing samples fetched.

Blocking gates stop everything downstream (marts, snapshot, reports): null keys, negative
values, HS codes unknown for their declared version, duplicate keys, unknown country codes.
Warnings are reported but do not stop the run: months that do not sum to the annual figure,
and tenfold jumps against the previous year.

Each gate is a list of great-expectations-style expectations (``expect_column_values_to_not_be_null``,
``…_to_be_between``, ``…_to_be_in_set``, ``expect_compound_columns_to_be_unique``) with GX's
semantics (nulls are not "unexpected" for between/in-set; unexpected_count summed over the
gate's expectations), evaluated as ``count(*) FILTER (WHERE …)`` in one pass over the table.
great-expectations itself is no longer run here: its pandas datasource pulled the whole staging
table into memory (86 s and 3.8 GB at 5 M records) and its SQL datasource needs a SQLAlchemy
DuckDB driver the project does not ship; the set-based gates gave identical verdicts on the
planted bad rows in 1.9 s and 0.4 GB (issue 14; ``tests/test_quality.py``).

Each relation a gate reads (the staged flows, months against the annual figure, year-on-year jumps) is
evaluated once: duplicate keys are found by a hash aggregate rather than a window over every row, the
jump window runs only over lines that reach the size floor, and the small derived relations are counted
and sampled in one query. At 5 M records on one thread: 16.2 → 4.5 s on a loaded box, same table.

Grain checks (:func:`grain_check`) hold every table of every layer to its declared grain
(``tradeflow.warehouse.models.GRAIN``): one set-based DuckDB query per table, blocking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

KEY = ["reporter_code", "partner_code", "flow", "freq", "year", "month", "hs6", "mot_code"]
#: Relative tolerance for months vs the annual figure, and the size below which jumps are ignored.
MONTHS_TOLERANCE = 0.01
JUMP_FLOOR_USD = 1_000_000
#: At most this many failing rows are fetched per gate.
SAMPLES = 10


@dataclass
class GateResult:
    name: str
    blocking: bool
    passed: bool
    description: str
    failed_rows: int = 0
    sample: list = field(default_factory=list)
    statistics: dict = field(default_factory=dict)

    def metadata(self) -> dict:
        return {"failed_rows": self.failed_rows, "sample": [str(s) for s in self.sample[:10]], **self.statistics}


@dataclass(frozen=True)
class _Gate:
    """A gate: its expectations as (name, SQL condition true for an *unexpected* row), over relation ``source``."""

    name: str
    blocking: bool
    description: str
    source: str  # "flows", "months" or "jumps"
    expectations: tuple[tuple[str, str], ...]
    sample_cols: tuple[str, ...]


_KEY_NOT_NULL = tuple((f"expect_column_values_to_not_be_null({c})", f"{c} IS NULL") for c in KEY if c != "month")
GATES = (
    _Gate("null_keys", True, "Key columns are never null", "flows", _KEY_NOT_NULL, tuple(KEY)),
    _Gate("negative_values", True, "Values, weights and quantities are never negative", "flows",
          tuple((f"expect_column_values_to_be_between({c}, min_value=0)", f"{c} < 0")
                for c in ("value_usd", "net_weight_kg", "quantity")), (*KEY, "value_usd")),
    _Gate("unknown_hs_codes", True, "Every HS6 code exists in the HS version its record declares", "flows",
          (("expect_column_values_to_be_in_set(hs_known, [True])", "NOT hs_known"),), ("hs6", "classification")),
    _Gate("duplicate_keys", True, "One record per reporter, partner, flow, period, HS6 and mode", "flows",
          (("expect_compound_columns_to_be_unique(" + ", ".join(KEY) + ")", "dup_n > 1"),), tuple(KEY)),
    _Gate("unknown_country_codes", True, "Reporter and partner codes are known M49 codes", "flows",
          tuple((f"expect_column_values_to_be_in_set({c}, countries)", f"{c} IS NOT NULL AND NOT {c}_known")
                for c in ("reporter_code", "partner_code")), ("reporter_code", "partner_code")),
    _Gate("months_sum_to_annual", False, f"The twelve months sum to the annual figure within {MONTHS_TOLERANCE:.0%}",
          "months", ((f"expect_column_values_to_be_between(rel_diff, max_value={MONTHS_TOLERANCE})",
                      f"rel_diff > {MONTHS_TOLERANCE}"),), ("reporter_code", "flow", "year", "hs6", "rel_diff")),
    _Gate("tenfold_jump", False, "No line moves more than tenfold against the previous year (lines ≥ US$1m)",
          "jumps", (("expect_column_values_to_be_between(ratio, min_value=0.1, max_value=10)",
                     "ratio < 0.1 OR ratio > 10"),), ("reporter_code", "flow", "hs6", "year", "ratio")),
)

#: The key as hashed and grouped for duplicates (a missing month and month 0 are the same period, as ever).
_KEY_GROUPED = ", ".join("coalesce(month, 0)" if c == "month" else c for c in KEY)
_CTES = {
    # the staged rows the flows gates read: every row, or (incremental counts) the rows of some batches
    "staged": "SELECT * FROM staging.comtrade_flows",
    "hs": "SELECT DISTINCT classification, code FROM raw.reference_hs",
    "countries": "SELECT DISTINCT m49 FROM staging.countries",
    # keys held by more than one row: rows grouped by one 64-bit hash of their key first (a hash aggregate,
    # 2.5× cheaper than the window count it replaces at 5 M rows); two rows with one key share a hash (NULLs
    # too), so only keys whose hash repeats can be duplicated, and those are grouped by their columns
    "dup_keys": f"""
    SELECT reporter_code, partner_code, flow, freq, year, coalesce(month, 0) AS month0, hs6, mot_code, count(*) AS n
    FROM staged
    WHERE hash({_KEY_GROUPED}) IN (SELECT h FROM (SELECT hash({_KEY_GROUPED}) AS h FROM staged
                                                  GROUP BY h HAVING count(*) > 1))
    GROUP BY ALL HAVING count(*) > 1""",
    "flows": """
    SELECT s.*, h.code IS NOT NULL AS hs_known,
           cr.m49 IS NOT NULL AS reporter_code_known, cp.m49 IS NOT NULL AS partner_code_known,
           coalesce(d.n, 1) AS dup_n
    FROM staged s
    LEFT JOIN hs h ON h.classification = s.classification AND h.code = s.hs6
    LEFT JOIN countries cr ON cr.m49 = s.reporter_code
    LEFT JOIN countries cp ON cp.m49 = s.partner_code
    LEFT JOIN dup_keys d ON d.reporter_code IS NOT DISTINCT FROM s.reporter_code
        AND d.partner_code IS NOT DISTINCT FROM s.partner_code AND d.flow IS NOT DISTINCT FROM s.flow
        AND d.freq IS NOT DISTINCT FROM s.freq AND d.year IS NOT DISTINCT FROM s.year
        AND d.month0 = coalesce(s.month, 0) AND d.hs6 IS NOT DISTINCT FROM s.hs6
        AND d.mot_code IS NOT DISTINCT FROM s.mot_code""",
    "months": """
    WITH a AS (SELECT reporter_code, partner_code, flow, year, hs6, value_usd FROM staging.comtrade_flows
               WHERE freq = 'A' AND mot_code = 0),
         -- an exact sum (DECIMAL): staging.comtrade_flows is kept incrementally, so its rows are not in key order,
         -- and a DOUBLE sum over twelve batches would depend on the order they were rebuilt in
         m AS (SELECT reporter_code, partner_code, flow, year, hs6, sum(value_usd::DECIMAL(38, 6))::DOUBLE AS months_usd,
                      count(*) AS n
               FROM staging.comtrade_flows WHERE freq = 'M' AND mot_code = 0 GROUP BY ALL)
    SELECT * FROM (
        SELECT a.*, m.months_usd, abs(m.months_usd - a.value_usd) / nullif(a.value_usd, 0) AS rel_diff
        FROM a JOIN m USING (reporter_code, partner_code, flow, year, hs6) WHERE m.n = 12)
    WHERE rel_diff IS NOT NULL""",
    "jumps": None,  # _jumps_sql(): filled in below
}
_NEEDS = {"flows": ("staged", "hs", "countries", "dup_keys", "flows"), "months": ("months",), "jumps": ("jumps",)}


def _jumps_sql(where: str = "TRUE") -> str:
    """Year-on-year pairs of annual lines; ``where``: which annual rows of staging (default: all)."""
    # a pair of consecutive years counts when one of its two values reaches the floor, so only lines (reporter,
    # partner, flow, HS6) with a value at the floor can hold one: the window runs over those lines only, each
    # line whole (selected by a hash of its columns: a line is in or out with all its years), 4.5 → 1.2 s at 5 M
    return f"""
    WITH a AS (SELECT reporter_code, partner_code, flow, hs6, year, value_usd FROM staging.comtrade_flows
               WHERE freq = 'A' AND mot_code = 0 AND {where}),
         big AS (SELECT DISTINCT hash(reporter_code, partner_code, flow, hs6) AS h FROM a
                 WHERE value_usd >= {JUMP_FLOOR_USD})
    SELECT * FROM (
        SELECT reporter_code, partner_code, flow, hs6, year, value_usd,
               value_usd / lag(value_usd) OVER w AS ratio
        FROM a WHERE hash(reporter_code, partner_code, flow, hs6) IN (SELECT h FROM big)
        WINDOW w AS (PARTITION BY reporter_code, partner_code, flow, hs6 ORDER BY year)
        QUALIFY lag(year) OVER w = year - 1 AND greatest(value_usd, lag(value_usd) OVER w) >= {JUMP_FLOOR_USD})
    WHERE ratio IS NOT NULL"""


_CTES["jumps"] = _jumps_sql()


def _with(source: str, materialized: bool = False, staged: str | None = None) -> str:
    """The CTEs relation ``source`` needs (``source`` itself MATERIALIZED: evaluated once, read by several subqueries);
    ``staged``: another query for the staged rows (default: every row of staging.comtrade_flows)."""
    ctes = {**_CTES, "staged": staged or _CTES["staged"]}
    return "WITH " + ",\n".join(
        f"{name} AS {'MATERIALIZED ' if materialized and name == source else ''}({ctes[name]})"
        for name in _NEEDS[source])


def _any(g: _Gate) -> str:
    return " OR ".join(f"({cond})" for _, cond in g.expectations)


def staging_gates(conn: duckdb.DuckDBPyConnection) -> list[GateResult]:
    """Every gate on ``staging.comtrade_flows`` (blocking first): one aggregate query, then samples of failures only."""
    from tradeflow.warehouse.db import all_cores

    with all_cores(conn):  # integer counts and ordered samples: the same verdicts on any number of threads
        return _staging_gates(conn)


def _sample_sql(g: _Gate) -> str:
    names = ", ".join(g.sample_cols)
    return f"SELECT {names} FROM {g.source} WHERE {_any(g)} ORDER BY {names} LIMIT {SAMPLES}"


def _evaluate(conn: duckdb.DuckDBPyConnection, source: str) -> tuple[int, dict[str, list[int]], dict[str, list]]:
    """Rows evaluated, unexpected counts per expectation and samples of failing rows, for every gate on ``source``.

    The flows (every staged row) are read once for the counts; their samples, needed only when a blocking gate
    fails, are fetched afterwards. The derived relations (months, jumps) are small: each is evaluated once
    (MATERIALIZED) and both counted and sampled in the same query.
    """
    gates = [g for g in GATES if g.source == source]
    counts = ", ".join(["count(*)"] + [f"count(*) FILTER (WHERE coalesce({cond}, false))"
                                       for g in gates for _, cond in g.expectations])
    if source == "flows":
        row = _flows_counts(conn, [cond for g in gates for _, cond in g.expectations])
        samples = None
    else:
        subs = [f"(SELECT [{counts}] FROM {source})"]
        for g in gates:
            pack = ", ".join(f"{c} := {c}" for c in g.sample_cols)
            names = ", ".join(g.sample_cols)
            subs.append(f"(SELECT list(struct_pack({pack}) ORDER BY {names}) FROM ({_sample_sql(g)}))")
        got = conn.execute(f"{_with(source, materialized=True)}\nSELECT {', '.join(subs)}").fetchall()[0]
        row, samples = got[0], dict(zip((g.name for g in gates), got[1:]))
    at = 1
    unexpected = {}
    for g in gates:
        unexpected[g.name] = [int(u) for u in row[at:at + len(g.expectations)]]
        at += len(g.expectations)
    if samples is None:
        samples = {}
        for g in gates:
            if sum(unexpected[g.name]):
                rel = conn.execute(f"{_with(source)}\n{_sample_sql(g)}")
                samples[g.name] = [dict(zip(g.sample_cols, r)) for r in rel.fetchall()]
    return int(row[0]), unexpected, {name: list(s or []) for name, s in samples.items()}


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


def _key_match(left: str, right: str, right_cols: tuple[str, ...] = ("_k1", "_k2", "_k3", "_k4")) -> str:
    return " AND ".join(f"{left}.{c} IS NOT DISTINCT FROM {right}.{k}" for c, k in zip(_BATCH_KEY, right_cols))


def _flows_counts(conn: duckdb.DuckDBPyConnection, conds: list[str]) -> tuple:
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
    (have_state, have_counts) = conn.execute(
        "SELECT count(*) FILTER (WHERE table_name IN ('staging__comtrade_flows__batches', 'staging__comtrade_flows__build')), "
        "count(*) FILTER (WHERE table_name = 'quality_gate_counts') FROM duckdb_tables() WHERE schema_name = 'meta'"
    ).fetchall()[0]
    one_to_one = have_state == 2 and not conn.execute(
        f"SELECT count(*) FILTER (WHERE keys > 1) + count(*) - count(DISTINCT (_k1, _k2, _k3, _k4)) FROM {_FLOWS_BATCHES}"
    ).fetchall()[0][0]
    if not one_to_one:  # no batches to keep counts by: count every row
        if have_counts:
            conn.execute(f"DROP TABLE {COUNTS_TABLE}")
        return conn.execute(f"{_with('flows')}\nSELECT {counts} FROM flows").fetchall()[0]
    import hashlib

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


def _batch_state(conn: duckdb.DuckDBPyConnection) -> bool:
    """staging.comtrade_flows is kept by batch and its batches map one-to-one onto its keys."""
    have = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' "
        "AND table_name IN ('staging__comtrade_flows__batches', 'staging__comtrade_flows__build')").fetchall()[0][0]
    return have == 2 and not conn.execute(
        f"SELECT count(*) FILTER (WHERE keys > 1) + count(*) - count(DISTINCT (_k1, _k2, _k3, _k4)) FROM {_FLOWS_BATCHES}"
    ).fetchall()[0][0]


def _jump_counts(conn: duckdb.DuckDBPyConnection, gate: _Gate) -> tuple[int, dict[str, list[int]], dict[str, list]]:
    """The jumps gate as :func:`_evaluate` gives it, from counts kept per annual batch (see :data:`JUMP_COUNTS_TABLE`).

    A pair (year − 1, year) belongs to the batch of its later year; a batch is counted again when its own
    fingerprint or that of the year before changed, reading the annual rows of those two years only. The sample
    is the first :data:`SAMPLES` failing pairs of all batches (each batch keeps its first ones, so the merge is
    exact). Without batch state everything is evaluated (:func:`_evaluate`).
    """
    import hashlib

    [(cond_name, cond)] = gate.expectations
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


def _staging_gates(conn: duckdb.DuckDBPyConnection) -> list[GateResult]:
    evaluated, unexpected, samples = {}, {}, {}
    kept = _batch_state(conn)
    for src in ("flows", "months", "jumps"):
        if src == "jumps" and kept:
            evaluated[src], per_gate, sampled = _jump_counts(conn, next(g for g in GATES if g.source == "jumps"))
        else:
            evaluated[src], per_gate, sampled = _evaluate(conn, src)
        unexpected |= per_gate
        samples |= sampled
    results = []
    for g in GATES:
        per_expectation = unexpected[g.name]
        n = evaluated[g.source]
        failed = sum(per_expectation)
        stats = {"evaluated_rows": n}
        if n:
            stats |= {"evaluated_expectations": len(per_expectation),
                      "successful_expectations": sum(1 for u in per_expectation if u == 0)}
        sample = samples.get(g.name, []) if failed else []
        results.append(GateResult(g.name, g.blocking, failed == 0, g.description, failed, sample, stats))
    hs_gate = next(r for r in results if r.name == "unknown_hs_codes")
    if not hs_gate.passed:
        # a version with no list at all cannot be checked: say so once, rather than list its codes
        found = conn.execute(f"""{_with("flows")}
            SELECT classification, hs6, classification IN (SELECT classification FROM hs) AS listed
            FROM (SELECT DISTINCT classification, hs6 FROM flows WHERE NOT hs_known)
            QUALIFY row_number() OVER (PARTITION BY classification ORDER BY hs6) <= 10
            ORDER BY ALL""").fetchall()
        unlisted = sorted({c for c, _, listed in found if not listed}, key=str)
        hs_gate.sample = ([f"{c}: no reference list (comtradeapi.un.org/files/v1/app/reference/{c}.json) archived or readable"
                           for c in unlisted] + [f"{c}:{h}" for c, h, listed in found if listed])[:10]
    return results


def grain_check(conn: duckdb.DuckDBPyConnection, table: str, grain: list[str], samples: int = 5,
                where: str | None = None) -> GateResult:
    """Blocking: at most one row of ``table`` per ``grain`` (among the rows ``where`` selects, a SQL
    condition that must keep or drop every row of a key together).

    First the rows are grouped by one 64-bit hash of their key (3× faster than grouping by the
    key's columns: 0.75 s against 2.1 s for 5 M raw records); two rows with the same key have the
    same hash (NULLs too), so only keys whose hash occurs more than once can be duplicated, and
    those are then grouped by their columns. Only a few duplicated keys are fetched, with the
    number of duplicated keys and of surplus rows.
    """
    from tradeflow.warehouse.db import all_cores

    keys = ", ".join(f'"{c}"' for c in grain)
    description = f"One row per {', '.join(grain)} in {table}"
    rows_of = f"(SELECT * FROM {table} WHERE {where})" if where else table
    with all_cores(conn):  # counts and an ordered sample: the same answer on any number of threads
        rows = conn.execute(f"""
        WITH suspects AS (SELECT hash({keys}) AS h FROM {rows_of} GROUP BY h HAVING count(*) > 1)
        SELECT count(*) OVER () AS dup_keys, sum(n - 1) OVER () AS surplus, {keys}, n
            FROM (SELECT {keys}, count(*) AS n FROM {rows_of} SEMI JOIN suspects ON hash({keys}) = suspects.h
                  GROUP BY {keys} HAVING count(*) > 1)
            ORDER BY n DESC, {keys}
            LIMIT {int(samples)}""").fetchall()
    if not rows:
        return GateResult("grain", True, True, description, statistics={"table": table, "grain": ", ".join(grain)})
    dup_keys, surplus = rows[0][0], int(rows[0][1])
    sample = [", ".join(f"{c}={v}" for c, v in zip(grain, r[2:-1])) + f" ×{r[-1]}" for r in rows]
    return GateResult("grain", True, False,
                      f"{table}: {dup_keys} key(s) of grain ({', '.join(grain)}) hold more than one row "
                      f"({surplus} surplus row(s)): a duplicate or a join that fans out",
                      failed_rows=surplus, sample=sample, statistics={"table": table, "grain": ", ".join(grain)})


def gate_table(conn: duckdb.DuckDBPyConnection):
    """Every gate's verdict as a table (the dbt model staging.quality_gates; its tests block or warn).

    On the build's one DuckDB thread, as every dbt model (sql/profiles.yml): DuckDB's thread count is
    global, and marts running beside this model must not be switched to several threads.
    """
    import pandas as pd

    rows = [{"gate": g.name, "blocking": g.blocking, "passed": g.passed, "description": g.description,
             "failed_rows": g.failed_rows, "evaluated_rows": int(g.statistics.get("evaluated_rows", 0)),
             "sample": "; ".join(str(s) for s in g.sample[:SAMPLES])} for g in _staging_gates(conn)]
    return pd.DataFrame(rows).astype({"failed_rows": "int64", "evaluated_rows": "int64"})
