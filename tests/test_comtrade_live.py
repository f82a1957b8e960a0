"""The live UN Comtrade client against a local fake server (127.0.0.1 only)."""

import logging
import time

import duckdb
import pytest

from tests.fakes.comtrade_server import Fault, FakeComtrade, _identity, sample_records
from tradeflow.archive import RawArchive
from tradeflow.errors import ParseError, SourceError
from tradeflow.settings import Settings
from tradeflow.sources.comtrade import ComtradeClient
from tradeflow.sources.comtrade_query import bilateral_queries
from tradeflow.sources.comtrade_refresh import refresh_live
from tradeflow.sources.http import CircuitBreaker, HttpClient
from tradeflow.warehouse.comtrade_load import load_raw

PERIODS = {"2021", "2022", "202101", "202102"}
KEY = "SECRET-KEY-0123456789"


@pytest.fixture(scope="module")
def records():
    return sample_records(PERIODS)


def client_for(fake, tmp_path, key=None, cap=None, sleeps=None, timeout=(2.0, 5.0), breaker=None, deadline=None):
    settings = Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "TRADEFLOW_COMTRADE_URL": fake.url,
                                  **({"COMTRADE_API_KEY": key} if key else {})})
    archive = RawArchive(settings.raw_dir)
    sleeps = sleeps if sleeps is not None else []
    http = HttpClient(headers={"Ocp-Apim-Subscription-Key": key} if key else {}, secrets=settings.secrets(),
                      rate_per_second=1000, timeout=timeout, backoff_initial=0.01, backoff_max=0.05,
                      sleep=sleeps.append, clock=lambda: time.monotonic() + sum(sleeps),  # virtual time
                      breaker=breaker, deadline=deadline)
    return ComtradeClient(settings, archive, http=http, cap=cap), archive


def query(reporter, freq, period):
    return next(q for q in bilateral_queries(freq, period) if q.reporter == reporter)


def loaded(archive) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw")
    load_raw(conn, archive, archive.loadable("comtrade.final"))
    return conn


def expected_ids(records, reporter, freq, period, modes=(0,)):
    return {_identity(r) for r in records if r["reporterCode"] == reporter and r["freqCode"] == freq
            and r["period"] == period and r["motCode"] in modes and r["aggrLevel"] == 6}  # AG6: no TOTAL


def test_cap_reached_splits_until_every_piece_is_complete(records, tmp_path):
    with FakeComtrade(records) as fake:
        client, archive = client_for(fake, tmp_path, cap=40)
        [query] = [q for q in bilateral_queries("A", "2021") if q.reporter == 156]  # China, partners World + Pakistan
        entries = client.fetch(query, {"vintage": "2024-06-30"})
        assert len(entries) > 5  # split by chapter, then finer
        assert any("files/v1/app/reference/H5.json" in r["path"] for r in fake.log)  # codes for the split
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw")
    load_raw(conn, archive, entries)
    got = conn.execute("SELECT reporterCode, partnerCode, flowCode, freqCode, period, cmdCode, motCode FROM raw.comtrade_records").fetchall()
    # every record the server holds for the query arrives exactly once; capped pieces were split, not kept
    assert len(got) == len(set(got))
    assert set(got) == expected_ids(records, 156, "A", "2021")
    per_piece = conn.execute("SELECT request_id, count(*) FROM raw.comtrade_records GROUP BY 1").fetchall()
    assert all(n < 40 for _, n in per_piece)


def test_429_with_retry_after_is_honoured(records, tmp_path):
    sleeps = []
    with FakeComtrade(records, faults=[Fault("status", status=429, retry_after="3", times=2)]) as fake:
        client, _ = client_for(fake, tmp_path, sleeps=sleeps)
        [entry] = client.fetch(query(586, "A", "2022"), {"vintage": "2024-06-30"})
        assert entry.status == 200
    assert sleeps == [3.0, 3.0]
    assert client.http.retries == 2


def test_a_long_retry_after_is_capped_for_the_host_pace_too(records, tmp_path, monkeypatch):
    """Retry-After: 3600 with TRADEFLOW_HTTP_RETRY_AFTER_MAX=1: the request waits 1 s, and so does the host's pace
    (before: the direct sleep was capped, then the pace held the host for the full hour before the retry)."""
    monkeypatch.setenv("TRADEFLOW_HTTP_RETRY_AFTER_MAX", "1")
    sleeps = []
    with FakeComtrade(records, faults=[Fault("status", status=429, retry_after="3600")]) as fake:
        client, _ = client_for(fake, tmp_path, sleeps=sleeps)
        [entry] = client.fetch(query(586, "A", "2022"), {"vintage": "2024-06-30"})
        assert entry.status == 200
    assert max(sleeps) == 1.0 and sum(sleeps) <= 1.0 + 0.01  # virtual time: nothing near an hour


