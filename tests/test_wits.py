"""WITS/TRAINS: the SDMX-JSON reader on the real samples, the client against a fake server."""

import json

import pytest

from tests.fakes.wits_server import FakeWits
from tradeflow.archive import RawArchive
from tradeflow.errors import ParseError
from tradeflow.settings import Settings
from tradeflow.sources.http import HttpClient
from tradeflow.sources.sdmx_json import read_sdmx_json
from tradeflow.sources.wits import WitsClient, tariff_frame


def test_real_trains_sample_reads_despite_its_key_order(shared):
    doc = json.loads((shared / "data/api_samples/wits_trains_tariff_sdmxjson_USA_WLD_2017.json").read_text())
    f = read_sdmx_json(doc)
    assert len(f) == 5388 and f["PRODUCTCODE"].nunique() == 5388
    assert set(f["PARTNER"]) == {"000"} and set(f["REPORTER"]) == {"840"} and set(f["TARIFFTYPE"]) == {"MFN"}
    row = f[f["PRODUCTCODE"] == "010190"].iloc[0]
    # two national lines at 0 % and 4 %: simple average 2, min 0, max 4
    assert (row["OBS_VALUE"], row["MIN_RATE"], row["MAX_RATE"], row["TOTALNOOFLINES"]) == (2.0, "0", "4", "2")


def test_real_tradestats_sample_reads_in_declared_order(shared):
    doc = json.loads((shared / "data/api_samples/wits_tradestats_trade_sdmxjson_USA_WLD_2017.json").read_text())
    f = read_sdmx_json(doc)
    assert f["PRODUCTCODE"].nunique() == 29 and set(f["REPORTER"]) == {"USA"}
    assert f.loc[f["PRODUCTCODE"] == "01-05_Animal", "OBS_VALUE"].iloc[0] == pytest.approx(32320233.669)


@pytest.mark.parametrize("doc,match", [({"header": {}}, "not an SDMX-JSON"),
                                       ({"structure": {"dimensions": {"series": [{"id": "A", "values": []}], "observation": []}},
                                         "dataSets": [{"series": {"0:0": {"observations": {"0": [1]}}}}]}, "2 parts")])
def test_malformed_sdmx_is_a_clear_error(doc, match):
    with pytest.raises(ParseError, match=match):
        read_sdmx_json(doc, where="test")


def client(fake, tmp_path):
    s = Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "TRADEFLOW_WITS_URL": fake.url})
    archive = RawArchive(s.raw_dir)
    return WitsClient(s, archive, http=HttpClient(rate_per_second=1000, backoff_initial=0.01)), archive


def staged_tariffs(archive, staging: bool = True):
    """An in-memory warehouse with raw.wits_tariffs from the archive's TRAINS bodies (and staging.tariffs)."""
    import duckdb

    from dbt_models import build

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA staging; CREATE SCHEMA marts")
    conn.register("wits_observations", tariff_frame(archive, archive.loadable("wits.trains")))
    build(conn, "raw.wits_tariffs")
    if staging:
        stage_tariffs(conn)
    return conn


def stage_tariffs(conn):
    from dbt_models import build

    conn.execute("CREATE TABLE raw.reference_countries (m49 INT, iso3 VARCHAR, name VARCHAR, is_group BOOLEAN, list VARCHAR)")
    build(conn, "staging.countries")
    build(conn, "staging.tariffs")


def test_client_archives_parses_and_tolerates_missing_years(tmp_path):
    with FakeWits(years={2021}) as fake:
        c, archive = client(fake, tmp_path)
        entry = c.tariffs("156", "586", 2021)
        assert c.tariffs("156", "586", 2019) is None  # WITS has no such year: not an error
    frame = tariff_frame(archive, archive.loadable("wits.trains"))
    assert entry is not None and set(frame["TARIFFTYPE"]) == {"PRF"} and len(frame) > 20
    assert frame["vintage"].iloc[0] == "2022-09-30"


def test_broken_body_fails_and_is_never_loaded(tmp_path):
    with FakeWits(years={2021}, broken={("586", "000", 2021)}) as fake:
        c, archive = client(fake, tmp_path)
        with pytest.raises(ParseError, match="reporter/586/partner/000"):
            c.tariffs("586", "000", 2021)
    assert archive.loadable("wits.trains") == []


