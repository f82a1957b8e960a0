"""CPFTA Phase II: category paths, schedule validation, hand-computed indicators, sample calibration, import."""

import re

import duckdb
import pandas as pd

import pytest
from click.testing import CliRunner

from tradeflow.cli import main
from tradeflow.fta.schedule import (
    ScheduleError,
    check_hs2017_conversion,
    load_categories,
    read_schedule,
    validate_schedule,
)
from dbt_models import build

CATS = load_categories()


def schedule_df(rows):
    return pd.DataFrame(rows, columns=["tariff_line", "description", "base_rate", "category"]).astype(str)


GOOD = [("52051200", "cotton yarn", "5", "A0"), ("1006.30.10", "rice", "65", "E")]


@pytest.mark.parametrize("bad,field,fragment", [
    (("5205120", "x", "5", "A0"), "tariff_line", "not an 8-digit"),
    (("52051200", "dup", "5", "A0"), "tariff_line", "appears twice"),
    (("52051300", "x", "1200", "A0"), "base_rate", "outside 0–1000"),
    (("52051300", "x", "five", "A0"), "base_rate", "not a number"),
    (("52051300", "x", "5", "Z9"), "category", "not a CHN category"),
    (("99999900", "x", "5", "A0"), "tariff_line", "not in the declared HS version"),
])
def test_validation_names_row_and_field(bad, field, fragment):
    with pytest.raises(ScheduleError) as err:
        validate_schedule(schedule_df(GOOD + [bad]), "CHN", CATS["CHN"], {"520512", "520513", "100630"}, "f.csv")
    assert f"row 4, field {field}" in str(err.value) and fragment in str(err.value)


def test_valid_schedule_is_normalised():
    out = validate_schedule(schedule_df(GOOD), "CHN", CATS["CHN"], {"520512", "100630"}, "f.csv")
    assert list(out["tariff_line"]) == ["52051200", "10063010"] and list(out["base_rate"]) == [5.0, 65.0]


def test_bad_category_tables_are_rejected(tmp_path):
    from tradeflow.errors import ConfigError

    p = tmp_path / "c.yaml"
    p.write_text("CHN:\n  L: {kind: linear}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: CHN\.L: a linear category needs years"):
        load_categories(p)
    p.write_text("CHN:\n  L: {kind: sometimes}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: CHN\.L: kind: Input should be 'immediate', 'linear'"):
        load_categories(p)


def hand_warehouse():
    """20 lines of Pakistan's schedule with known rates, MFN = base (no WITS), hand-made trade."""
    lines = [(f"8471{i:02d}00", "C1" if i < 8 else "C2" if i < 12 else "P" if i < 15 else "S", 10.0 if i % 2 else 20.0)
             for i in range(20)]
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA staging; CREATE SCHEMA marts")
    conn.register("fta_schedule_frame", pd.DataFrame(
        [("PAK", l, "", r, c, "HS2017", "test", False) for l, c, r in lines],
        columns=["party", "tariff_line", "description", "base_rate", "category", "hs_version", "source", "is_sample"]))
    cats = load_categories()["PAK"]
    conn.register("fta_categories_frame", pd.DataFrame(
        [("PAK", c.code, c.kind, c.years, c.cut, c.label, c.first_cut_offset, 2019) for c in cats.values()],
        columns=["party", "category", "kind", "years", "cut", "label", "first_cut_offset", "base_rate_year"]))
    build(conn, "raw.fta_schedule")
    build(conn, "raw.fta_categories")
    conn.execute("CREATE TABLE staging.tariffs (importer VARCHAR, partner VARCHAR, year INT, hs6 VARCHAR, "
                 "hs_version VARCHAR, tariff_type VARCHAR, rate_pct DOUBLE, rate_basis VARCHAR, is_sample BOOLEAN, "
                 "rated_lines INTEGER, ad_valorem_lines_rate_pct DOUBLE, ad_valorem_lines INTEGER)")
    conn.execute("CREATE TABLE marts.hs_concordance (from_version VARCHAR, to_version VARCHAR, from_code VARCHAR, to_code VARCHAR)")
    # Pakistan's imports from China, HS2017, base year 2019 and 2020: one HS6 per line pair
    conn.execute("""CREATE TABLE marts.trade_flows_hs2017 AS SELECT * FROM (VALUES
        ('PAK','CHN','M','A',2019,'847100',100.0), ('PAK','CHN','M','A',2019,'847112',300.0),
        ('PAK','CHN','M','A',2019,'847119',600.0), ('PAK','CHN','M','A',2019,'999999',1000.0),
        ('PAK','CHN','M','A',2020,'847100',50.0), ('PAK','CHN','M','A',2020,'847119',150.0))
        t(reporter, partner, flow, freq, year, hs6_2017, value_usd), (SELECT false AS is_sample)""")
    build(conn, "marts.fta_tariff_lines")
    build(conn, "marts.fta_indicators", base_year=2019)
    return conn, lines


def test_hand_made_schedule_gives_hand_computed_indicators():
    conn, lines = hand_warehouse()
    r = conn.execute("SELECT * FROM marts.fta_indicators WHERE year = 2020").df().iloc[0]
    # year 0: C1 (lines 0–7) at zero; C2 (8–11, 7 years) cut by 1/7; P (12–14) cut by 20 %; S (15–19) unchanged
    pref = [0.0 if i < 8 else b * 6 / 7 if i < 12 else b * 0.8 if i < 15 else b for i, (_, _, b) in enumerate(lines)]
    mfn = [b for _, _, b in lines]
    assert r["lines_total"] == 20 and r["lines_zero"] == 8 and r["share_lines_zero"] == pytest.approx(0.4)
    assert r["avg_pref_simple_pct"] == pytest.approx(sum(pref) / 20)
    assert r["avg_mfn_simple_pct"] == pytest.approx(sum(mfn) / 20)
    # each line is its own HS6: 847100 = line 0 (C1, 20 % → 0), 847112 = line 12 (P, 20 → 16), 847119 = line 19 (S, 10)
    # weights 100, 300, 600 (base-year imports); 1,000 more imported on a line outside the schedule
    assert r["avg_pref_weighted_pct"] == pytest.approx((100 * 0 + 300 * 16 + 600 * 10) / 1000)  # 10.8
    assert r["avg_mfn_weighted_pct"] == pytest.approx((100 * 20 + 300 * 20 + 600 * 10) / 1000)  # 14.0
    assert r["margin_weighted_pp"] == pytest.approx((100 * 20 + 300 * 4 + 600 * 0) / 1000)  # 3.2
    assert r["trade_coverage_zero"] == pytest.approx(100.0 / 2000.0)  # the zero line carries 100 of all 2,000 imported
    assert r["imports_liberalised_usd"] == pytest.approx(50.0) and r["imports_not_liberalised_usd"] == pytest.approx(150.0)
    # C2 lines (7 equal cuts from 2020) reach zero on 1 January 2026
    nz = dict(conn.execute("SELECT year, lines_zero_next_jan FROM marts.fta_indicators").fetchall())
    assert nz[2025] == 4 and nz[2024] == 0 and nz[2026] == 0
    margins = conn.execute("SELECT margin_pp, margin_relative FROM marts.fta_tariff_lines "
                           "WHERE tariff_line = '84711200' AND year = 2020").fetchall()[0]
    assert margins == (pytest.approx(20 - 16), pytest.approx(0.2))