def test_500_then_success_backs_off(records, tmp_path):
    sleeps = []
    with FakeComtrade(records, faults=[Fault("status", status=503)]) as fake:
        client, _ = client_for(fake, tmp_path, sleeps=sleeps)
        client.fetch(query(586, "A", "2022"), {"vintage": "2024-06-30"})
        assert len([r for r in fake.log if "/preview/" in r["path"]]) == 2
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 0.06


def test_timeout_then_success(records, tmp_path):
    with FakeComtrade(records, faults=[Fault("slow", seconds=1.5)]) as fake:
        client, _ = client_for(fake, tmp_path, timeout=(1.0, 0.5))
        [entry] = client.fetch(query(586, "A", "2022"), {"vintage": "2024-06-30"})
        assert entry.status == 200 and client.http.retries == 1


def test_retries_end_with_an_error_naming_the_request_not_the_key(records, tmp_path):
    with FakeComtrade(records, key=KEY, faults=[Fault("status", status=502, times=99)]) as fake:
        client, _ = client_for(fake, tmp_path, key=KEY)
        with pytest.raises(SourceError) as err:
            client.fetch(query(586, "A", "2022"), {"vintage": "2024-06-30"})
    msg = str(err.value)
    assert "data/v1/get/C/A/HS" in msg and "period=2022" in msg and "HTTP 502" in msg and "6 attempt" in msg
    assert KEY not in msg


def test_truncated_json_is_marked_failed_and_fetched_again(records, tmp_path):
    with FakeComtrade(records, faults=[Fault("truncate", path="/preview/")]) as fake:
        client, archive = client_for(fake, tmp_path)
        [entry] = client.fetch(query(586, "A", "2022"), {"vintage": "2024-06-30"})
    # archived before parsing, marked failed, then the second answer was good
    assert [e.ok for e in archive.entries()] == [True, False, True]
    assert [e.sha256 for e in archive.loadable("comtrade.final")] == [entry.sha256]


def test_a_body_truncated_every_time_fails_and_is_never_loaded(records, tmp_path):
    with FakeComtrade(records, faults=[Fault("truncate", path="/preview/", times=99)]) as fake:
        client, archive = client_for(fake, tmp_path)
        with pytest.raises(SourceError, match="unusable response"):
            client.fetch(query(586, "A", "2022"), {"vintage": "2024-06-30"})
    assert archive.loadable("comtrade.final") == []
    assert [e.ok for e in archive.entries()] == [True, False] * 6


def test_api_error_field_is_a_clear_error(records, tmp_path):
    with FakeComtrade(records, faults=[Fault("api_error", path="/preview/")]) as fake:
        client, _ = client_for(fake, tmp_path)
        with pytest.raises(ParseError, match="fake API error"):
            client.fetch(query(586, "A", "2022"), {"vintage": "2024-06-30"})


def test_empty_result_and_extra_fields(records, tmp_path):
    with FakeComtrade(records, faults=[Fault("extra_field", path="/preview/")]) as fake:
        client, archive = client_for(fake, tmp_path)
        client.fetch(query(586, "A", "2022"), {"vintage": "2024-06-30"})  # extra field
        [empty] = client.fetch(query(586, "A", "2030"), {"vintage": "2024-06-30"})  # nothing published
    conn = loaded(archive)
    assert conn.execute("SELECT count(*) FROM raw.comtrade_records").fetchall()[0][0] == len(expected_ids(records, 586, "A", "2022"))
    assert empty.bytes > 0


def test_missing_required_field_fails_that_period_only(records, tmp_path):
    with FakeComtrade(records, key=KEY, faults=[Fault("drop_field", path="/data/v1/get/", period="2021")]) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY)
        result = refresh_live(client_settings(fake, tmp_path), archive, ["2021", "2022"], client=client)
    [failed] = result.failed
    assert failed.startswith("reporter 586 period 2021 (annual): ") and "primaryValue" in failed and "period=2021" in failed
    # 2022 (both reporters) and China's 2021 are complete and loadable; Pakistan's 2021 is not
    done = {(b.partition["reporter"], b.partition["period"]) for b in archive.completed_batches().values()}
    assert done == {(156, "2021"), (156, "2022"), (586, "2022"), ("all", "2021"), ("all", "2022")}


