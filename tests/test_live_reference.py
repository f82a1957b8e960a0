"""Live reference data: every HS version a period uses is known (H4 for 2015–2016), the UNSD
correspondence tables are fetched, archived and rebuilt from, and a failing reference source
falls back to the last archived copy."""

import csv
import json
import logging

import duckdb
import pytest

from tests.fakes.comtrade_server import FakeComtrade, sample_records
from tests.fakes.unsd_server import FakeUnsd, hs2022_workbook, workbook
from tests.fakes.wits_server import FakeWits

KEY = "LIVE-KEY-0123456789"
#: HS2012 (Comtrade H4) codes in the 2015–2016 store; all unchanged in HS2017 except 440110
#: (fuel wood), which HS2017 split into 440111 (coniferous) and 440112 (non-coniferous).
H4_CODES = ("100630", "520932", "847130", "850440")
HS2017_HS2012 = workbook(
    "2017", "2012",
    [("440111", "440110"), ("440112", "440110")] + [(c, c) for c in H4_CODES],
    [("440111", "440110", "n:1"), ("440112", "440110", "n:1")] + [(c, c, "1:1") for c in H4_CODES],
)


@pytest.fixture(scope="module")
def store():
    """Annual records for 2015, 2016 (reported in HS2012, as Comtrade holds them) and 2022 (HS2022)."""
    records = []
    for r in sample_records({"2015", "2016", "2022"}):
        if r["refYear"] < 2017:
            if r["cmdCode"] not in (*H4_CODES, "TOTAL"):
                continue
            r = dict(r, classificationCode="H4")
        records.append(r)
    wood = next(r for r in records if r["refYear"] == 2016 and r["cmdCode"] == "100630" and r["reporterCode"] == 586
                and r["partnerCode"] == 156)
    records.append(dict(wood, cmdCode="440110", cmdDesc="Fuel wood", primaryValue=1000.0))
    return records