def fta_db(schedule, mfn, concordance):
    """raw schedule + categories, WITS MFN rates (importer, year, hs6, hs_version, rate) and a concordance
    (from_version, from_code, HS2017 to_code): what marts.fta_tariff_lines reads, made by hand."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA staging; CREATE SCHEMA marts")
    conn.register("fta_schedule_frame", pd.DataFrame(
        [(*line, "t.csv", False) for line in schedule],
        columns=["party", "tariff_line", "description", "base_rate", "category", "hs_version", "source", "is_sample"]))
    conn.register("fta_categories_frame", pd.DataFrame(
        [(p, c.code, c.kind, c.years, c.cut, c.label, c.first_cut_offset, 2019) for p in ("CHN", "PAK")
         for c in CATS[p].values()],
        columns=["party", "category", "kind", "years", "cut", "label", "first_cut_offset", "base_rate_year"]))
    build(conn, "raw.fta_schedule")
    build(conn, "raw.fta_categories")
    conn.execute("CREATE TABLE staging.tariffs AS SELECT importer, 'WLD' AS partner, year, hs6, hs_version, 'MFN' AS "
                 "tariff_type, rate_pct, 'ad_valorem' AS rate_basis, false AS is_sample, 1 AS rated_lines, "
                 "rate_pct AS ad_valorem_lines_rate_pct, 1 AS ad_valorem_lines FROM (VALUES "
                 + ", ".join(str(r) for r in mfn) + ") t(importer, year, hs6, hs_version, rate_pct)")
    conn.execute("CREATE TABLE marts.hs_concordance AS SELECT from_version, 'HS2017' AS to_version, from_code, to_code "
                 "FROM (VALUES " + ", ".join(str(r) for r in concordance) + ") t(from_version, from_code, to_code)")
    return conn


def test_a_schedule_in_hs2022_is_priced_and_weighted_on_its_hs2017_code():
    """China's line 85076000 imported with --hs-version HS2022: its HS6 850760 (Li-ion accumulators, new in HS2022)
    is HS2017 850780. Base rate 10 (2019 = base-rate year, WITS HS2017 850780 at 10 %); WITS reports 6 % in 2022 on
    HS2022 850760. By hand: line MFN 2022 = 10 + 6 − 10 = 6 %; the line weighs with HS2017 850780 imports (2,000
    of 3,000 in 2022). The first six digits taken as HS2017 (the defect) find neither rate nor trade."""
    conn = fta_db([("CHN", "85076000", "Li-ion accumulators", 10.0, "A0", "HS2022"),
                   ("CHN", "52051200", "cotton yarn", 5.0, "E", "HS2022")],
                  [("CHN", 2019, "850780", "HS2017", 10.0), ("CHN", 2022, "850760", "HS2022", 6.0)],
                  [("HS2022", "850760", "850780"), ("HS2022", "520512", "520512")])
    conn.execute("""CREATE TABLE marts.trade_flows_hs2017 AS SELECT * FROM (VALUES
        ('CHN','PAK','M','A',2019,'850780',1000.0), ('CHN','PAK','M','A',2022,'850780',2000.0),
        ('CHN','PAK','M','A',2019,'520512',1000.0), ('CHN','PAK','M','A',2022,'520512',1000.0))
        t(reporter, partner, flow, freq, year, hs6_2017, value_usd), (SELECT false AS is_sample)""")
    build(conn, "marts.fta_tariff_lines")
    build(conn, "marts.fta_indicators", base_year=2019)
    got = conn.execute("""SELECT tariff_line, schedule_hs_version, schedule_hs6, hs6, mfn_rate_pct, mfn_source
                          FROM marts.fta_tariff_lines WHERE year = 2022 ORDER BY 1""").fetchall()
    assert got == [("52051200", "HS2022", "520512", "520512", 5.0, "base_rate"),
                   ("85076000", "HS2022", "850760", "850780", 6.0, "base_rate_moved_by_wits_hs6")]
    r = conn.execute("SELECT trade_coverage_zero, imports_liberalised_usd FROM marts.fta_indicators "
                     "WHERE importer = 'CHN' AND year = 2022").fetchall()[0]
    assert r == (pytest.approx(0.5), pytest.approx(2000.0))


def test_a_base_year_that_trains_reports_in_hs2012_is_mapped_to_hs2017():
    """WITS sends Pakistan's base-rate year 2019 in H4 (HS2012): heading 440310 at 10 %, which HS2017 split into
    440311 and 440312. 2021 comes in H5 at 4 % on 440311. By hand, line 44031100 (base 20 %): MFN 2021 = 20 + 4 − 10
    = 14 %. Read as if HS2012 codes were HS2017, 440311 has no base-year rate and the base rate (20) stands in."""
    conn = fta_db([("PAK", "44031100", "wood, treated", 20.0, "S", "HS2017")],
                  [("PAK", 2019, "440310", "HS2012", 10.0), ("PAK", 2021, "440311", "HS2017", 4.0)],
                  [("HS2012", "440310", "440311"), ("HS2012", "440310", "440312")])
    build(conn, "marts.fta_tariff_lines")
    got = conn.execute("SELECT mfn_rate_pct, mfn_source FROM marts.fta_tariff_lines WHERE year = 2021").fetchall()
    assert got == [(14.0, "base_rate_moved_by_wits_hs6")]


def test_a_schedule_line_without_one_hs2017_code_is_refused_by_name(tmp_path):
    snapshot = tmp_path / "tradeflow.duckdb"
    conn = duckdb.connect(str(snapshot))
    conn.execute("CREATE SCHEMA marts")
    conn.execute("CREATE TABLE marts.hs_concordance AS SELECT * FROM (VALUES ('HS2022', 'HS2017', '850760', '850780', "
                 "'1:1', false), ('HS2022', 'HS2017', '030111', '030110', '1:n', true), ('HS2022', 'HS2017', '030111', "
                 "'030119', '1:n', true)) t(from_version, to_version, from_code, to_code, relationship, is_ambiguous)")
    conn.close()
    lines = lambda *codes: pd.DataFrame({"tariff_line": list(codes)})  # noqa: E731
    check_hs2017_conversion(snapshot, "HS2022", lines("85076000"), "f.csv")  # one target: accepted
    check_hs2017_conversion(snapshot, "HS2017", lines("99999999"), "f.csv")  # HS2017: nothing to convert
    with pytest.raises(ScheduleError, match=r"f.csv: tariff line '03011100': HS2022 HS6 030111 converts to 2 HS2017 "
                                            r"codes \(030110, 030119\) \(and 1 more lines\)"):
        check_hs2017_conversion(snapshot, "HS2022", lines("85076000", "03011100", "12345600"), "f.csv")
    with pytest.raises(ScheduleError, match="'12345600': HS2022 HS6 123456 has no HS2017 conversion"):
        check_hs2017_conversion(snapshot, "HS2022", lines("12345600"), "f.csv")


def test_sample_line_shares_match_the_published_structure(sample_home):
    home, _, _ = sample_home
    conn = duckdb.connect(str(home / "published" / "tradeflow.duckdb"), read_only=True)
    share = {(i, y): s for i, y, s in conn.execute("SELECT importer, year, share_lines_zero FROM marts.fta_indicators").fetchall()}
    assert abs(share[("CHN", 2020)] - 0.45) <= 0.01 and abs(share[("CHN", 2030)] - 0.75) <= 0.01
    assert abs(share[("PAK", 2020)] - 0.45) <= 0.01 and abs(share[("PAK", 2035)] - 0.75) <= 0.01
    chn = [share[("CHN", y)] for y in range(2020, 2036)]
    assert chn == sorted(chn)  # the path never goes back
    cats = dict(conn.execute("SELECT category, count(*) FROM raw.fta_schedule WHERE party='PAK' GROUP BY 1").fetchall())
    assert cats["P"] == 350 and cats["S"] == 1410
    assert conn.execute("SELECT count(*) FROM raw.fta_schedule WHERE party='CHN' AND description LIKE '%priority%' "
                        "AND category='A0'").fetchall()[0][0] == 313
    opp = conn.execute("SELECT hs6, rca, rca_status, indicative_potential_usd FROM marts.fta_opportunities ORDER BY rank").fetchall()
    assert opp and all(o[2] == "ok" and o[1] > 0 for o in opp) and opp[0][3] >= opp[-1][3]
    assert conn.execute("SELECT bool_and(is_sample) FROM marts.fta_tariff_lines").fetchall()[0][0] is True
    conn.close()


@pytest.fixture
def published_home(sample_home, tmp_path, monkeypatch):
    """A home holding only a copy of the sample's published warehouse (what `schedule import` validates against)."""
    import shutil

    work = tmp_path / "home"
    shutil.copytree(sample_home[0] / "published", work / "published")
    monkeypatch.setenv("TRADEFLOW_HOME", str(work))
    return work


