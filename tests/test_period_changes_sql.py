"""marts.period_changes (and staging.vintage_totals, its totals) on hand-made raw records: totals that do not depend on the order rows arrive in, and a
vintage fetched twice counted once (its newest fetch)."""

from __future__ import annotations

import math

import duckdb
from dbt_models import build

COLS = ("query_scope VARCHAR, reporterCode INT, partnerCode INT, flowCode VARCHAR, freqCode VARCHAR, period VARCHAR, "
        "refYear INT, refMonth INT, cmdCode VARCHAR, vintage DATE, fetched_at TIMESTAMP, sha256 VARCHAR, "
        "primaryValue DOUBLE, is_sample BOOLEAN, aggrLevel INT, partner2Code INT, customsCode VARCHAR, motCode INT")


def warehouse(records) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA staging; CREATE SCHEMA marts")
    conn.execute(f"CREATE TABLE raw.comtrade_records ({COLS})")
    conn.executemany(f"INSERT INTO raw.comtrade_records VALUES ({', '.join('?' * 18)})", records)
    conn.execute("CREATE TABLE staging.countries AS SELECT * FROM (VALUES (586, 'PAK'), (156, 'CHN')) t(m49, iso3)")
    conn.execute("""CREATE TABLE marts.revisions (source VARCHAR, reporter VARCHAR, partner VARCHAR, flow VARCHAR,
        freq VARCHAR, period VARCHAR, vintage DATE, line_change VARCHAR, revision_usd DOUBLE)""")
    return conn


def build_changes(conn: duckdb.DuckDBPyConnection) -> None:
    """staging.vintage_totals (the per-vintage totals), then marts.period_changes from them."""
    build(conn, "staging.vintage_totals")
    build(conn, "marts.period_changes")


def record(hs6, value, vintage="2024-06-30", fetched_at="2024-07-01 02:00:00", sha="a"):
    return ("reporter", 586, 156, "X", "A", "2023", 2023, 1, hs6, vintage, fetched_at, sha, value, False, 6, 0, "C00", 0)


#: values whose DOUBLE sum depends on the order they are added in (1e16 swallows 1.0 unless the 1.0s meet first)
VALUES = [1e16, 1.0, 1.0, -1e16, 3.3, 1e-3, 7.77e12, -7.77e12, 0.1, 0.2, 0.3, 12345.678, 0.007, 2.0 ** 51]


def total(values) -> set[float]:
    """marts.period_changes' value_usd for one (reporter, partner, flow, period, vintage) holding ``values``
    (one HS6 line each), built once per arrival order of the raw rows."""
    lines = [(f"{100000 + 37 * i:06d}", v) for i, v in enumerate(values)]
    got = set()
    for order in (lines, lines[::-1], lines[5:] + lines[:5], sorted(lines, key=lambda x: str(x[1]))):
        conn = warehouse([record(h, v) for h, v in order])
        build_changes(conn)
        [(value, n)] = conn.execute("SELECT value_usd, lines FROM marts.period_changes").fetchall()
        assert n == len(values)
        got.add(value)
    return got


def test_totals_are_the_exact_sum_rounded_once_whatever_order_rows_arrive_in():
    orders = [VALUES, VALUES[::-1], VALUES[5:] + VALUES[:5], sorted(VALUES)]
    assert len({sum(o) for o in orders}) > 1  # added as DOUBLEs, the order matters for these values
    assert total(VALUES) == {math.fsum(VALUES)}


def test_values_off_the_exact_grid_still_give_one_total():
    """NaN and infinities propagate as in DOUBLE arithmetic; specks and huge values are added in HS6 order."""
    assert total([5.0, float("inf"), 2.0]) == {float("inf")}
    assert all(math.isnan(v) for v in total([5.0, float("inf"), float("-inf")]))
    [v] = total([1.5, 2.0 ** 53, 1e-300, -(2.0 ** 53), 0.25])
    assert v == 1.75 + (2.0 ** 53 + 1e-300 - 2.0 ** 53)  # exact part 1.75, then the off-grid lines in HS6 order
    assert total([None, None]) == {None}  # no value at all: unknown, as sum() of NULLs


def test_a_vintage_fetched_twice_counts_once_with_its_newest_fetch():
    records = [record("100630", 10.0), record("520512", 5.0),
               # the same vintage fetched again later: 520512 revised in place, 100630 identical
               record("100630", 10.0, fetched_at="2024-07-02 02:00:00", sha="b"),
               record("520512", 7.0, fetched_at="2024-07-02 02:00:00", sha="b"),
               # the same fetch time twice: the smaller sha256 wins
               record("010121", 1.0, fetched_at="2024-07-02 02:00:00", sha="d"),
               record("010121", 2.0, fetched_at="2024-07-02 02:00:00", sha="c")]
    conn = warehouse(records)
    build_changes(conn)
    rows = conn.execute("SELECT change, value_usd, lines, arrived_at::VARCHAR FROM marts.period_changes").fetchall()
    assert rows == [("new period", 19.0, 3, "2024-07-01 02:00:00")]


def test_a_line_twice_in_one_body_counts_its_larger_value_as_staging_does():
    """A body may carry one line twice; period_changes and revisions take the larger value, as staging.comtrade_flows
    does, whatever order the rows are stored in (before: whichever row the sort met first)."""
    old = [record("100630", 5.0, vintage="2024-06-30", sha="a"), record("520512", 1.0, vintage="2024-06-30", sha="a")]
    twice = [record("100630", 5.0, vintage="2025-06-30", fetched_at="2025-07-01 02:00:00", sha="b"),
             record("100630", 9.0, vintage="2025-06-30", fetched_at="2025-07-01 02:00:00", sha="b")]
    unmoved = [record("520512", 1.0, vintage="2025-06-30", fetched_at="2025-07-01 02:00:00", sha="b")]
    for body in (twice, twice[::-1]):
        conn = warehouse(old + body + unmoved)
        conn.execute("DROP TABLE marts.revisions")
        build(conn, "marts.revisions")
        assert conn.execute("SELECT line_change, value_usd_before, value_usd, revision_usd FROM marts.revisions"
                            ).fetchall() == [("revised", 5.0, 9.0, 4.0)]
        build_changes(conn)
        assert conn.execute("SELECT change, value_usd, lines FROM marts.period_changes ORDER BY vintage").fetchall() == [
            ("new period", 6.0, 2), ("revision", 10.0, 2)]


def test_a_partner_dropped_by_a_revision_is_zero_after_it_and_one_added_zero_before():
    """2023 from Pakistan: the first vintage has exports to China (156) of 10; the revision has none to China and
    exports of 4 to the World (0). Per partner: China 10 → 0 (main: NULL after, as if unknown), World 0 → 4."""
    def rec(partner, value, vintage, fetched):
        return ("reporter", 586, partner, "X", "A", "2023", 2023, 1, "010101", vintage, fetched, vintage, value, False,
                6, 0, "C00", 0)

    conn = warehouse([rec(156, 10.0, "2024-06-30", "2024-07-01 02:00:00"), rec(0, 4.0, "2025-06-30", "2025-07-01 02:00:00")])
    conn.execute("INSERT INTO staging.countries VALUES (0, 'WLD')")
    build_changes(conn)
    got = conn.execute("""SELECT partner, value_usd_before, value_usd FROM marts.period_changes
                          WHERE change = 'revision' ORDER BY partner""").fetchall()
    assert got == [("CHN", 10.0, 0.0), ("WLD", 0.0, 4.0)]