@pytest.fixture
def live_env(tmp_path, monkeypatch, shared):
    monkeypatch.setenv("TRADEFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    monkeypatch.setenv("TRADEFLOW_COMTRADE_RATE", "1000")
    monkeypatch.setenv("TRADEFLOW_WITS_RATE", "1000")
    return tmp_path / "home"


def test_default_years_pass_the_hs_gate_and_every_mapped_code_reaches_hs2017(store, live_env, shared, monkeypatch):
    from pipelines.refresh import run_refresh

    files = {"HS2022toHS2017ConversionAndCorrelationTables.xlsx": hs2022_workbook(shared),
             "HS2017toHS2012ConversionAndCorrelationTables.xlsx": HS2017_HS2012}
    from tests.test_warehouse import _partner_areas

    lists = {"Reporters": (shared / "data/reference/comtrade_Reporters.json").read_bytes(),
             "partnerAreas": _partner_areas(shared)}  # the real lists: 156, 586 and most codes are in both
    with FakeComtrade(store, key=KEY) as fake, FakeWits(years=set()) as wits, FakeUnsd(files) as unsd:
        fake._reference = lambda name, own=fake._reference: lists.get(name) or own(name)
        monkeypatch.setenv("TRADEFLOW_COMTRADE_URL", fake.url)
        monkeypatch.setenv("TRADEFLOW_WITS_URL", wits.url)
        monkeypatch.setenv("TRADEFLOW_UNSD_URL", unsd.url)
        outcome = run_refresh("live", "")  # the default years: 2015 on
        assert outcome.success, (outcome.error, outcome.failed_checks)
        assert any(p.endswith("/H4.json") for p in (r["path"] for r in fake.log))
        assert sorted(unsd.log) == sorted(f"/unsd/classifications/Econ/tables/{n}" for n in files)

    conn = duckdb.connect(str(live_env / "published" / "tradeflow.duckdb"), read_only=True)
    # every (reporter, partner, flow, freq, period) cell exactly as served: no fan-out through dim_country
    assert conn.execute("SELECT count(*) FROM marts.dim_country").fetchall() == conn.execute(
        "SELECT count(DISTINCT m49) FROM marts.dim_country").fetchall()
    cells = {}
    for r in store:
        if r["motCode"] == 0 and r["reporterCode"] in (156, 586) and r["cmdCode"] != "TOTAL":
            k = ({156: "CHN", 586: "PAK"}[r["reporterCode"]], {0: "WLD", 156: "CHN", 586: "PAK"}[r["partnerCode"]],
                 r["flowCode"], r["refYear"])
            n, v = cells.get(k, (0, 0.0))
            cells[k] = (n + 1, v + r["primaryValue"])
    got = conn.execute("SELECT reporter, partner, flow, year, count(*), sum(value_usd) FROM marts.trade_flows "
                       "WHERE freq = 'A' GROUP BY ALL").fetchall()
    assert {(a, b, c, d): n for a, b, c, d, n, _ in got} == {k: n for k, (n, _) in cells.items()}
    assert all(v == pytest.approx(cells[(a, b, c, d)][1]) for a, b, c, d, _, v in got)
    with open(shared / "data/hs/unstats_HS2022_to_HS2017_conversion.csv", encoding="utf-8") as fh:
        mapped = {("HS2022", r["hs2022"]) for r in csv.DictReader(fh)} | {("HS2012", c) for c in (*H4_CODES, "440110")}
    rows = conn.execute("SELECT hs_version_reported, hs6_reported, hs6_2017 FROM marts.trade_flows_hs2017").fetchall()
    assert {v for v, _, _ in rows} == {"HS2012", "HS2022"}
    assert [(v, c) for v, c, t in rows if t is None and (v, c) in mapped] == []  # no NULL for a code UNSD maps
    assert all(t is not None for v, c, t in rows if v == "HS2012")
    # the HS2012 fuel wood line is shared out over its two HS2017 successors, and no value is lost or doubled
    assert conn.execute("""SELECT hs6_2017, value_usd FROM marts.trade_flows_hs2017
                           WHERE hs6_reported = '440110' ORDER BY 1""").fetchall() == [("440111", 500.0), ("440112", 500.0)]
    per_cell = """SELECT reporter, partner, flow, year, round(sum(value_usd), 2) FROM marts.{} GROUP BY ALL ORDER BY ALL"""
    assert conn.execute(per_cell.format("trade_flows_hs2017")).fetchall() == conn.execute(per_cell.format("trade_flows")).fetchall()
    assert conn.execute("SELECT count(*) FROM raw.hs_concordance WHERE source = 'unsd' AND newer_version = 'HS2017'"
                        ).fetchall()[0][0] == len(H4_CODES) + 2  # one row per UNSD pair
    conn.close()


def test_a_failing_unsd_table_keeps_the_archived_copy_and_names_the_url(shared, tmp_path, monkeypatch, caplog):
    from tradeflow.archive import RawArchive
    from tradeflow.sources.http import HttpClient
    from tradeflow.sources.unsd import DATASET, refresh_concordances
    from tradeflow.warehouse.reference_load import concordance_pairs

    archive = RawArchive(tmp_path / "raw")
    archive.store(dataset=DATASET, source="live", url="http://127.0.0.1/old.xlsx", params={}, status=200,
                  body=HS2017_HS2012, partition={"newer": "HS2017", "older": "HS2012"}, fetched_at="2020-01-01T00:00:00Z")
    name = "HS2017toHS2012ConversionAndCorrelationTables.xlsx"
    with FakeUnsd({}, status={name: 500, "HS2022toHS2017ConversionAndCorrelationTables.xlsx": 404}) as unsd:
        monkeypatch.setenv("TRADEFLOW_UNSD_URL", unsd.url)
        with caplog.at_level(logging.WARNING, logger="tradeflow.unsd"):
            assert refresh_concordances(archive, HttpClient(rate_per_second=1000, backoff_initial=0.01, backoff_max=0.02)) == []
    assert f"{unsd.url}/{name}" in caplog.text and "using the copy archived 2020-01-01" in caplog.text
    pairs = concordance_pairs(archive)
    assert set(pairs.loc[pairs["newer_version"] == "HS2017", "older_code"]) == {"440110", *H4_CODES}
    assert set(pairs.loc[pairs["newer_version"] == "HS2022", "source"]) == {"sample"}  # never archived: the seed


def test_an_unreadable_reference_list_falls_back_to_the_previous_copy(tmp_path, caplog):
    from tradeflow.archive import RawArchive
    from tradeflow.warehouse.reference_load import reference_hs

    archive = RawArchive(tmp_path / "raw")
    url = "https://comtradeapi.un.org/files/v1/app/reference/H4.json"
    good = {"results": [{"id": "440110", "text": "440110 - Fuel wood", "aggrLevel": 6}]}
    for when, body in (("2024-01-01T00:00:00Z", json.dumps(good)), ("2024-03-01T00:00:00Z", '{"results": "oops"}')):
        archive.store(dataset="comtrade.reference", source="live", url=url, params={}, status=200, body=body.encode(),
                      partition={"list": "H4"}, fetched_at=when)
    with caplog.at_level(logging.WARNING, logger="tradeflow.reference"):
        df = reference_hs(archive)
    assert df.values.tolist() == [["H4", "440110", "Fuel wood", "comtrade"]]
    assert url in caplog.text and "using the copy archived 2024-01-01" in caplog.text


def test_a_failing_hs_list_splits_with_the_last_archived_copy(tmp_path, caplog):
    """A capped body needs the HS6 list to split; when the list fails, the archived copy serves, with a warning."""
    from tests.fakes.comtrade_server import Fault
    from tradeflow.settings import Settings
    from tradeflow.sources.comtrade import ComtradeClient
    from tradeflow.sources.comtrade_query import bilateral_queries
    from tradeflow.sources.http import HttpClient
    from tradeflow.archive import RawArchive

    records = [r for r in sample_records({"2021"}) if r["reporterCode"] == 156]
    with FakeComtrade(records) as fake:
        settings = Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "TRADEFLOW_COMTRADE_URL": fake.url})
        archive = RawArchive(settings.raw_dir)
        http = HttpClient(rate_per_second=1000, backoff_initial=0.01, backoff_max=0.02)
        ComtradeClient(settings, archive, http=http, cap=40).reference("H5")  # an earlier run archived the list
        fake.faults.append(Fault("status", path="/reference/H5.json", status=503, times=100))
        client = ComtradeClient(settings, archive, http=http, cap=40)
        [query] = [q for q in bilateral_queries("A", "2021") if q.reporter == 156]
        with caplog.at_level(logging.WARNING, logger="tradeflow.sources.comtrade"):
            entries = client.fetch(query, {"vintage": "2024-06-30"})
    assert len(entries) > 5 and "reference list H5 not available" in caplog.text
    got = sum(json.loads(archive.read_body(e.sha256))["count"] for e in entries)
    assert got == sum(1 for r in records if r["motCode"] == 0 and r["partnerCode"] in (0, 586) and r["cmdCode"] != "TOTAL")