def test_a_body_giving_one_line_two_rates_is_refused_at_fetch_time_and_fetched_again(tmp_path):
    """A body listing one product twice (the second copy at another rate) is refused when it arrives, naming the
    line, and never archived as good: the next fetch asks again (main: archived as good, so every build failed at the
    raw grain check for 30 days, `--source archive` included)."""

    class Repeating(FakeWits):
        repeat = True

        def body(self, importer, partner, year, datatype):
            doc = json.loads(super().body(importer, partner, year, datatype))
            if self.repeat:
                product = next(d for d in doc["structure"]["dimensions"]["series"] if d["id"] == "PRODUCTCODE")
                key, series = next(iter(doc["dataSets"][0]["series"].items()))
                first = product["values"][int(key.split(":")[2])]
                product["values"].append(dict(first))  # the same code under a second index
                parts = key.split(":")
                parts[2] = str(len(product["values"]) - 1)
                again = json.loads(json.dumps(series))
                again["observations"]["0"][0] = 1.0
                doc["dataSets"][0]["series"][":".join(parts)] = again
            return json.dumps(doc).encode()

    with Repeating(years={2021}) as fake:
        c, archive = client(fake, tmp_path)
        with pytest.raises(ParseError, match=r"reporter/156/partner/000.*unusable response.*repeat a line.*PRODUCTCODE="):
            c.tariffs("156", "000", 2021)
        assert archive.loadable("wits.trains") == []
        fake.repeat = False
        assert c.tariffs("156", "000", 2021) is not None
    frame = tariff_frame(archive, archive.loadable("wits.trains"))
    assert not frame.duplicated(["PRODUCTCODE", "TARIFFTYPE", "DATATYPE"]).any() and len(frame) > 20


# -- TRAINS as WITS writes it: several partners and products, specific duties --------------------

from tests.fakes.wits_server import Line, trains_body  # noqa: E402


def test_multi_partner_multi_product_message_maps_every_observation():
    """Series keys carry the product index third and the partner fourth, against the declared keyPosition."""
    partners, codes = ["000", "156", "586"], [f"{c:06d}" for c in range(10121, 10161)]
    rates = {(p, c): float(i * 100 + j) for i, p in enumerate(partners) for j, c in enumerate(codes)}
    doc = json.loads(trains_body("840", 2021, [Line(p, c, r) for (p, c), r in rates.items()]))
    assert next(iter(doc["dataSets"][0]["series"])).count(":") == 4
    f = read_sdmx_json(doc, where="test")
    assert len(f) == len(rates)
    assert {(p, c): v for p, c, v in zip(f["PARTNER"], f["PRODUCTCODE"], f["OBS_VALUE"])} == rates
    assert set(f["REPORTER"]) == {"840"} and set(f["FREQ"]) == {"A"} and set(f["DATATYPE"]) == {"Reported"}


def test_a_message_that_does_not_say_which_key_part_is_which_fails_loudly():
    """As many partners as products: keys in TRAINS order fit either reading, so the reader must not guess."""
    lines = [Line(p, c, float(i * 10 + j)) for i, p in enumerate(["000", "156", "586"])
             for j, c in enumerate(["010121", "010129", "010130"])]
    with pytest.raises(ParseError, match="PARTNER.*PRODUCTCODE|PRODUCTCODE.*PARTNER"):
        read_sdmx_json(json.loads(trains_body("840", 2021, lines)), where="test")


def test_real_sample_specific_duty_lines_are_zero_with_no_ad_valorem_line(shared):
    """What TRAINS sends for a line with only specific duties (USA 2017, e.g. 010239): 0 over zero ad-valorem lines."""
    doc = json.loads((shared / "data/api_samples/wits_trains_tariff_sdmxjson_USA_WLD_2017.json").read_text())
    f = read_sdmx_json(doc)
    row = f[f["PRODUCTCODE"] == "010239"].iloc[0]
    assert (row["OBS_VALUE"], row["NBR_MFN_LINES"], row["NBR_NA_LINES"], row["TOTALNOOFLINES"]) == (0.0, "0", "1", "1")


def test_specific_duties_are_unknown_or_their_ave_never_zero(tmp_path):
    """Reported 0 with no ad-valorem line → NULL (unknown), or WITS's ad valorem equivalent; the FTA mart never reads them as duty-free."""

    with FakeWits(years={2021}, specific={"847130": 12.5, "850440": None}, mixed={"851712": (3, 1)}) as fake:
        c, archive = client(fake, tmp_path)
        for datatype in ("reported", "aveestimated"):
            assert c.tariffs("156", "000", 2021, datatype) is not None
    conn = staged_tariffs(archive)
    got = {hs6: (rate, basis) for hs6, rate, basis in conn.execute(
        "SELECT hs6, rate_pct, rate_basis FROM staging.tariffs WHERE importer = 'CHN' AND partner = 'WLD'").fetchall()}
    assert got["847130"] == (12.5, "ave_estimated")
    assert got["850440"] == (None, "unknown")
    assert got["854140"] == (6.5, "ad_valorem")
    assert got["851712"] == (6.5, "ad_valorem_lines_only")  # two ad-valorem lines averaged, one specific left out
    # the CPFTA mart: an unknown MFN falls back to the schedule's base rate, never to 0 %
    price_excluded_lines(conn, [("85044000", "converters"), ("84713000", "laptops")], base_rate=10.0, base_rate_year=2021)
    lines = dict((line, (mfn, basis, heading)) for line, mfn, basis, heading in conn.execute(
        "SELECT tariff_line, mfn_rate_pct, mfn_rate_basis, heading_mfn_rate_pct FROM marts.fta_tariff_lines "
        "WHERE year = 2021").fetchall())
    # base-rate year 2021: the line's own MFN is its base rate; the heading's rate is WITS's AVE, never 0 %
    assert lines == {"85044000": (10.0, "base_rate (WITS rate unknown)", None),
                     "84713000": (10.0, "ave_estimated", 12.5)}


