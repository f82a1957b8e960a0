"""The synthetic sample: shape, determinism and calibration (checked on the raw bodies and the marts)."""

import json

import pytest

from tradeflow.sample import calibration as cal
from tradeflow.sample.generator import generate_sample, products
from tradeflow.sources.comtrade_schema import RECORD_FIELDS


@pytest.fixture(scope="module")
def responses():
    return generate_sample()


def annual(conn, reporter, partner, flow):
    return dict(conn.execute(
        "SELECT year, sum(value_usd) FROM marts.trade_flows WHERE freq='A' AND reporter=? AND partner=? AND flow=? GROUP BY year",
        [reporter, partner, flow]).fetchall())


def test_deterministic_bytes(responses):
    again = generate_sample()
    assert [r.body for r in responses] == [r.body for r in again]


def test_records_have_the_47_comtrade_fields_and_types(responses):
    doc = json.loads(responses[0].body)
    assert set(doc) == {"elapsedTime", "count", "data", "error"}
    assert doc["count"] == len(doc["data"]) > 0
    rec = doc["data"][0]
    assert list(rec) == list(RECORD_FIELDS) and len(rec) == 47
    assert isinstance(rec["reporterCode"], int) and isinstance(rec["primaryValue"], float)
    assert isinstance(rec["isLeaf"], bool) and isinstance(rec["period"], str)


def test_coverage(responses):
    keys = {(r.query.reporter, r.query.freq, r.query.period) for r in responses}
    for reporter in (586, 156):
        for y in range(2015, 2025):
            assert (reporter, "A", str(y)) in keys
        for y in range(2019, 2026):
            for m in range(1, 13):
                assert (reporter, "M", f"{y}{m:02d}") in keys


def test_hs_versions_by_year(sample_db):
    rows = dict(sample_db.execute("SELECT year, string_agg(DISTINCT hs_version) FROM marts.trade_flows GROUP BY year").fetchall())
    assert all(rows[y] == "HS2017" for y in range(2015, 2022))
    assert all(rows[y] == "HS2022" for y in range(2022, 2026))
    assert set(sample_db.execute("SELECT DISTINCT partner FROM marts.trade_flows").fetchall()) == {("CHN",), ("PAK",), ("WLD",)}
    assert set(sample_db.execute("SELECT DISTINCT flow FROM marts.trade_flows").fetchall()) == {("X",), ("M",), ("RX",)}


def test_china_reported_totals_match_gacc_within_half_a_percent(sample_db):
    exports, imports = annual(sample_db, "CHN", "PAK", "X"), annual(sample_db, "CHN", "PAK", "M")
    for year, bn in cal.GACC_CHN_EXPORTS_TO_PAK.items():
        assert exports[year] == pytest.approx(bn * 1e9, rel=0.005)
    for year, bn in cal.GACC_CHN_IMPORTS_FROM_PAK.items():
        assert imports[year] == pytest.approx(bn * 1e9, rel=0.005)


def test_pakistan_imports_sit_20_to_30_percent_below_china_exports(sample_db):
    chn_x, pak_m = annual(sample_db, "CHN", "PAK", "X"), annual(sample_db, "PAK", "CHN", "M")
    for year in range(2015, 2025):
        assert 0.70 <= pak_m[year] / chn_x[year] <= 0.80, year


def test_pakistan_exports_below_china_imports(sample_db):
    chn_m, pak_x = annual(sample_db, "CHN", "PAK", "M"), annual(sample_db, "PAK", "CHN", "X")
    for year in range(2015, 2025):
        assert 0.65 <= pak_x[year] / chn_m[year] <= 0.80, year