def test_a_reporter_still_on_hs2007_in_the_world_query_passes_the_hs_gate(live_env, shared, monkeypatch):
    """Availability says a reporter answers 2015 in H3 (HS2007, a late adopter): its list is fetched with the
    others, the unknown-HS gate passes, its records are staged as H3, and RCA's world leaves it out that year
    rather than read its HS2007 codes as HS2017 ones."""
    from pipelines.refresh import run_refresh
    from tests.test_warehouse import _partner_areas

    late = 704
    records = [dict(r, classificationCode="H3") if r["reporterCode"] == late else r for r in sample_records({"2015"})]
    served = [r for r in records if r["reporterCode"] == late and r["cmdCode"] != "TOTAL"]
    assert served and {r["partnerCode"] for r in served} == {0}
    lists = {"Reporters": (shared / "data/reference/comtrade_Reporters.json").read_bytes(),
             "partnerAreas": _partner_areas(shared)}
    with FakeComtrade(records, key=KEY) as fake, FakeWits(years=set()) as wits, FakeUnsd({}) as unsd:
        fake._reference = lambda name, own=fake._reference: lists.get(name) or own(name)
        monkeypatch.setenv("TRADEFLOW_COMTRADE_URL", fake.url)
        monkeypatch.setenv("TRADEFLOW_WITS_URL", wits.url)
        monkeypatch.setenv("TRADEFLOW_UNSD_URL", unsd.url)
        outcome = run_refresh("live", "2015")
        assert outcome.success, (outcome.error, outcome.failed_checks)
        paths = [r["path"] for r in fake.log]
    assert sum(p.endswith("/reference/H3.json") for p in paths) == 1
    assert not any(p.endswith(("/H0.json", "/H1.json", "/H2.json")) for p in paths)  # only what availability named
    conn = duckdb.connect(str(live_env / "published" / "tradeflow.duckdb"), read_only=True)
    got = conn.execute("""SELECT classification, count(*), sum(value_usd) FROM staging.comtrade_flows
                          WHERE reporter_code = ? GROUP BY ALL""", [late]).fetchall()
    assert got == [("H3", len(served), pytest.approx(sum(r["primaryValue"] for r in served)))]
    # its codes are described under their own version (a late adopter's list is not an unnamed one)
    assert conn.execute("SELECT count(*) FROM marts.dim_hs WHERE hs_version IS NULL").fetchone()[0] == 0
    h3 = {r["cmdCode"] for r in served}
    assert {c for (c,) in conn.execute("SELECT code FROM marts.dim_hs WHERE hs_version = 'HS2007' AND level = 6").fetchall()} == h3
    # RCA's world: HS2007 codes are not HS2017 codes, so the late reporter's year is left out whole (never read
    # as HS2017), products and total alike; every other reporter's exports are all there
    world = conn.execute("SELECT reporter, count(*) FROM marts.world_exports WHERE year = 2015 GROUP BY ALL").fetchall()
    assert "VNM" not in dict(world) and len(world) == 7
    total = conn.execute("SELECT sum(value_usd) FROM marts.world_exports WHERE year = 2015 AND hs6 = 'TOTAL'").fetchone()[0]
    assert total == pytest.approx(sum(r["primaryValue"] for r in records if r["cmdCode"] == "TOTAL" and r["flowCode"] == "X"
                                      and r["partnerCode"] == 0 and r["reporterCode"] != late))
    conn.close()