@pytest.mark.parametrize("new_release", [False, True], ids=["same-prepared-date", "new-prepared-date"])
def test_a_year_fetched_again_with_another_body_uses_the_newest_body(tmp_path, monkeypatch, new_release):
    """A year re-checked a month later (as the nightly WITS refresh does) whose rates WITS revised up 5 points, with
    or without a new 'prepared' date. Both bodies stay in the archive and in raw.wits_tariffs (the grain holds: the
    body is part of it); staging.tariffs takes every rate from the body fetched last, never the lower of the two."""

    import tests.fakes.wits_server as ws
    import tradeflow.archive
    from tradeflow.warehouse.models import check_grain

    with FakeWits(years={2021}) as fake:
        c, archive = client(fake, tmp_path)
        monkeypatch.setattr(tradeflow.archive, "now_utc", lambda: "2026-10-01T02:00:00Z")
        c.tariffs("156", "000", 2021)
        first = tariff_frame(archive, archive.loadable("wits.trains"))
        rate = ws.mfn_rate
        monkeypatch.setattr(ws, "mfn_rate", lambda imp, code: rate(imp, code) + 5)
        if new_release:
            body = ws.trains_body
            monkeypatch.setattr(ws, "trains_body", lambda *a, **k: body(*a, **k).replace(
                b'"prepared":"2022-09-30', b'"prepared":"2022-10-30'))
        monkeypatch.setattr(tradeflow.archive, "now_utc", lambda: "2026-11-01T02:00:00Z")
        c.tariffs("156", "000", 2021)
    assert len({e.sha256 for e in archive.loadable("wits.trains")}) == 2
    conn = staged_tariffs(archive, staging=False)
    assert check_grain(conn, "raw.wits_tariffs").passed
    stage_tariffs(conn)
    got = dict(conn.execute("SELECT hs6, rate_pct FROM staging.tariffs WHERE importer = 'CHN'").fetchall())
    was = {r["PRODUCTCODE"]: float(r["OBS_VALUE"]) for _, r in first.iterrows() if r["TARIFFTYPE"] == "MFN"}
    assert was and got == {code: pytest.approx(v + 5) for code, v in was.items()}


def test_blank_line_counts_never_make_a_specific_duty_line_zero(tmp_path):
    """TRAINS leaves an observation attribute blank (a null position, as EXCLUDEDFROM always is): a blank
    NBR_NA_LINES is not "no specific duty". Hand-worked per line (reported 0 is TRAINS's answer for a line with no
    ad-valorem national line):
    - 010101: 0, NA blank, 1 national line, 0 MFN, 0 pref → 1 − 0 − 0 = 1 specific line → unknown, not 0 %;
    - 010102: 5, NA blank, 2 national, 2 MFN → 0 specific → ad valorem 5;
    - 010103: 0, every count blank → unknown;
    - 010104: 4, every count blank, WITS AVE 6 → the AVE (it covers every line);
    - 010105: 7, NA and national blank, 1 MFN line → the ad-valorem lines' average only."""

    from tests.fakes.wits_server import Line, trains_body

    rates = {"010101": (0.0, 1, 1), "010102": (5.0, 2, 0), "010103": (0.0, 1, 1), "010104": (4.0, 2, 1),
             "010105": (7.0, 2, 1)}  # OBS_VALUE, national lines, of which not ad valorem (before the blanking)
    blank = {"010101": (10,), "010102": (10,), "010103": (7, 8, 9, 10), "010104": (7, 8, 9, 10), "010105": (7, 10)}
    body = json.loads(trains_body("156", 2021, [Line("000", c, r, lines=n, na_lines=na) for c, (r, n, na) in rates.items()]))
    codes = [v["id"] for v in next(d for d in body["structure"]["dimensions"]["series"] if d["id"] == "PRODUCTCODE")["values"]]
    for key, series in body["dataSets"][0]["series"].items():
        obs = series["observations"]["0"]
        for i in blank[codes[int(key.split(":")[2])]]:
            obs[i] = None  # TOTALNOOFLINES 7, NBR_PREF_LINES 8, NBR_MFN_LINES 9, NBR_NA_LINES 10
    ave = trains_body("156", 2021, [Line("000", "010104", 6.0, datatype="Aveestimated")])
    archive = RawArchive(tmp_path / "raw")
    url = "http://127.0.0.1/API/V1/SDMX/V21/datasource/TRN/reporter/156/partner/000/product/all/year/2021/datatype/"
    for datatype, doc in (("reported", json.dumps(body).encode()), ("aveestimated", ave)):
        partition = {"importer": "156", "partner": "000", "year": 2021,
                     **({"datatype": datatype} if datatype != "reported" else {})}
        archive.store(dataset="wits.trains", source="live", url=url + datatype, params={"format": "JSON"}, status=200,
                      body=doc, partition=partition)
    conn = staged_tariffs(archive, staging=False)
    assert conn.execute("SELECT count(*) FROM raw.wits_tariffs WHERE na_lines IS NULL").fetchone()[0] == 5
    stage_tariffs(conn)
    got = {hs6: (rate, basis) for hs6, rate, basis in conn.execute(
        "SELECT hs6, rate_pct, rate_basis FROM staging.tariffs WHERE partner = 'WLD'").fetchall()}
    assert got == {"010101": (None, "unknown"), "010102": (5.0, "ad_valorem"), "010103": (None, "unknown"),
                   "010104": (6.0, "ave_estimated"), "010105": (7.0, "ad_valorem_lines_only")}