def test_months_sum_to_the_annual_figure(sample_db):
    gap = sample_db.execute("""
        WITH a AS (SELECT reporter, partner, flow, year, hs6, value_usd FROM marts.trade_flows WHERE freq='A'),
             m AS (SELECT reporter, partner, flow, year, hs6, sum(value_usd) v FROM marts.trade_flows WHERE freq='M' GROUP BY ALL)
        SELECT max(abs(a.value_usd - m.v) / a.value_usd) FROM a JOIN m USING (reporter, partner, flow, year, hs6)
        WHERE a.value_usd > 1000""").fetchall()[0][0]
    assert gap < 1e-6


def test_composition_by_chapter_is_plausible(sample_db):
    top = lambda reporter: [c for (c,) in sample_db.execute(  # noqa: E731
        "SELECT substr(hs6,1,2) ch FROM marts.trade_flows WHERE freq='A' AND year=2022 AND flow='X' AND reporter=? "
        "AND partner<>'WLD' GROUP BY ch ORDER BY sum(value_usd) DESC LIMIT 4", [reporter]).fetchall()]
    assert {"84", "85"} <= set(top("CHN"))  # machinery and electrical goods lead China's exports
    assert {"74", "52"} <= set(top("PAK"))  # copper and cotton yarn lead Pakistan's
    assert "10" in top("PAK") or "12" in top("PAK")  # rice or sesame


def test_agro_and_road_flows_dip_in_winter_before_december_2024(sample_db):
    def winter_share(table, where, years):
        return sample_db.execute(f"""
            SELECT sum(value_usd) FILTER (month IN (12,1,2,3)) / sum(value_usd) FROM {table}
            WHERE {where} AND period_start BETWEEN ? AND ?""", years).fetchall()[0][0]

    road = "reporter='PAK' AND mode='road'"
    before = winter_share("marts.trade_flows_by_mode", road, ["2019-04-01", "2024-03-31"])
    after = winter_share("marts.trade_flows_by_mode", road, ["2024-12-01", "2025-11-30"])
    assert before < 0.08 and after > 0.2  # closed Dec–Mar (bar ad-hoc openings), open year-round after
    agro = "reporter='PAK' AND partner='CHN' AND flow='X' AND freq='M' AND substr(hs6,1,2) IN ('03','04','08','09','10','12','16','17')"
    assert winter_share("marts.trade_flows", agro, ["2019-04-01", "2024-03-31"]) < 4 / 12


def test_every_row_is_flagged_sample(sample_db):
    for table in ("marts.trade_flows", "marts.trade_flows_by_mode"):
        flagged, rows = sample_db.execute(f"SELECT bool_and(is_sample), count(*) FROM {table}").fetchall()[0]
        assert flagged is True and rows > 0, table


#: Tables holding no trade or tariff figure: reference lists (their source column says where each row is from), the
#: Khunjerab calendar and policy dates (sourced facts), the quality gates' verdicts.
NO_FIGURES = {"marts.dim_country", "marts.dim_hs", "marts.khunjerab_calendar", "marts.policy_markers",
              "staging.countries", "staging.quality_gates"}


def test_every_table_with_figures_has_is_sample_and_the_sample_sets_it(sample_db):
    """Every staging and marts table that holds a figure carries is_sample, and on the sample run every row with a
    figure from the synthetic data says so (goal_actuals and goal_actuals_monthly had no flag)."""
    tables = {f"{s}.{t}": has for s, t, has in sample_db.execute("""
        SELECT table_schema, table_name, bool_or(column_name = 'is_sample') FROM information_schema.columns
        WHERE table_schema IN ('staging', 'marts') GROUP BY ALL""").fetchall()}
    assert {t for t, has in tables.items() if not has} == NO_FIGURES
    for table in ("marts.goal_actuals", "marts.goal_actuals_monthly", "marts.goal_progress", "marts.world_exports"):
        flagged, rows = sample_db.execute(f"SELECT bool_and(is_sample), count(*) FROM {table}").fetchall()[0]
        assert flagged is True and rows > 0, table


