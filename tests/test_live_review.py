"""Review of the live path (issue 10/11 follow-up): wrong numbers with exit 0 that the earlier tests missed.

Everything is local: small hand-made raw tables, or the fake Comtrade on 127.0.0.1."""

import duckdb

from dbt_models import build

RAW_COLUMNS = """request_id, sha256, vintage, fetched_at, is_sample, query_scope, reporterCode, reporterISO, partnerCode,
    partnerISO, partner2Code, customsCode, flowCode, freqCode, period, refYear, refMonth, classificationCode, cmdCode,
    aggrLevel, motCode, primaryValue, cifvalue, fobvalue, netWgt, isNetWgtEstimated, qty, qtyUnitCode, qtyUnitAbbr,
    isQtyEstimated"""


def _raw(conn, rows):
    """rows: (request_id, vintage, query_scope, reporter, period, cmd, value) — annual exports to the World."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS raw")
    conn.execute("CREATE SCHEMA IF NOT EXISTS staging")
    conn.execute(f"""CREATE TABLE raw.comtrade_records AS
        SELECT request_id, request_id AS sha256, CAST(vintage AS DATE) AS vintage,
               CAST(vintage AS TIMESTAMP) AS fetched_at, false AS is_sample, query_scope,
               reporter AS reporterCode, 'PAK' AS reporterISO, 0 AS partnerCode, 'W00' AS partnerISO,
               0 AS partner2Code, 'C00' AS customsCode, 'X' AS flowCode, 'A' AS freqCode, period,
               CAST(period AS INTEGER) AS refYear, 52 AS refMonth, 'H5' AS classificationCode, cmd AS cmdCode,
               CASE WHEN cmd = 'TOTAL' THEN 0 ELSE 6 END AS aggrLevel, 0 AS motCode, CAST(value AS DOUBLE) AS primaryValue, NULL::DOUBLE AS cifvalue,
               value AS fobvalue, 1.0 AS netWgt, false AS isNetWgtEstimated, 1.0 AS qty, 8 AS qtyUnitCode,
               'kg' AS qtyUnitAbbr, false AS isQtyEstimated
        FROM (VALUES {", ".join(str(r) for r in rows)})
             t(request_id, vintage, query_scope, reporter, period, cmd, value)""")


def test_a_revised_reporter_query_is_not_topped_up_by_an_older_world_query():
    """Pakistan's own 2021 query was revised (vintage 2024-05-01): line 020202 is gone. The all-reporters World
    query (fetched before the revision — keyless runs re-fetch it only monthly, and a failed World fetch does not
    hold back the revised period) still holds 020202. Staging must not add it back to Pakistan's exports."""
    conn = duckdb.connect()
    _raw(conn, [("own-old", "2023-05-01", "reporter", 586, "2021", "010101", 100.0),
                ("own-old", "2023-05-01", "reporter", 586, "2021", "020202", 50.0),
                ("own-new", "2024-05-01", "reporter", 586, "2021", "010101", 100.0),
                ("world", "2023-06-01", "all_reporters", 586, "2021", "010101", 100.0),
                ("world", "2023-06-01", "all_reporters", 586, "2021", "020202", 50.0),
                # a reporter with no own query keeps its World-query rows
                ("world", "2023-06-01", "all_reporters", 4, "2021", "010101", 7.0)])
    build(conn, "staging.comtrade_flows")
    got = conn.execute("SELECT reporter_code, hs6, value_usd, request_id FROM staging.comtrade_flows ORDER BY ALL").fetchall()
    assert got == [(4, "010101", 7.0, "world"), (586, "010101", 100.0, "own-new")]


def test_a_free_key_body_cut_at_100k_records_is_split_not_taken_as_complete(tmp_path, monkeypatch):
    """A free subscription key gets at most 100,000 records a call even when maxRecords asks for 250,000: a body
    of exactly 100,000 is cut short, not complete. (Scaled down: the free limit is 40 records here.)"""
    from tests.fakes.comtrade_server import FakeComtrade, sample_records
    from tests.test_comtrade_live import KEY, client_for, client_settings, loaded
    from tests.test_live_resilience import pair_ids
    from tradeflow.sources import comtrade
    from tradeflow.sources.comtrade_refresh import refresh_live

    records = sample_records({"2021"})
    monkeypatch.setattr(comtrade, "FREE_KEYED_CAP", 40, raising=False)
    monkeypatch.delenv("TRADEFLOW_COMTRADE_CAP", raising=False)
    with FakeComtrade(records, key=KEY, keyed_cap=40) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY)
        assert client.cap == comtrade.KEYED_CAP  # asks for 250,000
        result = refresh_live(client_settings(fake, tmp_path), archive, ["2021"], client=client)
    assert result.failed == []
    assert any(e.capped and "40-record cap" in e.error for e in archive.entries())
    got = loaded(archive).execute("SELECT reporterCode, partnerCode, flowCode, freqCode, period, cmdCode, motCode "
                                  "FROM raw.comtrade_records WHERE query_scope = 'reporter'").fetchall()
    assert len(got) == len(set(got)) and set(got) == pair_ids(records, {"2021"})