def test_the_real_samples_line_with_blank_counts_is_unknown_not_zero(shared, tmp_path):
    """The recorded USA 2017 TRAINS answer has one such line: 271000, OBS_VALUE 0 with TOTALNOOFLINES,
    NBR_MFN_LINES and NBR_NA_LINES blank (""). Nothing says its lines are ad valorem: unknown, never 0 %.
    Its lines with every count filled keep their reading (4,769 with no non-ad-valorem line, counted in the body)."""

    body = (shared / "data/api_samples/wits_trains_tariff_sdmxjson_USA_WLD_2017.json").read_bytes()
    archive = RawArchive(tmp_path / "raw")
    archive.store(dataset="wits.trains", source="live", params={"format": "JSON"}, status=200, body=body,
                  url="http://127.0.0.1/API/V1/SDMX/V21/datasource/TRN/reporter/840/partner/000/product/all/year/2017/datatype/reported",
                  partition={"importer": "840", "partner": "000", "year": 2017})
    conn = staged_tariffs(archive)
    assert conn.execute("SELECT rate_pct, rate_basis FROM staging.tariffs WHERE hs6 = '271000'").fetchall() == [
        (None, "unknown")]
    filled = conn.execute("""SELECT count(*) FROM raw.wits_tariffs
                             WHERE na_lines = 0 AND national_lines IS NOT NULL AND mfn_lines IS NOT NULL""").fetchone()[0]
    assert filled == 4769
    assert conn.execute("SELECT count(*) FROM staging.tariffs WHERE rate_basis = 'ad_valorem'").fetchone()[0] == filled


def test_an_ave_observation_whose_lines_were_not_estimated_is_no_zero(tmp_path):
    """847130: one national line, a specific duty. Reported: 0 over no ad-valorem line. The AVE answer holds the line
    too, but WITS estimated no AVE for it: again 0 with NBR_NA_LINES 1 of 1. That 0 is no rate: unknown (main: 0 %
    'ave_estimated', the heading read duty-free). 851712: 3 lines, 1 not estimated, AVE 4 over the other two: kept.
    854140: fully estimated, AVE 6.5."""
    from tests.fakes.wits_server import Line, trains_body

    archive = RawArchive(tmp_path / "raw")
    url = "http://127.0.0.1/API/V1/SDMX/V21/datasource/TRN/reporter/156/partner/000/product/all/year/2021/datatype/"
    bodies = {
        "reported": trains_body("156", 2021, [Line("000", "847130", 0.0, lines=1, na_lines=1),
                                              Line("000", "851712", 2.0, lines=3, na_lines=2),
                                              Line("000", "854140", 6.5)]),
        "aveestimated": trains_body("156", 2021, [
            Line("000", "847130", 0.0, lines=1, na_lines=1, datatype="Aveestimated"),
            Line("000", "851712", 4.0, lines=3, na_lines=1, datatype="Aveestimated"),
            Line("000", "854140", 6.5, datatype="Aveestimated")])}
    for datatype, doc in bodies.items():
        partition = {"importer": "156", "partner": "000", "year": 2021,
                     **({"datatype": datatype} if datatype != "reported" else {})}
        archive.store(dataset="wits.trains", source="live", url=url + datatype, params={"format": "JSON"}, status=200,
                      body=doc, partition=partition)
    conn = staged_tariffs(archive)
    got = {hs6: (rate, basis) for hs6, rate, basis in conn.execute(
        "SELECT hs6, rate_pct, rate_basis FROM staging.tariffs WHERE partner = 'WLD'").fetchall()}
    assert got == {"847130": (None, "unknown"), "851712": (4.0, "ave_estimated"), "854140": (6.5, "ad_valorem")}


