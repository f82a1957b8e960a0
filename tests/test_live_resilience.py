"""Live Comtrade data tell the truth under real-world faults (issue 10): identical retry bodies, revisions,
record caps, empty periods, fault storms, dead servers, drip-fed bodies, refused keys, keys echoed back.

Everything runs against the local fake on 127.0.0.1 (tests/fakes/comtrade_server.py)."""

import gzip
import threading
import time

import pytest

from tests.fakes.comtrade_server import Fault, FakeComtrade, Storm, _identity, sample_records
from tests.test_comtrade_live import KEY, client_for, client_settings, loaded, query
from tradeflow.archive import RawArchive
from tradeflow.errors import SourceError
from tradeflow.ingest import ingest_comtrade
from tradeflow.progress import FetchProgress, installed
from tradeflow.settings import Settings
from tradeflow.sources.comtrade_refresh import refresh_live, stored_releases
from tradeflow.sources.http import AuthError, CircuitBreaker

MONTHS_2021 = {f"2021{m:02d}" for m in range(1, 13)}
IDS = "reporterCode, partnerCode, flowCode, freqCode, period, cmdCode, motCode"


@pytest.fixture(scope="module")
def records():
    return sample_records({"2021", "2022", "202101", "202102", "202103"})


def newest_ids(archive) -> list[tuple]:
    """What staging keeps: the newest vintage per (reporter, freq, period, query family), reporter queries only."""
    conn = loaded(archive)
    return conn.execute(f"""
        SELECT {IDS} FROM raw.comtrade_records
        WHERE query_scope = 'reporter'
        QUALIFY vintage = max(vintage) OVER (PARTITION BY reporterCode, freqCode, period, query_scope)
    """).fetchall()


def pair_ids(records, periods) -> set[tuple]:
    return {_identity(r) for r in records if r["reporterCode"] in (586, 156) and r["period"] in periods
            and r["aggrLevel"] == 6}  # AG6 queries: six-digit lines, never TOTAL


# -- byte-identical bodies --------------------------------------------------------------------------------------


def test_identical_retry_bodies_after_a_failed_batch_are_not_lost(records, tmp_path):
    """Night 1: Pakistan 2021 splits in pieces and its third piece stays broken, so the batch fails after two
    good pieces were archived. Night 2 gets byte-identical bodies for those two: they count for night 2's batch."""
    faults = [Fault("truncate", path="/data/v1/get/", period="2021", after=2, times=6)]
    with FakeComtrade(records, key=KEY, faults=faults) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY, cap=40)
        settings = client_settings(fake, tmp_path)
        first = refresh_live(settings, archive, ["2021"], client=client)
        assert [f.split(":")[0] for f in first.failed] == ["reporter 586 period 2021 (annual)"]
        second = refresh_live(settings, archive, ["2021"], client=client)
        assert second.failed == [] and "586/A/2021" in second.partitions
        third = refresh_live(settings, archive, ["2021"], client=client)  # unchanged: nothing fetched
        assert third.partitions == [] and third.skipped_unchanged == 3
    got = newest_ids(archive)
    assert len(got) == len(set(got))  # each record of the final batch exactly once
    assert set(got) == pair_ids(records, {"2021"})


def test_identical_bodies_across_a_revision_lose_no_record(records, tmp_path):
    """A revision changes one record; every other piece of the period comes back byte-identical and must
    still belong to the new vintage (staging keeps the newest vintage only)."""
    with FakeComtrade(list(records), key=KEY) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY, cap=40)
        settings = client_settings(fake, tmp_path)
        refresh_live(settings, archive, ["2021"], client=client)
        revised = next(r for r in records if r["reporterCode"] == 586 and r["period"] == "2021" and r["partnerCode"] == 156)
        fake.set_records([{**r, "primaryValue": r["primaryValue"] + 1000} if r is revised else r for r in records])
        fake.release[(586, "2021")] = "2025-03-01T08:00:00"
        again = refresh_live(settings, archive, ["2021"], client=client)
        assert "586/A/2021" in again.partitions
    got = newest_ids(archive)
    assert len(got) == len(set(got)) and set(got) == pair_ids(records, {"2021"})
    conn = loaded(archive)
    [(value, vintage)] = conn.execute(
        "SELECT primaryValue, vintage::VARCHAR FROM raw.comtrade_records WHERE reporterCode=586 AND period='2021' "
        "AND partnerCode=156 AND flowCode=$f AND cmdCode=$c AND query_scope='reporter' ORDER BY vintage DESC LIMIT 1",
        {"f": revised["flowCode"], "c": revised["cmdCode"]}).fetchall()
    assert (value, vintage) == (revised["primaryValue"] + 1000, "2025-03-01")