def test_keyless_runs_fetch_the_hs_list_before_each_years_default():
    from types import SimpleNamespace

    from tradeflow.sources.comtrade_refresh import hs_lists

    keyless = SimpleNamespace(keyed=False, classifications=set())
    assert hs_lists(keyless, {2015, 2016}) == ("H3",)  # H4 by default: H3 for late adopters
    assert hs_lists(keyless, {2010, 2023}) == ("H2", "H3")  # H3 by default, and H5 (kept anyway) before H6
    keyed = SimpleNamespace(keyed=True, classifications={"H5", "H2"})
    assert hs_lists(keyed, {2015}) == ("H2",)  # keyed: what availability named, nothing guessed


def test_hs2012_codes_without_the_unsd_table_fail_the_build_naming_it(store, live_env, shared, monkeypatch):
    """Without the HS2017→HS2012 table (never archived, the fetch failed) no HS2012 code maps to HS2017: the
    build fails on marts.trade_flows_hs2017's hs2017_mapped test, naming the table, not later on a mart's grain with
    a NULL code (main: marts/mirror_flows' grain, 'NULL in hs6')."""
    from pipelines.refresh import run_refresh

    files = {"HS2022toHS2017ConversionAndCorrelationTables.xlsx": hs2022_workbook(shared)}
    with FakeComtrade(store, key=KEY) as fake, FakeWits(years=set()) as wits, FakeUnsd(files) as unsd:
        monkeypatch.setenv("TRADEFLOW_COMTRADE_URL", fake.url)
        monkeypatch.setenv("TRADEFLOW_WITS_URL", wits.url)
        monkeypatch.setenv("TRADEFLOW_UNSD_URL", unsd.url)
        outcome = run_refresh("live", "2016")
    assert not outcome.success
    failed = [c for c in outcome.failed_checks if c["asset"] == "marts/trade_flows_hs2017"]
    assert [c["check"] for c in failed] == ["hs2017_mapped"], outcome.failed_checks
    assert "HS2012 code" in str(failed[0]) and "HS2017toHS2012ConversionAndCorrelationTables.xlsx" in str(failed[0])
    assert not (live_env / "published" / "tradeflow.duckdb").exists()  # nothing published from the failed build