def test_an_ave_answer_is_an_ave_only_where_it_estimated_a_line(tmp_path):
    """Per line of China's 2021 MFN answers, reported and AVE (hand-worked):
    - 271000: both answers 0 with every line count blank (as the recorded USA sample's 271000): no line is known to
      carry a rate in either, so unknown (main: the AVE answer's 0 taken as 0 %, 'ave_estimated');
    - 100630: 3 lines, 1 specific, 10 % over the other two in both answers: the AVE answer estimated nothing, so the
      ad-valorem lines' average, 'ad_valorem_lines_only' (main: 'ave_estimated', later compared AVE against AVE);
    - 851712: 3 lines, 2 specific, 2 %; the AVE answer estimated one (1 left), 4 %: the AVE;
    - 854140: 1 specific line; the AVE answer lists it twice, not estimated (0, 1 of 1 non ad valorem) and
      estimated (15 %): the estimate (main: the lower row, 0, dropped as no rate: unknown).
    The rule matches a recorded WITS AVE answer (US 2021, wine 220421, captured 2026-10-10 in the public repository
    mitchross/worldmonitor, tests/fixtures/wits-trains/): reported 0 with 5 of 5 lines non ad valorem; the AVE answer,
    DATATYPE "AVEEstimated", 2.03 % with NBR_MFN_LINES 5 and NBR_NA_LINES 0: estimated lines leave the NA count."""
    from tests.fakes.wits_server import Line, trains_body

    def blanked(doc: bytes, product: str) -> bytes:
        body = json.loads(doc)
        dims = body["structure"]["dimensions"]["series"]
        codes = [v["id"] for v in next(d for d in dims if d["id"] == "PRODUCTCODE")["values"]]
        for key, series in body["dataSets"][0]["series"].items():
            if codes[int(key.split(":")[2])] == product:
                for i in (7, 8, 9, 10):  # TOTALNOOFLINES, NBR_PREF_LINES, NBR_MFN_LINES, NBR_NA_LINES
                    series["observations"]["0"][i] = None
        return json.dumps(body).encode()

    bodies = {
        "reported": blanked(trains_body("156", 2021, [
            Line("000", "271000", 0.0), Line("000", "100630", 10.0, lines=3, na_lines=1),
            Line("000", "851712", 2.0, lines=3, na_lines=2), Line("000", "854140", 0.0, lines=1, na_lines=1)]), "271000"),
        "aveestimated": blanked(trains_body("156", 2021, [
            Line("000", "271000", 0.0, datatype="Aveestimated"),
            Line("000", "100630", 10.0, lines=3, na_lines=1, datatype="Aveestimated"),
            Line("000", "851712", 4.0, lines=3, na_lines=1, datatype="Aveestimated"),
            Line("000", "854140", 0.0, lines=1, na_lines=1, datatype="Reported"),
            Line("000", "854140", 15.0, lines=1, datatype="AVEEstimated")]), "271000")}
    archive = RawArchive(tmp_path / "raw")
    url = "http://127.0.0.1/API/V1/SDMX/V21/datasource/TRN/reporter/156/partner/000/product/all/year/2021/datatype/"
    for datatype, doc in bodies.items():
        partition = {"importer": "156", "partner": "000", "year": 2021,
                     **({"datatype": datatype} if datatype != "reported" else {})}
        archive.store(dataset="wits.trains", source="live", url=url + datatype, params={"format": "JSON"}, status=200,
                      body=doc, partition=partition)
    conn = staged_tariffs(archive, staging=False)
    assert conn.execute("SELECT count(*) FROM raw.wits_tariffs WHERE product_code = '271000' AND national_lines IS NULL"
                        ).fetchone()[0] == 2
    stage_tariffs(conn)
    got = {hs6: (rate, basis) for hs6, rate, basis in conn.execute(
        "SELECT hs6, rate_pct, rate_basis FROM staging.tariffs WHERE partner = 'WLD'").fetchall()}
    assert got == {"271000": (None, "unknown"), "100630": (10.0, "ad_valorem_lines_only"),
                   "851712": (4.0, "ave_estimated"), "854140": (15.0, "ave_estimated")}