def test_a_split_world_query_keeps_reporters_that_report_in_an_older_hs_version(tmp_path):
    """The all-reporters World query mixes HS versions: in 2022 a reporter may still report in HS2017 (H5). When
    the query reaches the cap and is split into explicit code lists, a code that only H5 has must still be asked
    for; taken from the H6 list alone, that reporter's line silently vanished from marts.world_exports."""
    from tests.fakes.comtrade_server import FakeComtrade, sample_records
    from tests.test_comtrade_live import KEY, client_for, client_settings, loaded
    from tradeflow.sources.comtrade_refresh import refresh_live

    records = sample_records({"2022"})
    h6 = {r["cmdCode"] for r in records if r["classificationCode"] == "H6" and r["aggrLevel"] == 6}
    model = next(r for r in records if r["reporterCode"] == 586 and r["flowCode"] == "X" and r["partnerCode"] == 0
                 and r["motCode"] == 0 and r["aggrLevel"] == 6)
    assert "010110" not in h6  # an HS2012/HS2017 code (horses) that HS2022 no longer has
    older = {**model, "reporterCode": 4, "reporterISO": "AFG", "reporterDesc": "Afghanistan",
             "classificationCode": "H5", "cmdCode": "010110", "primaryValue": 1234.0}
    with FakeComtrade([*records, older], key=KEY) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY, cap=40)
        result = refresh_live(client_settings(fake, tmp_path), archive, ["2022"], client=client)
    assert result.failed == [] and "all/A/2022" in result.partitions
    assert any(e.capped for e in archive.entries() if e.partition.get("reporter") == "all")  # it was split
    got = loaded(archive).execute("SELECT cmdCode, primaryValue FROM raw.comtrade_records "
                                  "WHERE query_scope = 'all_reporters' AND reporterCode = 4").fetchall()
    assert got == [("010110", 1234.0)]


def test_aggregate_reporters_are_not_added_to_their_members():
    """UN Comtrade's Reporters list flags three reporters isGroup: the EU (97, from Eurostat: its members' extra-EU
    trade), ASEAN (975) and 490 "Other Asia, nes" (Taiwan's own trade). Summed with the members (world exports for
    RCA, all reporters' imports for trade intensity) the first two count them twice; the legacy API's 'all
    reporters' left them out for that reason (UNSD trade knowledge base, "How to query for 'all countries'?"). The
    all-reporters query may still return them: staging keeps them out, and keeps 490, which no member reports."""
    conn = duckdb.connect()
    _raw(conn, [("world", "2023-06-01", "all_reporters", 276, "2021", "010101", 80.0),
                ("world", "2023-06-01", "all_reporters", 97, "2021", "010101", 60.0),
                ("world", "2023-06-01", "all_reporters", 975, "2021", "010101", 50.0),
                ("world", "2023-06-01", "all_reporters", 490, "2021", "010101", 7.0),
                ("world", "2023-06-01", "all_reporters", 276, "2021", "TOTAL", 800.0),
                ("world", "2023-06-01", "all_reporters", 97, "2021", "TOTAL", 600.0),
                ("world", "2023-06-01", "all_reporters", 975, "2021", "TOTAL", 500.0),
                ("world", "2023-06-01", "all_reporters", 490, "2021", "TOTAL", 70.0)])
    build(conn, "staging.comtrade_flows")
    build(conn, "staging.comtrade_totals")
    assert conn.execute("SELECT reporter_code, value_usd FROM staging.comtrade_flows ORDER BY 1").fetchall() == [
        (276, 80.0), (490, 7.0)]
    assert conn.execute("SELECT reporter_code, value_usd FROM staging.comtrade_totals ORDER BY 1").fetchall() == [
        (276, 800.0), (490, 70.0)]


def test_the_aggregate_reporter_list_matches_the_reference_list(shared):
    """The typed list in sql/macros/aggregate_reporters.sql against the recorded Reporters.json (isGroup)."""
    import json
    import re
    from pathlib import Path

    ref = shared / "data" / "reference" / "comtrade_Reporters.json"
    groups = {r["id"] for r in json.loads(ref.read_text(encoding="utf-8"))["results"] if r.get("isGroup")}
    macro = (Path(__file__).resolve().parents[1] / "sql" / "macros" / "aggregate_reporters.sql").read_text()
    typed = {int(c) for c in re.search(r"%}\s*([0-9, ]+)\s*{%-", macro).group(1).split(",")}
    assert typed == groups - {490}