def test_a_batch_whose_body_went_missing_is_fetched_again(records, tmp_path):
    """'Unchanged' never skips a period whose data cannot actually be loaded."""
    with FakeComtrade(records, key=KEY) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY)
        settings = client_settings(fake, tmp_path)
        refresh_live(settings, archive, ["2021"], client=client)
        lost = next(e for e in archive.loadable("comtrade.final") if e.partition.get("reporter") == 586)
        archive.object_path(lost.sha256).unlink()
        assert (586, "A", "2021") not in stored_releases(archive)
        again = refresh_live(settings, archive, ["2021"], client=client)
    assert again.partitions == ["586/A/2021"]
    assert set(newest_ids(archive)) == pair_ids(records, {"2021"})


# -- record cap ---------------------------------------------------------------------------------------------------


def test_capped_bodies_are_marked_and_never_loaded(records, tmp_path):
    with FakeComtrade(records, key=KEY) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY, cap=40)
        refresh_live(client_settings(fake, tmp_path), archive, ["2021"], client=client)
    capped = [e for e in archive.entries() if e.capped]
    assert capped and all("40-record cap" in e.error for e in capped)
    conn = loaded(archive)
    assert conn.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM raw.comtrade_records GROUP BY request_id)"
                        ).fetchall()[0][0] < 40
    got = conn.execute(f"SELECT {IDS}, query_scope FROM raw.comtrade_records").fetchall()
    assert len(got) == len(set(got))  # no record twice (a capped body and its pieces)
    assert {g[:7] for g in got if g[7] == "reporter"} == pair_ids(records, {"2021"})


# -- empty data for a period that availability lists ------------------------------------------------------------


def test_empty_data_for_a_listed_period_fails_that_period_and_the_next_run_fetches_it(records, tmp_path):
    with FakeComtrade(records, key=KEY, faults=[Fault("empty", path="/data/v1/get/", period="2022")]) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY)
        settings = client_settings(fake, tmp_path)
        first = refresh_live(settings, archive, ["2021", "2022"], client=client)
        [failed] = first.failed
        assert failed.startswith("reporter 586 period 2022 (annual)") and "returned none" in failed
        assert (586, "A", "2022") not in stored_releases(archive)
        second = refresh_live(settings, archive, ["2021", "2022"], client=client)
    assert second.failed == [] and second.partitions == ["586/A/2022"]
    assert set(newest_ids(archive)) == pair_ids(records, {"2021", "2022"})


@pytest.mark.parametrize("cmd", ["AG6", "TOTAL"])
def test_an_empty_world_answer_for_a_listed_year_fails_and_the_next_run_fetches_it(records, tmp_path, cmd):
    """Availability lists reporters' 2021, but the all-reporters query answers 200 with no records. Main stored that
    as 2021's world: RCA read 'unavailable' (or a world of the pair alone) and, the signature unchanged, the year was
    never asked again. Now the year fails, nothing of it is stored, and the next run fetches it whole."""
    fault = Fault("empty", path="/data/v1/get/", period="2021", cmd=cmd, world=True)
    with FakeComtrade(records, key=KEY, faults=[fault]) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY)
        settings = client_settings(fake, tmp_path)
        first = refresh_live(settings, archive, ["2021"], client=client)
        [failed] = first.failed
        assert failed.startswith("world exports (all reporters) 2021") and f"world query ({cmd})" in failed
        assert ("all", "A", "2021") not in stored_releases(archive)
        second = refresh_live(settings, archive, ["2021"], client=client)
    assert second.failed == [] and second.partitions == ["all/A/2021"] and ("all", "A", "2021") in stored_releases(archive)
    world = loaded(archive).execute("SELECT count(*) FILTER (WHERE cmdCode = 'TOTAL'), count(*) FILTER (WHERE cmdCode <> "
                                    "'TOTAL') FROM raw.comtrade_records WHERE query_scope = 'all_reporters'").fetchone()
    assert world[0] > 0 and world[1] > 0