def nuts_line_priced(conn) -> None:
    """marts.fta_tariff_lines for one excluded Chinese line, 08029000 (base 10 % in 2021), over ``conn``'s
    staging.tariffs, with HS2022 080291 and 080292 both converting to HS2017 080290."""
    from dbt_models import build

    conn.execute("""CREATE TABLE raw.fta_schedule AS SELECT * FROM (VALUES
        ('CHN', '08029000', 'other nuts', 10.0, 'E', 'HS2017', 'test', false))
        t(party, tariff_line, description, base_rate, category, hs_version, source, is_sample)""")
    conn.execute("""CREATE TABLE raw.fta_categories AS SELECT 'CHN' AS party, 'E' AS category, 'excluded' AS kind,
                    0 AS years, 0.0 AS cut, 'excluded' AS label, 0 AS first_cut_offset, 2021 AS base_rate_year""")
    conn.execute("""CREATE TABLE marts.hs_concordance AS SELECT * FROM (VALUES ('HS2022', '080291', 'HS2017', '080290', 1.0),
        ('HS2022', '080292', 'HS2017', '080290', 1.0)) t(from_version, from_code, to_version, to_code, weight)""")
    build(conn, "marts.fta_tariff_lines")


def test_hs2022_headings_merged_into_one_hs2017_heading_average_their_national_lines(tmp_path):
    """China 2022 in HS2022: 080291 (1 national line at 5 %) and 080292 (4 lines at 15 %) are both HS2017 080290; 2021
    in HS2017: 080290 at 10 %. By hand the 2022 heading MFN is the mean over its five lines, (5 + 4 × 15) / 5 = 13 %
    (main: the mean of the two headings, 10 %); line 08029000, base 10 % in 2021, moves with it to 13 %."""
    from dbt_models import build
    from tests.fakes.wits_server import Line, trains_body

    archive = RawArchive(tmp_path / "raw")
    url = "http://127.0.0.1/API/V1/SDMX/V21/datasource/TRN/reporter/156/partner/000/product/all/year/{}/datatype/reported"
    bodies = {2021: trains_body("156", 2021, [Line("000", "080290", 10.0, lines=5)], nomen="H5"),
              2022: trains_body("156", 2022, [Line("000", "080291", 5.0, lines=1), Line("000", "080292", 15.0, lines=4)],
                                nomen="H6")}
    for year, body in bodies.items():
        archive.store(dataset="wits.trains", source="live", url=url.format(year), params={"format": "JSON"}, status=200,
                      body=body, partition={"importer": "156", "partner": "000", "year": year})
    conn = staged_tariffs(archive)
    nuts_line_priced(conn)
    got = conn.execute("""SELECT year, heading_mfn_rate_pct, mfn_rate_pct FROM marts.fta_tariff_lines
        WHERE year IN (2021, 2022) ORDER BY year""").fetchall()
    assert got == [(2021, 10.0, 10.0), (2022, 13.0, 13.0)]