def test_a_broken_trains_body_is_fetched_again_on_the_next_run(tmp_path):
    """A 200 whose body does not parse is marked failed; the next run must ask again, not count it as a recent copy
    (before: skipped for 30 days with exit 0, and Pakistan's MFN tariffs were simply missing from the FTA marts)."""
    from tests.fakes.wits_server import FakeWits
    from tests.test_wits import client
    from tradeflow.sources.wits_refresh import refresh_wits

    with FakeWits(years={2021}, broken={("586", "000", 2021)}) as fake:
        c, archive = client(fake, tmp_path)
        first = refresh_wits(None, archive, [2021], client=c)
        assert [f.split(":")[0] for f in first.failed] == ["tariffs 586←000 2021 (reported)",
                                                           "tariffs 586←000 2021 (aveestimated)"]
        fake.broken.clear()
        second = refresh_wits(None, archive, [2021], client=c)
    assert second.failed == []
    assert sorted(second.partitions) == ["586/000/2021/aveestimated", "586/000/2021/reported"]
    assert {(e.partition["importer"], e.partition["partner"]) for e in archive.loadable("wits.trains")} == {
        ("156", "000"), ("156", "586"), ("586", "000"), ("586", "156")}


def test_the_world_query_never_stands_in_for_a_pair_reporters_own_period():
    """Pakistan's own 2022 query failed (or is not fetched yet); the all-reporters World query holds Pakistan's 2022
    exports to the World. world_exports may use them, but marts.trade_flows must not show Pakistan's 2022 as reported:
    it would have exports to the World and no imports, no China (main published it so: mirror and totals read it)."""
    conn = duckdb.connect()
    _raw(conn, [("own", "2023-05-01", "reporter", 586, "2021", "010101", 100.0),
                ("world", "2023-06-01", "all_reporters", 586, "2021", "010101", 100.0),
                ("world", "2024-06-01", "all_reporters", 586, "2022", "010101", 120.0)])
    build(conn, "staging.comtrade_flows")
    assert conn.execute("SELECT year, query_scope, value_usd FROM staging.comtrade_flows ORDER BY ALL").fetchall() == [
        (2021, "reporter", 100.0), (2022, "all_reporters", 120.0)]
    conn.execute("CREATE TABLE staging.countries AS SELECT * FROM (VALUES (586, 'PAK'), (0, 'WLD')) t(m49, iso3)")
    conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
    build(conn, "marts.trade_flows")
    assert conn.execute("SELECT reporter, partner, year, value_usd FROM marts.trade_flows").fetchall() == [
        ("PAK", "WLD", 2021, 100.0)]


def test_a_stored_period_the_source_no_longer_lists_is_kept_and_named(tmp_path):
    """Pakistan's 2021 was fetched; the next night availability no longer lists it (withdrawn, or the listing lost
    it). The stored release stays (the archive keeps what it has) but the run names it, with a warning check in
    Dagster (main: silently the same as a period not published yet)."""
    from pipelines.assets.sources import STILL_LISTED, _result
    from tests.fakes.comtrade_server import FakeComtrade, sample_records
    from tests.test_comtrade_live import KEY, client_for, client_settings
    from tradeflow.sources.comtrade_refresh import refresh_live

    records = sample_records({"2021"})
    with FakeComtrade(records, key=KEY) as fake:
        client, archive = client_for(fake, tmp_path, key=KEY)
        first = refresh_live(client_settings(fake, tmp_path), archive, ["2021"], client=client)
        assert first.failed == [] and first.withdrawn == []
        fake.set_records([r for r in records if not (r["reporterCode"] == 586 and r["period"] == "2021")])
        client, archive = client_for(fake, tmp_path, key=KEY)
        second = refresh_live(client_settings(fake, tmp_path), archive, ["2021"], client=client)
    assert second.failed == [] and second.withdrawn == ["reporter 586 period 2021 (annual)"]
    assert any(e.partition.get("reporter") == 586 for e in archive.loadable("comtrade.final"))  # still stored
    checks = {c.check_name: c for c in _result(second).check_results}
    assert checks[STILL_LISTED].passed is False and "reporter 586 period 2021" in checks[STILL_LISTED].description


