"""staging.comtrade_flows on hand-made raw records: which row of a key stored more than once is kept."""

import duckdb
from dbt_models import build
from test_live_review import _raw


def _flows(rows, fetched=None):
    conn = duckdb.connect()
    _raw(conn, rows)
    for request_id, at in (fetched or {}).items():  # a later fetch of the same vintage
        conn.execute("UPDATE raw.comtrade_records SET fetched_at = ?::TIMESTAMP WHERE request_id = ?", [at, request_id])
    build(conn, "staging.comtrade_flows")
    return conn.execute("SELECT hs6, value_usd, request_id FROM staging.comtrade_flows ORDER BY ALL").fetchall()


def test_a_key_twice_in_one_body_keeps_its_larger_value_whatever_the_storage_order():
    twice = [("b", "2024-05-01", "reporter", 586, "2021", "010101", 5.0),
             ("b", "2024-05-01", "reporter", 586, "2021", "010101", 9.0)]
    once = [("b", "2024-05-01", "reporter", 586, "2021", "020202", 3.0)]
    for body in (twice + once, once + twice[::-1]):
        assert _flows(body) == [("010101", 9.0, "b"), ("020202", 3.0, "b")]


def test_a_vintage_fetched_twice_keeps_the_newest_fetch_and_older_vintages_none():
    rows = [("old", "2023-05-01", "reporter", 586, "2021", "010101", 1.0),
            ("first", "2024-05-01", "reporter", 586, "2021", "010101", 5.0),
            ("first", "2024-05-01", "reporter", 586, "2021", "020202", 7.0),
            ("again", "2024-05-01", "reporter", 586, "2021", "010101", 6.0),
            ("again", "2024-05-01", "reporter", 586, "2021", "020202", 7.0)]
    for order in (rows, rows[::-1]):
        assert _flows(order, {"again": "2024-05-02 03:00:00"}) == [("010101", 6.0, "again"), ("020202", 7.0, "again")]


def test_one_body_archived_under_two_entries_keeps_the_same_entry_whatever_the_storage_order():
    """The same bytes fetched twice at the same second and archived as two entries: every ordered column ties, so
    the entry (request_id) the table names would depend on storage order without the tie-break on it."""
    rows = [("entry-b", "2024-05-01", "reporter", 586, "2021", "010101", 5.0),
            ("entry-a", "2024-05-01", "reporter", 586, "2021", "010101", 5.0)]
    for order in (rows, rows[::-1]):
        conn = duckdb.connect()
        _raw(conn, order)
        conn.execute("UPDATE raw.comtrade_records SET sha256 = 'same-body'")
        build(conn, "staging.comtrade_flows")
        assert conn.execute("SELECT request_id FROM staging.comtrade_flows").fetchall() == [("entry-a",)]