def test_keyless_an_empty_answer_never_replaces_a_stored_period(records, tmp_path):
    """Keyless (no availability to say a period is listed): run 1 stores Pakistan 2021; a second run the same day
    gets a transient 200 with no records for it. Its batch has the same vintage (today) and the same partition, so it
    would replace the stored one: Pakistan 2021 published empty with exit 0. It fails instead, named, and the stored
    copy stays. A period never stored with data (2023: nothing published) still commits empty, run after run."""
    settings = Settings.from_env({"TRADEFLOW_HOME": str(tmp_path)})
    with FakeComtrade(records) as fake:
        client, archive = client_for(fake, tmp_path)
        first = refresh_live(settings, archive, ["2021", "2023"], client=client)
        assert first.failed == [] and "586/A/2021" in first.partitions and "586/A/2023" in first.partitions
        fake.faults.append(Fault("empty", path="/preview/", period="2021"))  # the first 2021 query: Pakistan's
        second = refresh_live(settings, archive, ["2021", "2023"], client=client)
    [failed] = second.failed
    assert failed.startswith("reporter 586 period 2021 (annual): ") and "no records" in failed and "kept" in failed
    assert "586/A/2023" in second.partitions and "156/A/2021" in second.partitions
    assert set(newest_ids(archive)) == pair_ids(records, {"2021"})  # Pakistan's stored 2021 still loads


# -- faults: storms, dead servers, deadlines, refusals, echoed keys ----------------------------------------------


def test_a_32_percent_first_attempt_fault_storm_ends_in_exact_data_in_one_run(tmp_path, monkeypatch):
    """Keyless 2021–2022: 20 % of distinct queries get 429 + Retry-After, 12 % a 500, 6 % a truncated 200 on
    their first attempt. The old fixed budget of 60 retries failed every period; now the run is exact."""
    store = sample_records({"2021", "2022"} | {f"{y}{m:02d}" for y in (2021, 2022) for m in range(1, 13)})
    monkeypatch.setenv("TRADEFLOW_HTTP_BACKOFF", "0.01")
    storm = Storm(rate_429=0.20, rate_500=0.12, rate_truncate=0.06, retry_after="0")
    keys = ["2021", "2022"] + [f"{y}-{m:02d}" for y in (2021, 2022) for m in range(1, 13)]
    with FakeComtrade(store, storm=storm) as fake:
        settings = Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "TRADEFLOW_COMTRADE_URL": fake.url,
                                      "TRADEFLOW_COMTRADE_RATE": "1000"})
        archive = RawArchive(settings.raw_dir)
        result = refresh_live(settings, archive, keys)
        distinct = len(fake.attempts)
        hits = sum(fake.storm_hits.values())
    assert distinct > 100 and hits / distinct > 0.3, (distinct, fake.storm_hits)
    assert fake.storm_hits["429"] and fake.storm_hits["500"] and fake.storm_hits["truncate"]
    assert result.failed == [], result.failed[:3]
    periods = {r["period"] for r in store}
    got = newest_ids(archive)
    assert len(got) == len(set(got)) and set(got) == pair_ids(store, periods)


