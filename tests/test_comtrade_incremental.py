"""raw.comtrade_records is loaded incrementally by batch (request_id, sha256): only new bodies are read,
rows of bodies no longer loadable are deleted, and a changed model rebuilds the table whole."""

import json

import duckdb
import pytest

from tradeflow.archive import RawArchive
from tradeflow.sources.comtrade_schema import RECORD_FIELDS
from tradeflow.warehouse import comtrade_load
from tradeflow.warehouse.comtrade_load import load_raw


def _body(reporter: int, period: str, n: int, value: float) -> bytes:
    recs = [dict({f: None for f in RECORD_FIELDS}, reporterCode=reporter, period=period, freqCode="A",
                 refYear=int(period), cmdCode=f"{100000 + i}", primaryValue=value + i, aggrLevel=6, partnerCode=156,
                 partner2Code=0, customsCode="C00", motCode=0, flowCode="X", typeCode="C", refMonth=52,
                 classificationCode="H5", qtyUnitCode=-1, isNetWgtEstimated=False) for i in range(n)]
    return json.dumps({"count": n, "data": recs, "error": ""}).encode()


def _store(a: RawArchive, reporter: int, period: str, n: int, value: float, vintage: str):
    return a.store(dataset="comtrade.final", source="live", url="http://127.0.0.1/get", status=200,
                   params={"reporterCode": reporter, "period": period}, body=_body(reporter, period, n, value),
                   partition={"reporter": reporter, "freq": "A", "period": period}, release={"vintage": vintage})


def _rows(conn):
    return conn.execute("SELECT reporterCode, period, CAST(vintage AS VARCHAR), count(*), sum(primaryValue) "
                        "FROM raw.comtrade_records GROUP BY ALL ORDER BY ALL").fetchall()


@pytest.fixture
def conn():
    c = duckdb.connect()
    c.execute("CREATE SCHEMA raw")
    yield c
    c.close()


def test_only_new_bodies_are_read_and_removed_ones_deleted(tmp_path, conn, monkeypatch):
    read, hashed = [], []
    real_group, real_verify = comtrade_load._load_group, RawArchive.verify_objects
    monkeypatch.setattr(comtrade_load, "_load_group",
                        lambda c, a, group, *rest: (read.extend(e.sha256 for e in group), real_group(c, a, group, *rest)))
    monkeypatch.setattr(RawArchive, "verify_objects",
                        lambda self, es: (hashed.extend(e.sha256 for e in es), real_verify(self, es))[1])
    a = RawArchive(tmp_path / "raw")
    e1 = _store(a, 586, "2021", 3, 10.0, "2022-01-01")
    e2 = _store(a, 586, "2022", 2, 20.0, "2023-01-01")
    assert load_raw(conn, a, a.loadable("comtrade.final")) == 5
    assert sorted(read) == sorted(hashed) == sorted([e1.sha256, e2.sha256])

    read.clear(), hashed.clear()
    e3 = _store(a, 586, "2022", 4, 30.0, "2023-06-01")  # a revision of 2022
    assert load_raw(conn, a, a.loadable("comtrade.final")) == 9
    assert read == hashed == [e3.sha256]  # only the new body is re-hashed and read
    assert _rows(conn) == [(586, "2021", "2022-01-01", 3, 33.0), (586, "2022", "2023-01-01", 2, 41.0),
                           (586, "2022", "2023-06-01", 4, 126.0)]

    # the 2022 revision is marked failed: exactly its rows go, nothing else is touched
    a.mark_failed(e3, "found broken later")
    assert load_raw(conn, a, a.loadable("comtrade.final")) == 5
    assert _rows(conn) == [(586, "2021", "2022-01-01", 3, 33.0), (586, "2022", "2023-01-01", 2, 41.0)]
    assert e2  # still loaded


def test_a_changed_model_rebuilds_from_every_body(tmp_path, conn, monkeypatch):
    a = RawArchive(tmp_path / "raw")
    e1 = _store(a, 586, "2021", 3, 10.0, "2022-01-01")
    load_raw(conn, a, [e1])
    conn.execute("DELETE FROM raw.comtrade_records WHERE cmdCode = '100000'")  # a tampered table
    assert load_raw(conn, a, [e1]) == 2  # same model: nothing re-read
    monkeypatch.setattr(comtrade_load, "_fingerprint", lambda: "another model")
    assert load_raw(conn, a, [e1]) == 3  # rebuilt whole
    assert load_raw(conn, a, [e1], full=True) == 3


def test_a_failed_load_leaves_the_previous_table_whole(tmp_path, conn):
    from tradeflow.errors import WarehouseError
    from tradeflow.warehouse.db import transaction

    a = RawArchive(tmp_path / "raw")
    e1 = _store(a, 586, "2021", 3, 10.0, "2022-01-01")
    load_raw(conn, a, [e1])
    bad = a.store(dataset="comtrade.final", source="live", url="http://127.0.0.1/get", status=200,
                  params={"reporterCode": 586, "period": "2023"}, body=b'{"count": 1, "data": [{"refYear": "x"}',
                  release={"vintage": "2024-01-01"})
    with pytest.raises(WarehouseError):
        with transaction(conn):
            load_raw(conn, a, [bad])  # e1 would be deleted, bad cannot be read
    assert _rows(conn) == [(586, "2021", "2022-01-01", 3, 33.0)]


def test_first_load_inside_a_transaction(tmp_path, conn):
    """A fresh warehouse: the first load runs inside the caller's transaction (as build_raw runs it)."""
    from tradeflow.warehouse.db import transaction

    a = RawArchive(tmp_path / "raw")
    e1 = _store(a, 586, "2021", 3, 10.0, "2022-01-01")
    with transaction(conn):
        assert load_raw(conn, a, [e1]) == 3
    with transaction(conn):
        assert load_raw(conn, a, [e1]) == 3


def test_a_loaded_body_changed_on_disk_is_re_hashed_and_stops_the_load(tmp_path, conn):
    import gzip

    from tradeflow.archive import ArchiveError

    a = RawArchive(tmp_path / "raw")
    e1 = _store(a, 586, "2021", 3, 10.0, "2022-01-01")
    load_raw(conn, a, [e1])
    assert load_raw(conn, a, [e1]) == 3  # unchanged: nothing re-hashed, nothing read
    a.object_path(e1.sha256).write_bytes(gzip.compress(_body(586, "2021", 3, 99.0), mtime=0))  # tampered
    with pytest.raises(ArchiveError, match=e1.sha256):
        load_raw(conn, a, [e1])
    a.object_path(e1.sha256).unlink()
    with pytest.raises(ArchiveError, match="missing"):
        load_raw(conn, a, [e1])


def test_the_same_body_under_new_metadata_is_reloaded_with_it(tmp_path, conn):
    """The same bytes may come back for another release or batch: rows carry the entry's vintage, not the first one's."""
    from dataclasses import replace

    a = RawArchive(tmp_path / "raw")
    e1 = _store(a, 586, "2021", 3, 10.0, "2022-01-01")
    load_raw(conn, a, [e1])
    again = replace(e1, fetched_at="2023-02-01T00:00:00Z", release={"vintage": "2023-02-01"})
    assert load_raw(conn, a, [again]) == 3
    assert _rows(conn) == [(586, "2021", "2023-02-01", 3, 33.0)]
    assert load_raw(conn, a, [e1, again]) == 6  # both entries: each its rows, as a full build gives
    fresh = duckdb.connect()
    fresh.execute("CREATE SCHEMA raw")
    load_raw(fresh, a, [e1, again])
    assert _rows(conn) == _rows(fresh)