def test_import_rejects_a_bad_file_and_keeps_the_previous_schedule(published_home, tmp_path):
    work = published_home
    good = tmp_path / "chn.csv"
    good.write_text("tariff_line,description,base_rate,category\n52051200,yarn,5,A0\n10063010,rice,65,E\n")
    r = CliRunner().invoke(main, ["schedule", "import", str(good), "--party", "CHN"])
    assert r.exit_code == 0, r.output
    stored = (work / "schedules" / "CHN.csv").read_text()
    bad = tmp_path / "bad.xlsx"
    pd.DataFrame({"tariff_line": ["52051200", "1006301"], "description": ["a", "b"], "base_rate": [5, 65],
                  "category": ["A0", "E"]}).to_excel(bad, index=False)
    r = CliRunner().invoke(main, ["schedule", "import", str(bad), "--party", "CHN"])
    assert r.exit_code == 1 and "row 3, field tariff_line" in r.output and "'1006301'" in r.output
    assert (work / "schedules" / "CHN.csv").read_text() == stored
    df = read_schedule(good)
    assert list(df.columns) == ["tariff_line", "description", "base_rate", "category"]


def test_import_of_an_hs2022_schedule_stores_its_version(published_home, tmp_path):
    work = published_home
    f = tmp_path / "chn2022.csv"
    f.write_text("tariff_line,description,base_rate,category\n08029100,pine nuts in shell,10,A0\n")
    r = CliRunner().invoke(main, ["schedule", "import", str(f), "--party", "CHN", "--hs-version", "HS2022"])
    assert r.exit_code == 0, r.output
    stored = pd.read_csv(work / "schedules" / "CHN.csv", dtype=str)
    assert stored[["tariff_line", "hs_version"]].values.tolist() == [["08029100", "HS2022"]]