def test_a_server_that_always_fails_stops_the_run_quickly_with_one_line(records, tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEFLOW_COMTRADE_RATE", "1000")
    monkeypatch.setenv("TRADEFLOW_HTTP_BACKOFF", "0.01")
    with FakeComtrade(records, always=500) as fake:
        monkeypatch.setenv("TRADEFLOW_HOME", str(tmp_path))
        monkeypatch.setenv("TRADEFLOW_COMTRADE_URL", fake.url)
        started = time.monotonic()
        with pytest.raises(SourceError) as err:
            ingest_comtrade(Settings.from_env(), "live", ["2021", "2021-01", "2021-02", "2022"])
        elapsed = time.monotonic() - started
        requests = len(fake.log)
    msg = str(err.value)
    assert "\n" not in msg and "giving up on 127.0.0.1" in msg and "HTTP 500" in msg, msg
    assert "not attempted" not in msg.split("first error:")[-1]
    assert requests <= CircuitBreaker().consecutive and elapsed < 20, (requests, elapsed)


def test_a_drip_fed_body_is_cut_off_at_the_overall_deadline(records, tmp_path):
    """One byte every 5 s never trips a per-read timeout; the overall deadline cuts it off and the retry works."""
    with FakeComtrade(records, faults=[Fault("drip", path="/preview/", seconds=5.0)]) as fake:
        client, archive = client_for(fake, tmp_path, timeout=(2.0, 10.0), deadline=1.0)
        out = {}
        t = threading.Thread(target=lambda: out.update(entries=client.fetch(query(586, "A", "2022"), {"vintage": "v"})),
                             daemon=True)
        started = time.monotonic()
        t.start()
        t.join(timeout=20)
        elapsed = time.monotonic() - started
    assert not t.is_alive(), "the request hung on a drip-fed body"
    assert elapsed < 4 and len(out["entries"]) == 1
    assert client.http.retries == 1


def test_a_refused_key_fails_fast_once_with_the_apis_message(records, tmp_path):
    faults = [Fault("status", status=403, path="/data/v1/get/", times=99)]
    with FakeComtrade(records, key=KEY, faults=faults) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY)
        result = refresh_live(client_settings(fake, tmp_path), archive, ["2021", "2021-01", "2022"], client=client)
        data_requests = fake.data_calls()
    assert data_requests == 1  # not once per period
    assert "HTTP 403" in result.failed[0] and "Access denied due to invalid subscription key" in result.failed[0]
    assert all("not attempted" in f for f in result.failed[1:]) and len(result.failed) > 1
    assert "Access denied" in result.failure_summary() and "\n" not in result.failure_summary()


def test_a_refused_availability_call_lists_every_period_it_covered_as_not_fetched(records, tmp_path):
    """The availability call is the first request of a keyed run; refused, nothing is fetched, and the result names
    each reporter-period (and each year's World exports) asked for, so checks and the CLI count what is missing."""
    with FakeComtrade(records, key=KEY, faults=[Fault("status", status=401, path="/getDa/", times=999)]) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY)
        result = refresh_live(client_settings(fake, tmp_path), archive, ["2021", "2021-01"], client=client)
        assert fake.data_calls() == 0
    assert result.stopped and "HTTP 401" in result.stopped
    assert sorted(result.failed_names()) == sorted([
        "reporter 586 period 2021 (annual)", "reporter 156 period 2021 (annual)", "world exports (all reporters) 2021",
        "reporter 586 period 202101 (monthly)", "reporter 156 period 202101 (monthly)"])
    assert all("not fetched (availability: " in f and "HTTP 401" in f for f in result.failed), result.failed[0]


def test_a_wrong_key_stops_at_the_first_call(records, tmp_path):
    with FakeComtrade(records, key=KEY) as fake:
        client, archive = client_for(fake, tmp_path, key="WRONG-KEY-99")
        result = refresh_live(client_settings(fake, tmp_path), archive, ["2021", "2022"], client=client)
        assert len(fake.log) == 1
    assert result.stopped and "HTTP 401" in result.stopped and "invalid subscription key" in result.stopped
    assert "check COMTRADE_API_KEY" in result.stopped
    with pytest.raises(AuthError):
        client.http.get(f"{fake.url}/data/v1/get/C/A/HS", {})  # never sent again in this run
    assert len(fake.log) == 1