def test_sample_codes_exist_in_their_hs_version(shared):
    import csv

    h5 = {r["id"] for r in csv.DictReader(open(shared / "data/hs/comtrade_HS2017_H5_codes.csv"))}
    h6 = {r["id"] for r in csv.DictReader(open(shared / "data/hs/comtrade_HS2022_H6_codes.csv"))}
    conv = {r["hs2022"]: r["hs2017"] for r in csv.DictReader(open(shared / "data/hs/unstats_HS2022_to_HS2017_conversion.csv"))}
    p = products()
    assert set(p["hs2017"]) <= h5
    assert set(p["hs2022"]) <= h6
    assert all(conv[b] == a for a, b in zip(p["hs2017"], p["hs2022"]))


def test_the_all_reporters_answer_holds_the_pair_as_their_own_queries_do(sample_db):
    """Pakistan's and China's HS6 exports to the World are the same records in the all-reporters answer as in their
    own queries (one Comtrade database answers both). The refresh keeps a reporter's own copy of its batch, so a line
    only the all-reporters answer held (China's 0.06 of the world market, invented where it reports no exports) left
    China's exports short of its total and every RCA ~6 % high."""
    rows = sample_db.execute("""
        SELECT query_scope, reporterCode, refYear, cmdCode, primaryValue FROM raw.comtrade_records
        WHERE partnerCode = 0 AND flowCode = 'X' AND freqCode = 'A' AND aggrLevel = 6 AND reporterCode IN (156, 586)
        QUALIFY vintage = max(vintage) OVER (PARTITION BY query_scope, reporterCode, refYear)""").fetchall()
    by_scope = {scope: sorted(r[1:] for r in rows if r[0] == scope) for scope in ("reporter", "all_reporters")}
    assert by_scope["reporter"] and by_scope["all_reporters"] == by_scope["reporter"]


def test_a_sample_body_an_older_version_wrote_is_superseded_not_loaded_beside_the_new(tmp_path):
    """A home built by an earlier tradeflow holds that version's sample bodies under the same requests and releases.
    Writing the sample again must leave one body per request (main loaded both: old records beside new ones, so a
    fixed sample stayed half-fixed in an existing home)."""
    from tradeflow.archive import RawArchive
    from tradeflow.sample.generator import DATASET, _responses_for, write_sample

    archive = RawArchive(tmp_path / "raw")
    resp = next(iter(_responses_for({"2021"})))
    old = json.loads(resp.body)
    old["data"] = old["data"][:-1]  # an older generator's body: one record fewer
    archive.store(dataset=DATASET, source="sample", url=resp.url, params=resp.query.params(), status=200,
                  body=json.dumps(old).encode(), partition=resp.query.partition(),
                  release={"vintage": resp.vintage, "rows": len(old["data"])}, fetched_at=f"{resp.vintage}T00:00:00Z")
    write_sample(archive, {"2021"})
    loadable = archive.loadable(DATASET)
    ids = [e.request_id for e in loadable]
    assert len(ids) == len(set(ids)) and len(ids) > 1
    assert any(not e.ok and "superseded" in (e.error or "") for e in archive.entries())
    write_sample(archive, {"2021"})  # again: nothing new, nothing superseded
    assert sorted((e.request_id, e.sha256) for e in archive.loadable(DATASET)) == sorted(
        (e.request_id, e.sha256) for e in loadable)
    # a home holding both (the current body already stored beside the old one): the old one goes too
    both = RawArchive(tmp_path / "both")
    write_sample(both, {"2021"})
    both.store(dataset=DATASET, source="sample", url=resp.url, params=resp.query.params(), status=200,
               body=json.dumps(old).encode(), partition=resp.query.partition(),
               release={"vintage": resp.vintage, "rows": len(old["data"])}, fetched_at=f"{resp.vintage}T00:00:00Z")
    assert len(both.loadable(DATASET)) == len(loadable) + 1
    write_sample(both, {"2021"})
    assert sorted(e.sha256 for e in both.loadable(DATASET)) == sorted(e.sha256 for e in loadable)
