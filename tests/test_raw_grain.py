"""Issue 14: the raw Comtrade grain check costs what the load added, and still catches every duplicate."""

import duckdb
import pytest

from tradeflow.warehouse.models import BODIES_TABLE, CHECKED_TABLE, GRAIN, check_grain

KEY = GRAIN["raw.comtrade_records"]


def _conn():
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA meta")
    conn.execute("CREATE TABLE meta.comtrade_load AS SELECT 'loader-1' AS fingerprint, now()::TIMESTAMP AS loaded_at")
    cols = ", ".join(f"NULL::VARCHAR AS {c}" for c in KEY if c not in ("request_id", "sha256", "vintage", "cmdCode"))
    conn.execute(f"CREATE TABLE raw.comtrade_records AS SELECT 'r1' AS request_id, 's1' AS sha256, DATE '2024-01-01' AS vintage, "
                 f"TIMESTAMP '2024-01-02' AS fetched_at, false AS is_sample, 'reporter' AS query_scope, "
                 f"'01010' || i AS cmdCode, {cols} FROM range(1000) t(i)")
    return conn


def _bodies(conn):
    conn.execute(f"CREATE OR REPLACE TABLE {BODIES_TABLE} AS SELECT DISTINCT request_id, sha256, vintage, fetched_at, "
                 "is_sample, query_scope FROM raw.comtrade_records")


def _add_body(conn, request_id, sha, fetched_at, codes="i"):
    conn.execute(f"""INSERT INTO raw.comtrade_records BY NAME SELECT '{request_id}' AS request_id, '{sha}' AS sha256,
                     DATE '2024-01-01' AS vintage, TIMESTAMP '{fetched_at}' AS fetched_at, false AS is_sample,
                     'reporter' AS query_scope, '01010' || {codes} AS cmdCode FROM range(1000) t(i)""")
    _bodies(conn)


def test_a_load_that_added_no_body_checks_no_row_and_a_new_body_is_checked_with_its_group():
    conn = _conn()
    _bodies(conn)
    first = check_grain(conn, "raw.comtrade_records")
    assert first.passed and "bodies_checked" not in first.statistics  # no state yet: every row
    assert conn.execute(f"SELECT count(*) FROM {CHECKED_TABLE}").fetchall() == [(1,)]

    again = check_grain(conn, "raw.comtrade_records")  # nothing added since the check passed
    assert again.passed and again.statistics["bodies_checked"] == 0

    _add_body(conn, "r2", "s2", "2024-02-01")  # another body: its own keys, passes
    assert check_grain(conn, "raw.comtrade_records").passed

    # the same body and vintage archived again under another fetch: its rows repeat the first body's keys
    _add_body(conn, "r1", "s1", "2024-03-01")
    bad = check_grain(conn, "raw.comtrade_records")
    assert not bad.passed and bad.failed_rows == 1000
    assert "request_id=r1, sha256=s1" in bad.sample[0]
    # a failed check records nothing: the next run checks those rows again, and fails again
    assert not check_grain(conn, "raw.comtrade_records").passed


@pytest.mark.parametrize("change", ["loader", "duckdb"])
def test_another_loader_or_duckdb_checks_every_row_again(change):
    conn = _conn()
    _bodies(conn)
    assert check_grain(conn, "raw.comtrade_records").passed
    # rows of a checked body duplicated in place (as a changed loader could produce): caught only by a full check
    conn.execute("INSERT INTO raw.comtrade_records SELECT * FROM raw.comtrade_records LIMIT 3")
    assert check_grain(conn, "raw.comtrade_records").passed  # same loader, same bodies: not re-read
    if change == "loader":
        conn.execute("UPDATE meta.comtrade_load SET fingerprint = 'loader-2'")
    else:
        conn.execute(f"UPDATE {CHECKED_TABLE} SET loader = replace(loader, version(), '0.0.1')")
    g = check_grain(conn, "raw.comtrade_records")
    assert not g.passed and g.failed_rows == 3