def test_merged_headings_with_an_unknown_line_count_average_the_headings():
    """2022 (HS2022): 080291 at 5 % over 2 national lines, 080292 at 15 % with its line count left blank by WITS. No
    count is guessed: the heading MFN of HS2017 080290 is the plain mean of the two, 10 % (main weighed the blank as
    one line: (2 × 5 + 15) / 3 = 8.33 %)."""
    import duckdb

    from dbt_models import build

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA staging; CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE staging.tariffs AS SELECT * FROM (VALUES
        ('CHN', 'WLD', 2021, '080290', 'HS2017', 'MFN', 10.0, 'ad_valorem', false, 5),
        ('CHN', 'WLD', 2022, '080291', 'HS2022', 'MFN', 5.0, 'ad_valorem', false, 2),
        ('CHN', 'WLD', 2022, '080292', 'HS2022', 'MFN', 15.0, 'ad_valorem', false, NULL))
        t(importer, partner, year, hs6, hs_version, tariff_type, rate_pct, rate_basis, is_sample, rated_lines),
        LATERAL (SELECT rate_pct AS ad_valorem_lines_rate_pct, rated_lines AS ad_valorem_lines)""")
    nuts_line_priced(conn)
    assert conn.execute("SELECT heading_mfn_rate_pct FROM marts.fta_tariff_lines WHERE year = 2022").fetchone() == (10.0,)


def specific_heading_line_priced(tmp_path, reported: dict[int, float], ave: dict[int, float],
                                 ave_na: dict[int, int] | None = None):
    """Heading 200811 as TRAINS reports it for the USA in 2017 (the recorded sample): 9 national lines, 5 ad valorem
    (``reported[year]`` their average), 4 specific; WITS's AVE body (``ave[year]``, every line estimated unless
    ``ave_na[year]`` lines were not) for the years it is published. Line 20081100, excluded, base 30 % in the
    base-rate year 2019, priced in the FTA mart."""

    archive = RawArchive(tmp_path / "raw")
    url = "http://127.0.0.1/API/V1/SDMX/V21/datasource/TRN/reporter/156/partner/000/product/all/year/{}/datatype/{}"
    bodies = [(y, "reported", trains_body("156", y, [Line("000", "200811", r, lines=9, na_lines=4),
                                                     Line("000", "010130", 6.0)])) for y, r in reported.items()]
    bodies += [(y, "aveestimated", trains_body("156", y, [Line("000", "200811", r, lines=9,
                                                               na_lines=(ave_na or {}).get(y, 0), datatype="Aveestimated"),
                                                          Line("000", "010130", 6.0, datatype="Aveestimated")]))
               for y, r in ave.items()]
    for year, datatype, body in bodies:
        archive.store(dataset="wits.trains", source="live", url=url.format(year, datatype), params={"format": "JSON"},
                      status=200, body=body, partition={"importer": "156", "partner": "000", "year": year,
                                                        **({"datatype": datatype} if datatype != "reported" else {})})
    conn = staged_tariffs(archive)
    price_excluded_lines(conn, [("20081100", "ground-nuts")], base_rate=30.0, base_rate_year=2019)
    return conn


@pytest.mark.parametrize("reported,ave,year,expected", [
    # AVE for 2021 only: no tariff changed, the 2021 line MFN is its base rate (main: 30 + 120 − 78.6 = 71.4 %)
    ({2019: 78.6, 2021: 78.6}, {2021: 120.0}, 2021, (30.0, 30.0, "base_rate_moved_by_wits_hs6", "ad_valorem_lines_only", 78.6)),
    # AVE for 2019 only (the newest year has none yet): 30 % (main: max(0, 30 + 78.6 − 120) = 0 %, read duty-free)
    ({2019: 78.6, 2023: 78.6}, {2019: 120.0}, 2023, (30.0, 30.0, "base_rate_moved_by_wits_hs6", "ad_valorem_lines_only", 78.6)),
    # ... and the ad-valorem lines cut 10 points by 2023: the line follows them, 30 − 10 = 20 %
    ({2019: 78.6, 2023: 68.6}, {2019: 120.0}, 2023, (20.0, 20.0, "base_rate_moved_by_wits_hs6", "ad_valorem_lines_only", 68.6)),
    # AVE both years: AVE against AVE, 30 + 110 − 120 = 20 %
    ({2019: 78.6, 2021: 78.6}, {2019: 120.0, 2021: 110.0}, 2021, (20.0, 20.0, "base_rate_moved_by_wits_hs6", "ave_estimated", 110.0)),
], ids=["ave-2021-only", "ave-2019-only", "ave-2019-only-lines-cut", "ave-both-years"])
def test_a_heading_rate_on_another_basis_in_one_year_never_moves_the_line_mfn(tmp_path, reported, ave, year, expected):
    """WITS publishes AVEs year by year: a heading with specific duties is ave_estimated in a year with an AVE body and
    ad_valorem_lines_only in one without. The line's MFN moves only by a change measured on one basis in both years:
    the AVE where both years have one, else the ad-valorem lines' reported average."""
    conn = specific_heading_line_priced(tmp_path, reported, ave)
    got = conn.execute("""SELECT mfn_rate_pct, applied_pref_rate_pct, mfn_source, mfn_rate_basis, heading_mfn_rate_pct
                          FROM marts.fta_tariff_lines WHERE year = ?""", [year]).fetchone()
    assert got == (pytest.approx(expected[0]), pytest.approx(expected[1]), *expected[2:4], pytest.approx(expected[4]))


def test_an_ave_answer_that_estimated_none_of_the_specific_lines_is_no_ave(tmp_path):
    """2019: WITS's AVE answer estimates all 4 specific lines of 200811 (AVE 120 %). 2021: its AVE answer still has
    those 4 lines non ad valorem (NBR_NA_LINES 4 of 9, as reported), so its 78.6 is the 5 ad-valorem lines' average
    again, not an AVE. No tariff changed: by hand the 2021 line MFN is its base rate, 30 % (main: read "AVE against
    AVE", max(0, 30 + 78.6 − 120) = 0 %, the excluded line duty-free)."""
    conn = specific_heading_line_priced(tmp_path, {2019: 78.6, 2021: 78.6}, {2019: 120.0, 2021: 78.6}, ave_na={2021: 4})
    assert conn.execute("SELECT year, rate_basis FROM staging.tariffs WHERE hs6 = '200811' ORDER BY year").fetchall() == [
        (2019, "ave_estimated"), (2021, "ad_valorem_lines_only")]
    got = conn.execute("""SELECT mfn_rate_pct, applied_pref_rate_pct, mfn_rate_basis FROM marts.fta_tariff_lines
                          WHERE year = 2021""").fetchone()
    assert got == (pytest.approx(30.0), pytest.approx(30.0), "ad_valorem_lines_only")