def client_settings(fake, tmp_path):
    return Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "TRADEFLOW_COMTRADE_URL": fake.url, "COMTRADE_API_KEY": KEY})


def test_unchanged_availability_makes_no_data_calls_and_a_revision_is_a_new_vintage(records, tmp_path):
    with FakeComtrade(records, key=KEY) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY)
        first = refresh_live(client_settings(fake, tmp_path), archive, ["2021", "2021-01", "2021-02"], client=client)
        # 2 annual, 4 monthly, 2 monthly-by-mode (China publishes no modes), 2 all-reporter World bodies (HS6, TOTAL)
        assert first.new_bodies == 2 + 2 * 2 + 2 + 2
        data_calls = fake.data_calls()
        again = refresh_live(client_settings(fake, tmp_path), archive, ["2021", "2021-01", "2021-02"], client=client)
        assert fake.data_calls() == data_calls and again.new_bodies == 0 and again.skipped_unchanged == 6 + 1  # + world 2021
        fake.release[(586, "2021")] = "2025-03-01T08:00:00"  # Pakistan revises 2021
        third = refresh_live(client_settings(fake, tmp_path), archive, ["2021", "2021-01", "2021-02"], client=client)
        # ... and every reporter's World exports for 2021 are fetched again (availability changed): HS6 + TOTAL
        assert third.partitions == ["586/A/2021", "all/A/2021"] and fake.data_calls() == data_calls + 1 + 2
    conn = loaded(archive)
    vintages = conn.execute("SELECT DISTINCT vintage::VARCHAR FROM raw.comtrade_records WHERE reporterCode=586 AND period='2021' "
                            "AND query_scope = 'reporter' ORDER BY 1").fetchall()
    assert vintages == [("2024-06-30",), ("2025-03-01",)]  # the old vintage is kept and queryable


def test_keyed_requests_carry_the_key_in_a_header_only(records, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeComtrade(records, key=KEY, faults=[Fault("status", status=429, retry_after="0")]) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY)
        refresh_live(client_settings(fake, tmp_path), archive, ["2022"], client=client)
        assert all(KEY not in r["query"] for r in fake.log)
        assert any(r["headers"].get("Ocp-Apim-Subscription-Key") == KEY for r in fake.log)
        assert all("partner2code=0" in r["query"].lower() and "customscode=c00" in r["query"].lower()
                   for r in fake.log if "/get/" in r["path"])
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert KEY.encode() not in data, path
            if path.suffix == ".gz":
                import gzip
                assert KEY.encode() not in gzip.decompress(data), path
    assert KEY not in caplog.text


def test_configured_cap_above_the_endpoint_limit_is_clamped(records, tmp_path):
    """TRADEFLOW_COMTRADE_CAP=100000 without a key: the preview still stops at 500 records, so a
    500-record body must count as capped and be split, never taken as the whole answer."""
    template = next(r for r in records if r["reporterCode"] == 156 and r["partnerCode"] == 0 and r["period"] == "2021")
    many = [{**template, "cmdCode": f"{ch:02d}{i:04d}", "primaryValue": 1000.0 + i}
            for ch in range(1, 71) for i in range(1, 11)]  # 700 lines for one query, past the preview's 500
    settings = Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "TRADEFLOW_COMTRADE_CAP": "100000"})
    assert ComtradeClient(settings, RawArchive(settings.raw_dir)).cap == 500
    keyed = Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "TRADEFLOW_COMTRADE_CAP": "900000", "COMTRADE_API_KEY": KEY})
    assert ComtradeClient(keyed, RawArchive(keyed.raw_dir)).cap == 250_000
    with FakeComtrade(many) as fake:
        client, archive = client_for(fake, tmp_path, cap=100_000)
        assert client.cap == 500
        entries = client.fetch(query(156, "A", "2021"), {"vintage": "2024-06-30"})
    got = loaded(archive).execute("SELECT count(*), sum(primaryValue) FROM raw.comtrade_records").fetchone()
    assert len(entries) > 1
    assert got == (700, sum(r["primaryValue"] for r in many))