def test_a_refusal_from_a_host_that_needs_no_key_does_not_blame_the_comtrade_key(tmp_path):
    """WITS and UNSD take no key: their 403 (a proxy, a block on this network) must not send the operator off
    to check COMTRADE_API_KEY. Both clients use the shared HTTP layer's default hint."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Forbidden(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b"<html><body>403 Forbidden</body></html>"
            self.send_response(403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forbidden)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        from tradeflow.sources.http import HttpClient
        url = f"http://127.0.0.1:{server.server_port}/API/V1/SDMX/V21/datasource/TRN/reporter/156"
        with pytest.raises(AuthError) as refused:
            HttpClient(rate_per_second=1000).get(url, {})
    finally:
        server.shutdown()
    assert "HTTP 403" in str(refused.value) and "COMTRADE_API_KEY" not in str(refused.value)
    assert "needs no key" in str(refused.value)


def test_a_key_echoed_by_the_server_is_stored_nowhere(records, tmp_path, caplog):
    faults = [Fault("echo_key", status=200, path="/data/v1/get/", period="2022"),
              Fault("echo_key", status=400, path="/data/v1/get/", period="2021"),
              Fault("echo_key", status=500, path="/data/v1/getDa/")]
    with FakeComtrade(records, key=KEY, faults=faults) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY)
        result = refresh_live(client_settings(fake, tmp_path), archive, ["2021", "2022"], client=client)
    assert len(result.failed) == 2 and all("***" in f for f in result.failed)
    assert any(e.error and "***" in e.error for e in archive.entries())  # the 200 was archived, scrubbed, marked failed
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert KEY.encode() not in data, path
            if path.suffix == ".gz":
                assert KEY.encode() not in gzip.decompress(data), path
    assert KEY not in caplog.text and KEY not in " ".join(result.failed)


# -- progress ------------------------------------------------------------------------------------------------------


def test_progress_counts_planned_and_done_calls_bodies_and_records(records, tmp_path):
    seen = []
    with installed(FetchProgress(listener=lambda p: seen.append((p.planned, p.done)))) as progress:
        with FakeComtrade(records, key=KEY) as fake:
            client, archive = client_for(fake, tmp_path, key=KEY, cap=40)
            result = refresh_live(client_settings(fake, tmp_path), archive, ["2021", "2021-01"], client=client)
    assert progress.calls == client.http.calls == len(fake.log)
    # every body archived (mark rows for capped bodies and batch rows are not bodies fetched)
    assert progress.bodies == sum(1 for e in archive.entries() if e.ok and not e.capped and e.dataset != "tradeflow.batch")
    assert progress.records == result.rows > 0
    assert progress.planned == progress.done > 4  # the splits were planned as they happened
    assert all(done <= planned for planned, done in seen)


def test_cli_shows_a_progress_bar_in_a_terminal_only(monkeypatch):
    import io

    from rich.console import Console

    from tradeflow import cli

    buf = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=buf, force_terminal=True, width=160))
    with cli._fetch_progress("live") as p:
        p.plan(4, label="UN Comtrade")
        p.call()
        p.body()
        p.answered(120)
    out = buf.getvalue()
    assert "Fetching UN Comtrade" in out and "1/4" in out and "calls 1" in out and "records 120" in out


def test_a_server_that_only_ever_says_later_is_given_up_too(records, tmp_path):
    faults = [Fault("status", status=429, retry_after="0", times=10_000)]
    with FakeComtrade(records, faults=faults) as fake:
        client, archive = client_for(fake, tmp_path)
        result = refresh_live(Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "TRADEFLOW_COMTRADE_URL": fake.url}),
                              archive, ["2021", "2022"], client=client)
        requests = len(fake.log)
    assert result.stopped and "rate-limit answers in a row" in result.stopped
    assert requests == 3 * CircuitBreaker().consecutive