def test_heading_rates_on_different_bases_without_ad_valorem_lines_keep_the_base_rate():
    """2021: HS2017 080290, specific duties only, AVE 20 %. 2022 (HS2022): 080291 the same, AVE 20 %, and 080292 ad
    valorem 5 %, both HS2017 080290. The 2022 heading rate (AVE and ad valorem) is on another basis than 2021's (AVE
    alone) and 2021 has no ad-valorem line to measure a change on: line 08029000 keeps its base rate, 10 %, and says
    why (main: 10 + 12.5 − 20 = 2.5 %)."""
    import duckdb

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA staging; CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE staging.tariffs AS SELECT * FROM (VALUES
        ('CHN', 'WLD', 2021, '080290', 'HS2017', 'MFN', 20.0, 'ave_estimated', false, 1, NULL, NULL),
        ('CHN', 'WLD', 2022, '080291', 'HS2022', 'MFN', 20.0, 'ave_estimated', false, 1, NULL, NULL),
        ('CHN', 'WLD', 2022, '080292', 'HS2022', 'MFN', 5.0, 'ad_valorem', false, 1, 5.0, 1))
        t(importer, partner, year, hs6, hs_version, tariff_type, rate_pct, rate_basis, is_sample, rated_lines,
          ad_valorem_lines_rate_pct, ad_valorem_lines)""")
    nuts_line_priced(conn)
    assert conn.execute("""SELECT mfn_rate_pct, mfn_source, mfn_rate_basis, heading_mfn_rate_pct
                           FROM marts.fta_tariff_lines WHERE year = 2022""").fetchone() == (
        10.0, "base_rate", "base_rate (WITS rates on different bases)", 12.5)


def test_sample_bodies_never_stand_in_for_a_live_refresh(tmp_path, monkeypatch):
    """1 March 2025, in a home where the demo ran (`refresh --source sample`): the sample archived CHN and PAK MFN for
    2023 and 2024. The live refresh must still ask WITS for every one of them: the warehouse drops sample bodies once
    live ones exist, so a request skipped as 'unchanged' because of a sample body leaves that year with no MFN at all
    (main: 2024 skipped, the sample's made-up fetched_at 2025-09-30 being 'recent'; the FTA mart carried 2023 on)."""
    from datetime import datetime

    import tradeflow.archive
    import tradeflow.sources.wits_refresh as wits_refresh
    from tradeflow.sample.tariffs import write_sample_tariffs
    from tradeflow.warehouse.models import _prefer_live

    class March(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2025, 3, 1, 2, 0, tzinfo=tz)

    monkeypatch.setattr(wits_refresh, "datetime", March)
    monkeypatch.setattr(tradeflow.archive, "now_utc", lambda: "2025-03-01T02:00:00Z")
    with FakeWits(years={2023, 2024}) as fake:
        c, archive = client(fake, tmp_path)
        sample = write_sample_tariffs(archive, {2023, 2024})
        # a synthetic body is never dated after the day it was archived
        assert {e.fetched_at for e in sample} == {"2024-09-30T00:00:00Z", "2025-03-01T02:00:00Z"}
        result = wits_refresh.refresh_wits(None, archive, [2023, 2024], client=c)
    assert result.failed == [] and result.skipped_unchanged == 0
    asked = {(p.split("/reporter/")[1][:3], p.split("/year/")[1][:4]) for p in fake.log
             if "/partner/000/" in p and "/datatype/reported" in p}
    assert asked == {("156", "2023"), ("156", "2024"), ("586", "2023"), ("586", "2024")}
    used = _prefer_live(archive.loadable("wits.trains"))
    assert {(e.partition["importer"], e.partition["year"]) for e in used
            if e.partition["partner"] == "000" and "datatype" not in e.partition} == {
        ("156", 2023), ("156", 2024), ("586", 2023), ("586", 2024)}


def price_excluded_lines(conn, lines, base_rate, base_rate_year):
    """marts.fta_tariff_lines over ``conn``'s staged tariffs for China's HS2017 ``lines`` [(line, description)], each
    excluded at ``base_rate`` (base-rate year ``base_rate_year``), with no concordance needed."""
    from dbt_models import build

    rows = ", ".join(f"('CHN', '{line}', '{text}', {float(base_rate)}, 'A', 'HS2017', 'test', false)" for line, text in lines)
    conn.execute(f"""CREATE TABLE raw.fta_schedule AS SELECT * FROM (VALUES {rows})
        t(party, tariff_line, description, base_rate, category, hs_version, source, is_sample)""")
    conn.execute(f"""CREATE TABLE raw.fta_categories AS SELECT 'CHN' AS party, 'A' AS category, 'excluded' AS kind,
                     0 AS years, 0.0 AS cut, 'excluded' AS label, 0 AS first_cut_offset, {int(base_rate_year)} AS base_rate_year""")
    conn.execute("""CREATE TABLE marts.hs_concordance (from_version VARCHAR, from_code VARCHAR, to_version VARCHAR,
                    to_code VARCHAR, weight DOUBLE)""")
    build(conn, "marts.fta_tariff_lines")