def test_a_record_the_query_did_not_ask_for_fails_the_body_and_never_becomes_another_reporters_period(tmp_path):
    """Pakistan's 2021 answer also carries one record reported by China (an upstream anomaly), and Pakistan's release
    is newer than China's. Loaded, that stray row took Pakistan's vintage, became China 2021's newest vintage in
    staging and replaced China's own 2021 (marts: 1 row instead of China's whole year, exit 0). A record outside the
    query (reporter, period, frequency, flow, partner, partner2, customs, mode, commodity) fails the body, loudly."""
    from tests.fakes.comtrade_server import Fault, FakeComtrade, sample_records
    from tests.test_comtrade_live import KEY, client_for, client_settings, loaded
    from tradeflow.sources.comtrade_refresh import refresh_live

    records = sample_records({"2021"})
    china = [r for r in records if r["reporterCode"] == 156 and r["period"] == "2021" and r["aggrLevel"] == 6]
    faults = [Fault("stray", path="/data/v1/get/", period="2021", reporter=156)]  # the first 2021 query: Pakistan's
    with FakeComtrade(records, key=KEY, faults=faults) as fake:
        fake.release[(586, "2021")] = "2024-09-01T00:00:00"
        fake.release[(156, "2021")] = "2024-03-01T00:00:00"
        client, archive = client_for(fake, tmp_path, key=KEY)
        result = refresh_live(client_settings(fake, tmp_path), archive, ["2021"], client=client)
    [failed] = result.failed
    assert failed.startswith("reporter 586 period 2021 (annual): ") and "outside the query" in failed
    assert "reporterCode 156" in failed and "reporterCode=586" in failed
    assert "156/A/2021" in result.partitions and "586/A/2021" not in result.partitions
    conn = loaded(archive)
    conn.execute("CREATE SCHEMA staging")
    build(conn, "staging.comtrade_flows")
    got = conn.execute("SELECT count(*), sum(value_usd) FROM staging.comtrade_flows "
                       "WHERE reporter_code = 156").fetchone()
    assert got == (len(china), sum(r["primaryValue"] for r in china))


def test_what_counts_as_outside_a_query():
    """Inside: the all-reporters query's many reporters, a partner list, a monthly period (period '202101', refMonth
    1), modes of a by-mode query, explicit code lists, codes served as numbers. Outside: named, field by field."""
    from tests.fakes.comtrade_server import sample_records
    from tradeflow.sources.comtrade_query import FinalDataQuery, bilateral_queries, mode_query, world_exports_queries

    records = sample_records({"2021", "202101"})
    pak = next(q for q in bilateral_queries("A", "2021") if q.reporter == 586)
    own = [r for r in records if r["reporterCode"] == 586 and r["period"] == "2021" and r["aggrLevel"] == 6
           and r["motCode"] == 0]
    assert own and pak.outside(own) is None
    assert pak.outside([{**r, "reporterCode": 586.0, "partnerCode": str(r["partnerCode"])} for r in own]) is None
    world = [r for r in records if r["period"] == "2021" and r["partnerCode"] == 0 and r["flowCode"] == "X"
             and r["aggrLevel"] == 6 and r["motCode"] == 0]
    assert len({r["reporterCode"] for r in world}) > 2 and world_exports_queries("2021")[0].outside(world) is None
    monthly = [r for r in records if r["reporterCode"] == 586 and r["period"] == "202101" and r["aggrLevel"] == 6]
    by_mode = mode_query(586, "202101")
    assert by_mode.outside([r for r in monthly if r["partnerCode"] == 156 and r["motCode"] in by_mode.modes
                            and r["flowCode"] in by_mode.flows]) is None
    one = own[0]
    assert pak.narrowed(one["cmdCode"]).outside([one]) is None
    assert pak.outside([{k: v for k, v in one.items() if k != "period"}]) is None  # the required-fields check says it

    assert "period 2022 where the query asked period=2021" in pak.outside([*own, {**one, "period": "2022"}])
    assert "partnerCode 842 where" in pak.outside([{**one, "partnerCode": 842}])
    assert "flowCode MX where" in pak.outside([{**one, "flowCode": "MX"}])
    assert "motCode 2100 where" in pak.outside([{**one, "motCode": 2100}])
    assert "cmdCode TOTAL where the query asked cmdCode=six-digit" in pak.outside([{**one, "cmdCode": "TOTAL"}])
    assert "cmdCode 999999 where" in pak.narrowed("010121,010129").outside([{**one, "cmdCode": "999999"}])
    m = monthly[0]
    jan = FinalDataQuery(586, "M", "202101", partners=(m["partnerCode"],))
    assert jan.outside([m]) is None
    assert "refMonth 2 where the query asked refMonth=1" in jan.outside([{**m, "refMonth": 2}])
    assert pak.outside([*own, {**one, "reporterCode": 156}]).startswith("1 record(s) outside the query")