# The rate formula exists once, as the dbt macro scheduled_rate (sql/macros/fta.sql) that
# marts.fta_tariff_lines uses; these are the hand-computed paths the removed Python copy was tested on.
@pytest.mark.parametrize("kind,base,years,cut,offset,path", [
    ("linear", 10, 10, None, 0, {0: 9, 1: 8, 8: 1, 9: 0, 10: 0, 11: 0}),
    ("linear", 10, 10, None, 1, {0: 10, 1: 9, 9: 1, 10: 0}),
    ("linear", 12, 7, None, 0, {0: 12 * 6 / 7, 1: 12 * 5 / 7, 6: 0, 7: 0, 8: 0}),
    ("partial", 12, None, 0.2, 0, {0: 9.6, 1: 9.6, 7: 9.6, 8: 9.6}),
    ("immediate", 12, None, None, 0, {0: 0, 1: 0}),
    ("excluded", 12, None, None, 0, {0: None, 1: None, 15: None}),  # NULL: the line pays MFN
])
def test_scheduled_rate_macro_follows_each_category(kind, base, years, cut, offset, path):
    from dbt_models import render_sql

    sql = render_sql("SELECT t, {{ scheduled_rate('kind', 'base', 'years', 'cut', 'off', 't') }} AS rate "
                     "FROM (SELECT ?::VARCHAR AS kind, ?::DOUBLE AS base, ?::INTEGER AS years, ?::DOUBLE AS cut, "
                     "?::INTEGER AS off) CROSS JOIN (SELECT unnest(?::INTEGER[]) AS t) ORDER BY t")
    got = dict(duckdb.connect().execute(sql, [kind, base, years, cut, offset, list(path)]).fetchall())
    assert got == {t: (pytest.approx(v, abs=1e-6) if v is not None else None) for t, v in path.items()}


# -- review of the schedule import: category tables per party, codes read back as text, %-formatted cells, n:n lines --

def test_stored_schedule_reads_category_codes_and_descriptions_back_as_text(tmp_path):
    """Codes '01', '05' and 'NA', 'N/A', 'NULL' validate against a table that has them; read back from the stored CSV
    they must stay those codes (read as numbers/NaN they match no category and the model drops their lines)."""
    from tradeflow.fta.schedule import Category, stored_schedules, store_schedule

    codes = ["01", "05", "NA", "N/A", "NULL"]
    cats = {c: Category(c, "immediate") for c in codes}
    df = schedule_df([(f"520512{i:02d}", d, "5", c) for i, (c, d) in enumerate(zip(codes, ["NA", "", "NULL", "x", "1"]))])
    store_schedule(tmp_path, "CHN", validate_schedule(df, "CHN", cats, None, "f.csv"), "HS2017", "f.csv")
    back = stored_schedules(tmp_path)
    assert back["category"].tolist() == codes
    assert back["description"].tolist() == ["NA", "", "NULL", "x", "1"]
    assert back["base_rate"].tolist() == [5.0] * 5 and back["tariff_line"].iloc[0] == "52051200"


CHN_ONLY = "CHN:\n  X0: {kind: immediate}\n  X5: {kind: linear, years: 5}\n"


def priced(home):
    """schedules_frame's lines and categories, asserting every line found its party's category."""
    from tradeflow.fta.schedule import schedules_frame

    lines, cats = schedules_frame(home)
    joined = lines.merge(cats, on=["party", "category"], how="left", indicator=True)
    assert (joined["_merge"] == "both").all(), joined[joined["_merge"] != "both"][["party", "tariff_line", "category"]]
    return lines, cats


def test_each_party_is_priced_with_the_category_table_it_was_imported_with(published_home, tmp_path):
    """CHN imported with its own (CHN-only) table, PAK with the built-in one: each keeps its table. Saved as one
    schedules/categories.yaml for both parties, PAK's lines found no category and vanished from the marts."""
    work = published_home
    (tmp_path / "cats.yaml").write_text(CHN_ONLY)
    (tmp_path / "chn.csv").write_text("tariff_line,description,base_rate,category\n52051200,yarn,5,X0\n10063010,rice,65,X5\n")
    (tmp_path / "pak.csv").write_text("tariff_line,description,base_rate,category\n52051200,yarn,11,C2\n10063010,rice,20,S\n")
    r = CliRunner().invoke(main, ["schedule", "import", str(tmp_path / "chn.csv"), "--party", "CHN",
                                  "--categories", str(tmp_path / "cats.yaml")])
    assert r.exit_code == 0, r.output
    lines, cats = priced(work)  # PAK still on the sample, priced with the built-in table
    assert set(lines[lines["party"] == "PAK"]["is_sample"]) == {True}
    r = CliRunner().invoke(main, ["schedule", "import", str(tmp_path / "pak.csv"), "--party", "PAK"])
    assert r.exit_code == 0, r.output
    lines, cats = priced(work)
    assert lines["party"].value_counts().to_dict() == {"CHN": 2, "PAK": 2}
    assert set(cats[cats["party"] == "CHN"]["category"]) == {"X0", "X5"}
    assert set(cats[cats["party"] == "PAK"]["category"]) == {"C1", "C2", "C3", "P", "S"}
    # CHN imported again without --categories: validated against the built-in table, so priced with it
    (tmp_path / "chn.csv").write_text("tariff_line,description,base_rate,category\n52051200,yarn,5,A0\n10063010,rice,65,E\n")
    r = CliRunner().invoke(main, ["schedule", "import", str(tmp_path / "chn.csv"), "--party", "CHN"])
    assert r.exit_code == 0, r.output
    lines, cats = priced(work)
    assert set(cats[cats["party"] == "CHN"]["category"]) == {"A0", "A5", "A10", "P", "E"}


def test_a_schedule_store_that_fails_keeps_the_old_table_with_the_old_schedule(published_home, tmp_path, monkeypatch):
    """The schedule is stored only after its category table is staged, and the table kept only once the schedule is:
    a disk error storing CHN.csv left the new categories.CHN.yaml beside the old CHN.csv (its lines then priced with
    the new table, exit 0). Now neither changes, and no temporary file stays."""
    from tradeflow.fta import schedule

    folder = published_home / "schedules"
    (tmp_path / "cats.yaml").write_text(CHN_ONLY)
    (tmp_path / "chn.csv").write_text("tariff_line,description,base_rate,category\n52051200,yarn,5,X0\n")

    def full_disk(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(schedule, "store_schedule", full_disk)
    r = CliRunner().invoke(main, ["schedule", "import", str(tmp_path / "chn.csv"), "--party", "CHN",
                                  "--categories", str(tmp_path / "cats.yaml")])
    assert r.exit_code != 0
    assert not (folder / "categories.CHN.yaml").exists() and not (folder / "CHN.csv").exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")] if folder.exists() else True


def test_a_legacy_shared_category_table_prices_the_party_it_has(published_home, tmp_path):
    """schedules/categories.yaml saved by an earlier tradeflow (one table for both parties, here CHN only): CHN keeps
    it, PAK (not in it) uses the built-in table; the next import retires it into categories.CHN.yaml."""
    from tradeflow.fta.schedule import store_schedule

    work = published_home
    (work / "schedules").mkdir()
    (work / "schedules" / "categories.yaml").write_text(CHN_ONLY)
    chn = validate_schedule(schedule_df([("52051200", "yarn", "5", "X5")]), "CHN", load_categories(
        work / "schedules" / "categories.yaml")["CHN"], None, "chn.csv")
    store_schedule(work, "CHN", chn, "HS2017", "chn.csv")
    store_schedule(work, "PAK", validate_schedule(schedule_df([("52051200", "yarn", "11", "C2")]), "PAK", CATS["PAK"],
                                                  None, "pak.csv"), "HS2017", "pak.csv")
    lines, cats = priced(work)
    assert set(cats[cats["party"] == "CHN"]["category"]) == {"X0", "X5"} and len(lines) == 2
    (tmp_path / "pak.csv").write_text("tariff_line,description,base_rate,category\n52051200,yarn,11,C3\n")
    r = CliRunner().invoke(main, ["schedule", "import", str(tmp_path / "pak.csv"), "--party", "PAK"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (work / "schedules").glob("categories*")) == ["categories.CHN.yaml"]
    lines, cats = priced(work)
    assert set(cats[cats["party"] == "CHN"]["category"]) == {"X0", "X5"} and len(lines) == 2


def test_a_stored_line_whose_category_the_table_lacks_fails_the_refresh_by_name(tmp_path):
    """Never priced without its category (the marts' join would drop it): the refresh stops naming party, category
    and the table."""
    from tradeflow.fta.schedule import schedules_frame, store_schedule

    cats = {**CATS["PAK"], "X9": CATS["PAK"]["C1"]}
    df = schedule_df([("52051200", "yarn", "11", "C2"), ("10063010", "rice", "20", "X9")])
    store_schedule(tmp_path, "PAK", validate_schedule(df, "PAK", cats, None, "pak.csv"), "HS2017", "pak.csv")
    with pytest.raises(ScheduleError, match=r"PAK\.csv: row 3: PAK line '10063010' has category 'X9', which is not "
                                            r"in the PAK category table in use \(categories\.yaml \(built in\)\)"):
        schedules_frame(tmp_path)


def test_a_schedule_line_without_its_category_stays_in_the_mart_and_fails_its_grain_test():
    """fta_tariff_lines keeps a line whose category the table lacks (kind NULL), and its grain test fails on it:
    an inner join dropped it without a word."""
    import yaml

    from dbt_models import project_dir

    conn = fta_db([("PAK", "52051200", "yarn", 11.0, "C2", "HS2017"), ("PAK", "10063010", "rice", 20.0, "Z9", "HS2017")],
                  [("PAK", 2019, "520512", "HS2017", 11.0)], [("HS2022", "000000", "000000")])
    build(conn, "marts.fta_tariff_lines")
    assert conn.execute("SELECT count(*) FROM marts.fta_tariff_lines WHERE tariff_line = '10063010' AND kind IS NULL"
                        ).fetchone()[0] == 16
    schema = yaml.safe_load((project_dir() / "models" / "marts" / "_schema.yml").read_text())
    model = next(m for m in schema["models"] if m["name"] == "fta_tariff_lines")
    assert "kind" in model["data_tests"][0]["grain"]["arguments"]["not_null"]


def percent_workbook(path, rows, percent_rows=()):
    """A workbook whose base_rate cells in ``percent_rows`` (file rows) are formatted as percentages ('0%')."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["tariff_line", "description", "base_rate", "category"])
    for row in rows:
        wb.active.append(list(row))
    for r in percent_rows:
        wb.active.cell(row=r, column=3).number_format = "0%"
    wb.save(path)
    return path


def test_percent_formatted_xlsx_rates_are_read_as_the_percent_shown(tmp_path):
    """Excel shows 5 %, 10 %, 120 %, 7.5 % for cells formatted '0%' holding 0.05, 0.1, 1.2, 0.075: rates are percent,
    so they load as 5, 10, 120, 7.5 (exactly), not 0.05 % … with no warning since one is above 1."""
    from tradeflow.fta.schedule import fraction_warning

    p = percent_workbook(tmp_path / "pak.xlsx", [("03038900", "fish", 0.05, "C1"), ("52051200", "yarn", 0.1, "C2"),
                                                 ("87042100", "trucks", 1.2, "S"), ("84713000", "laptops", 0.075, "P")],
                         percent_rows=range(2, 6))
    clean = validate_schedule(read_schedule(p), "PAK", CATS["PAK"], None, str(p))
    assert clean["base_rate"].tolist() == [5.0, 10.0, 120.0, 7.5] and fraction_warning(clean, str(p)) is None
    mixed = percent_workbook(tmp_path / "mixed.xlsx", [("03038900", "fish", "25%", "C1"), ("52051200", "yarn", 0.05, "C2"),
                                                      ("84713000", "laptops", 8, "C3")], percent_rows=[3])
    assert validate_schedule(read_schedule(mixed), "PAK", CATS["PAK"], None, "m")["base_rate"].tolist() == [25.0, 5.0, 8.0]


def test_rows_with_every_field_empty_are_ignored(tmp_path):
    """Trailing empty rows (',,,' in CSV; cells a spreadsheet left formatted in XLSX) are not schedule lines."""
    import openpyxl

    f = tmp_path / "chn.csv"
    f.write_text("tariff_line,description,base_rate,category\n52051200,yarn,5,A0\n,,,\n10063010,rice,65,E\n,,,\n , ,,\n")
    assert validate_schedule(read_schedule(f), "CHN", CATS["CHN"], None, str(f))["tariff_line"].tolist() == [
        "52051200", "10063010"]
    book = percent_workbook(tmp_path / "chn.xlsx", [("52051200", "yarn", 5, "A0")])
    wb = openpyxl.load_workbook(book)
    wb.active.cell(row=5, column=3).number_format = "0%"  # an empty, formatted cell makes rows 3–5 part of the sheet
    wb.save(book)
    assert len(validate_schedule(read_schedule(book), "CHN", CATS["CHN"], None, str(book))) == 1
    f.write_text("tariff_line,description,base_rate,category\n52051200,yarn,5,A0\n,,,\n10063010,rice,,E\n")
    with pytest.raises(ScheduleError, match="row 4, field base_rate"):  # row numbers stay those of the file
        validate_schedule(read_schedule(f), "CHN", CATS["CHN"], None, str(f))



def test_an_hs2022_line_with_an_ambiguous_hs2017_relation_is_refused(tmp_path):
    """HS2022 852411 (flat-panel display modules) is n:n with HS2017 851712 in the UNSD correlation: its only
    conversion target is not its own heading, so the line would be priced and weighted as smartphones."""
    snapshot = tmp_path / "tradeflow.duckdb"
    conn = duckdb.connect(str(snapshot))
    conn.execute("CREATE SCHEMA marts")
    conn.execute("CREATE TABLE marts.hs_concordance AS SELECT * FROM (VALUES"
                 " ('HS2022', 'HS2017', '851713', '851712', 'n:1', false),"
                 " ('HS2022', 'HS2017', '852411', '851712', 'n:n', true),"
                 " ('HS2022', 'HS2017', '030389', '030389', '1:1', false))"
                 " t(from_version, to_version, from_code, to_code, relationship, is_ambiguous)")
    conn.close()
    lines = lambda *codes: pd.DataFrame({"tariff_line": list(codes)})  # noqa: E731
    check_hs2017_conversion(snapshot, "HS2022", lines("85171300", "03038900"), "f.csv")  # n:1 and 1:1: accepted
    with pytest.raises(ScheduleError, match=r"f.csv: tariff line '85241100': HS2022 HS6 852411 has no clean HS2017 "
                                            r"equivalent: the UNSD correlation with HS2017 851712 is n:n.*split"):
        check_hs2017_conversion(snapshot, "HS2022", lines("85171300", "85241100"), "f.csv")


def test_import_refuses_an_hs2022_line_without_a_clean_hs2017_equivalent(published_home, tmp_path):
    f = tmp_path / "pak2022.csv"
    f.write_text("tariff_line,description,base_rate,category\n85171300,smartphones,20,C1\n85241100,display modules,20,S\n")
    r = CliRunner().invoke(main, ["schedule", "import", str(f), "--party", "PAK", "--hs-version", "HS2022"])
    assert r.exit_code == 1 and "'85241100'" in r.output and "n:n" in r.output, r.output
    assert not (published_home / "schedules" / "PAK.csv").exists()


def test_known_trade_carrying_lines_of_an_hs2022_schedule_are_found_on_their_hs2017_heading(sample_home, tmp_path):
    """China's schedule with its 080290 lines filed in HS2022 as 080292 (HS2017 080290), the trade-carrying line
    08029000 → 08029200. The opportunity of heading 080290 is the same as with the HS2017 schedule (main keyed the
    known line on its own digits, 080292, lost it, judged every line of the heading and dropped the row)."""
    import shutil

    import duckdb

    from dbt_models import build

    db = tmp_path / "w.duckdb"
    shutil.copy(sample_home[0] / "published" / "tradeflow.duckdb", db)
    conn = duckdb.connect(str(db))
    q = "SELECT hs6, trade_lines, pref_rate_pct, share_lines_zero FROM marts.fta_opportunities WHERE hs6 = '080290'"
    before = conn.execute(q).fetchall()
    assert len(before) == 1
    conn.execute("""UPDATE raw.fta_schedule SET tariff_line = '080292' || substr(tariff_line, 7), hs_version = 'HS2022'
                    WHERE party = 'CHN' AND tariff_line LIKE '080290%'""")
    conn.execute("UPDATE raw.fta_traded_lines SET tariff_line = '08029200' WHERE importer = 'CHN' AND tariff_line = '08029000'")
    assert conn.execute("SELECT count(*) FROM raw.fta_traded_lines WHERE tariff_line = '08029200'").fetchone()[0] == 1
    assert conn.execute("SELECT to_code FROM marts.hs_concordance WHERE from_version = 'HS2022' AND from_code = '080292' "
                        "AND to_version = 'HS2017'").fetchall() == [("080290",)]
    for model in ("marts.fta_tariff_lines", "marts.fta_opportunities"):
        build(conn, model)
    assert conn.execute(q).fetchall() == before


def test_rca_takes_world_products_and_world_total_from_the_same_reporters(sample_home, tmp_path):
    """Bangladesh's 2024 total is missing while its products are there. Balassa's world share of k then comes from the
    reporters with both: by hand (x_PAK,k / X_PAK) / (Σ x_r,k / Σ X_r) over those reporters. An earlier main summed
    the left-out reporter's products over the others' totals (030389: 30.32 where the consistent RCA was 40.29 with the
    USA left out). Bangladesh carries 0.5 % of the sample's world exports, under the 1 % an RCA may leave out."""
    import shutil

    import duckdb

    from dbt_models import build

    db = tmp_path / "w.duckdb"
    shutil.copy(sample_home[0] / "published" / "tradeflow.duckdb", db)
    conn = duckdb.connect(str(db))
    year = conn.execute("SELECT max(year) FROM marts.fta_opportunities").fetchone()[0]
    before = dict(conn.execute("SELECT hs6, rca FROM marts.fta_opportunities WHERE rca IS NOT NULL").fetchall())
    assert before
    conn.execute("DELETE FROM marts.world_exports WHERE reporter = 'BGD' AND hs6 = 'TOTAL' AND year = ?", [year])
    for model in ("marts.world_coverage", "marts.fta_opportunities"):
        build(conn, model)
    assert conn.execute("SELECT left_out, round(left_out_share, 4) FROM marts.world_coverage "
                        "WHERE flow = 'X' AND year = ?", [year]).fetchone() == ("BGD", 0.0054)
    got = dict(conn.execute("SELECT hs6, rca FROM marts.fta_opportunities WHERE rca IS NOT NULL").fetchall())
    expected = dict(conn.execute("""
        WITH w AS (SELECT * FROM marts.world_exports WHERE year = ? AND reporter <> 'BGD'),
        tot AS (SELECT sum(value_usd) FILTER (WHERE hs6 = 'TOTAL') AS world,
                       sum(value_usd) FILTER (WHERE hs6 = 'TOTAL' AND reporter = 'PAK') AS pak FROM w)
        SELECT w.hs6, (sum(w.value_usd) FILTER (WHERE w.reporter = 'PAK') / min(tot.pak)) / (sum(w.value_usd) / min(tot.world))
        FROM w, tot WHERE w.hs6 <> 'TOTAL' GROUP BY w.hs6""", [year]).fetchall())
    assert set(got) == set(before)
    assert got == {k: pytest.approx(expected[k], rel=1e-9) for k in got}


def _rca_by_hand(conn, year: int) -> dict:
    """Balassa RCA of every line in ``year`` over the reporters with both products and total, from world_exports."""
    return dict(conn.execute("""
        WITH c AS (SELECT reporter FROM marts.world_exports WHERE year = ? GROUP BY reporter
                   HAVING bool_or(hs6 = 'TOTAL') AND bool_or(hs6 <> 'TOTAL')),
        w AS (SELECT * FROM marts.world_exports WHERE year = ? AND reporter IN (SELECT reporter FROM c)),
        tot AS (SELECT sum(value_usd) FILTER (WHERE hs6 = 'TOTAL') AS world,
                       sum(value_usd) FILTER (WHERE hs6 = 'TOTAL' AND reporter = 'PAK') AS pak FROM w)
        SELECT w.hs6, (coalesce(sum(w.value_usd) FILTER (WHERE w.reporter = 'PAK'), 0) / min(tot.pak))
                      / (sum(w.value_usd) / min(tot.world))
        FROM w, tot WHERE w.hs6 <> 'TOTAL' GROUP BY w.hs6""", [year, year]).fetchall())


def _read_in(rows, year: int, expected: dict) -> list:
    """Every line's RCA is read in ``year``: as by hand where the line has world exports that year, else none, said so;
    returns the rows read."""
    assert rows and {y for _, _, y, _ in rows} == {year}
    none = [(k, r, st) for k, r, _, st in rows if k not in expected]
    assert none == [(k, None, f"unavailable: no world exports of the line in {year}") for k, *_ in none]
    read = [row for row in rows if row[0] in expected]
    assert read and {k: r for k, r, _, _ in read} == {k: pytest.approx(expected[k], rel=1e-9) for k, *_ in read}
    return read


def _sample_copy(sample_home, tmp_path):
    import shutil

    import duckdb

    db = tmp_path / "w.duckdb"
    shutil.copy(sample_home[0] / "published" / "tradeflow.duckdb", db)
    conn = duckdb.connect(str(db))
    return conn, conn.execute("SELECT max(year) FROM marts.fta_opportunities").fetchone()[0]


def _rebuild_rca(conn):
    from dbt_models import build

    for model in ("marts.world_coverage", "marts.fta_opportunities"):
        build(conn, model)
    return conn.execute("SELECT hs6, rca, rca_year, rca_status FROM marts.fta_opportunities").fetchall()


def test_rca_is_not_read_against_a_world_missing_a_large_exporter(sample_home, tmp_path):
    """The USA's 2024 total is missing (its products are there), or all of its rows are (a code of its HS2022 year
    with no HS2017 mapping leaves it out of marts.world_exports whole): 2024's world lacks 24.7 % of world exports.
    Main published RCAs against it with status 'ok' (030389: 40.29); now each line's RCA is read in 2023, whose world
    is whole, by hand over 2023's reporters, and the status says why 2024 was not used."""
    conn, year = _sample_copy(sample_home, tmp_path)
    expected = _rca_by_hand(conn, year - 1)  # before the USA's 2024 rows go: 2023 is untouched
    for where in ("hs6 = 'TOTAL'", "true"):
        conn.execute(f"DELETE FROM marts.world_exports WHERE reporter = 'USA' AND year = ? AND {where}", [year])
        rows = _read_in(_rebuild_rca(conn), year - 1, expected)
        assert {st for *_, st in rows} == {f"ok, from {year - 1} ({year}: USA (24.7 % of {year}'s world exports) left "
                                           "out of the world on the HS2017 basis (marts.world_coverage))"}


def test_rca_of_a_year_without_pakistans_total_is_read_in_the_year_before_and_says_why(sample_home, tmp_path):
    """Pakistan missing from 2024's all-reporters TOTAL answer while its own HS6 rows loaded: the world is seen
    (Pakistan weighs 0.4 %) but Pakistan's RCA has no denominator that year. Read in 2023, and the status names
    Pakistan (the first version blamed 'no world exports by product for 2024', though every reporter had them)."""
    conn, year = _sample_copy(sample_home, tmp_path)
    conn.execute("DELETE FROM marts.world_exports WHERE reporter = 'PAK' AND hs6 = 'TOTAL' AND year = ?", [year])
    rows = _read_in(_rebuild_rca(conn), year - 1, _rca_by_hand(conn, year - 1))
    assert {st for *_, st in rows} == {f"ok, from {year - 1} ({year}: Pakistan's exports to the World lack a total or "
                                       f"HS2017 products in {year})"}


def test_rca_waits_for_a_large_exporter_that_has_not_reported_the_year_yet(sample_home, tmp_path):
    """Comtrade's years arrive reporter by reporter: the USA has not reported 2024 yet (none of its rows), so 2024's
    world lacks the exporter of about a quarter of world exports. Main read RCA in it as 'ok'; now in 2023. With
    2023's all-reporters world missing as well (the pair's own rows kept), 2024 is judged against 2022 and the RCA
    read there: main's check looked at the year before only, found no world, and passed 2024."""
    conn, year = _sample_copy(sample_home, tmp_path)
    for table in ("staging.comtrade_flows", "staging.comtrade_totals"):
        conn.execute(f"DELETE FROM {table} WHERE reporter_iso = 'USA' AND year = ?", [year])
    conn.execute("DELETE FROM marts.world_exports WHERE reporter = 'USA' AND year = ?", [year])
    rows = _read_in(_rebuild_rca(conn), year - 1, _rca_by_hand(conn, year - 1))
    [status] = {st for *_, st in rows}
    assert re.fullmatch(rf"ok, from {year - 1} \({year}: USA \(2\d\.\d % of the world exports of the years before, to "
                        rf"{year - 1}\) not yet reported for {year} \(marts.world_coverage\)\)", status), status
    # 2023's world not loaded (its all-reporters rows gone; Pakistan's and China's own kept)
    for table in ("staging.comtrade_flows", "staging.comtrade_totals"):
        conn.execute(f"DELETE FROM {table} WHERE reporter_iso NOT IN ('PAK', 'CHN') AND year = ?", [year - 1])
    conn.execute("DELETE FROM staging.comtrade_totals WHERE year = ?", [year - 1])
    conn.execute("DELETE FROM marts.world_exports WHERE year = ? AND (reporter NOT IN ('PAK', 'CHN') OR hs6 = 'TOTAL')",
                 [year - 1])
    _read_in(_rebuild_rca(conn), year - 2, _rca_by_hand(conn, year - 2))


@pytest.mark.parametrize("header", ["tariff_line,description,base_rate,category,base_rate",
                                    "tariff_line,description,base_rate,category,Base_Rate"])
def test_a_header_naming_a_schedule_column_twice_is_refused(tmp_path, header):
    """Two base_rate columns: pandas read the second as 'base_rate.1' and the import used the first silently; two
    differing only in case crashed with a traceback. Refused, naming the column."""
    from tradeflow.fta.schedule import ScheduleError, read_schedule

    p = tmp_path / "dup.csv"
    p.write_text(f"{header}\n52051200,yarn,5,A0,99\n")
    with pytest.raises(ScheduleError, match=r"dup\.csv: the header names column 'base_rate' more than once"):
        read_schedule(p)


def test_a_bad_row_after_blank_lines_is_named_by_its_line_in_the_file(tmp_path):
    """Blank lines inside a CSV: pandas skipped them and the rows below were misnumbered (line 5 reported as 4)."""
    from tradeflow.fta.schedule import ScheduleError, read_schedule, validate_schedule

    p = tmp_path / "s.csv"
    p.write_text("tariff_line,description,base_rate,category\n52051200,yarn,5,A0\n\n\n5205130,bad,5,A0\n")
    with pytest.raises(ScheduleError, match=r"row 5, field tariff_line: '5205130'"):
        validate_schedule(read_schedule(p), "CHN", CATS["CHN"], None, str(p))


@pytest.mark.parametrize("spec,field", [("{kind: linear, years: 1000000000000}", "years"),
                                        ("{kind: linear, years: true}", "years"), ("{kind: partial, cut: 1.5}", "cut")])
def test_a_category_with_impossible_parameters_is_refused_by_name(tmp_path, spec, field):
    """years 10¹² was accepted and failed the refresh later as an INT32 overflow naming no file; years: true read as 1."""
    from tradeflow.errors import ConfigError
    from tradeflow.fta.schedule import load_categories

    p = tmp_path / "cats.yaml"
    p.write_text(f"CHN:\n  X: {spec}\n")
    with pytest.raises(ConfigError, match=rf"cats\.yaml.*CHN.*X.*{field}"):
        load_categories(p)


def test_rate_text_takes_one_percent_sign_and_a_bracketed_format_section_is_no_percent(tmp_path):
    """'5%%' was read as 5; a number format whose '%' sits in a bracketed locale/currency section ([$%-409]0.0) made
    5 read as 500. Neither any more: '5%%' is not a number, the bracketed cell is the 5 it shows."""
    import openpyxl

    from tradeflow.fta.schedule import ScheduleError, read_schedule, validate_schedule

    p = tmp_path / "s.csv"
    p.write_text("tariff_line,description,base_rate,category\n52051200,yarn,5%%,A0\n")
    with pytest.raises(ScheduleError, match=r"row 2, field base_rate: '5%%' is not a number"):
        validate_schedule(read_schedule(p), "CHN", CATS["CHN"], None, str(p))
    wb = openpyxl.Workbook()
    wb.active.append(["tariff_line", "description", "base_rate", "category"])
    wb.active.append(["52051200", "yarn", 5, "A0"])
    wb.active["C2"].number_format = "[$%-409]0.0"
    wb.save(tmp_path / "s.xlsx")
    clean = validate_schedule(read_schedule(tmp_path / "s.xlsx"), "CHN", CATS["CHN"], None, "s.xlsx")
    assert clean["base_rate"].tolist() == [5.0]


def test_a_csv_beginning_with_blank_lines_reads_and_numbers_its_rows_by_the_file(tmp_path):
    from tradeflow.fta.schedule import ScheduleError, read_schedule, validate_schedule

    p = tmp_path / "s.csv"
    p.write_text("\n\ntariff_line,description,base_rate,category\n52051200,yarn,5,A0\n5205130,bad,5,A0\n")
    with pytest.raises(ScheduleError, match=r"row 5, field tariff_line: '5205130'"):
        validate_schedule(read_schedule(p), "CHN", CATS["CHN"], None, str(p))


def test_a_legacy_table_that_no_longer_loads_stops_the_import_before_anything_is_stored(published_home, tmp_path):
    """The legacy shared categories.yaml is judged before the schedule is stored: one that no longer loads (a key
    twice) failed the import after CHN.csv was replaced, leaving the new schedule with the old table."""
    folder = published_home / "schedules"
    folder.mkdir(exist_ok=True)
    (folder / "categories.yaml").write_text("PAK:\n  S: {kind: excluded}\n  S: {kind: immediate}\n")
    (tmp_path / "cats.yaml").write_text(CHN_ONLY)
    (tmp_path / "chn.csv").write_text("tariff_line,description,base_rate,category\n52051200,yarn,5,X0\n")
    r = CliRunner().invoke(main, ["schedule", "import", str(tmp_path / "chn.csv"), "--party", "CHN",
                                  "--categories", str(tmp_path / "cats.yaml")])
    assert r.exit_code != 0 and "appears twice" in r.output
    assert sorted(p.name for p in folder.iterdir()) == ["categories.yaml"]  # no schedule, no table, no temp file
