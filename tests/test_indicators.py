"""Issue 12: indicators an economist can defend, each against a small hand-built fixture and hand-computed values.

Line-level margins, pro-rata liberalised imports, untapped lines qualified by the trade-carrying lines, the
first-cut convention, is_sample through every synthetic input, trade complementarity and export intensity.
"""

import duckdb
import pandas as pd
import pytest

from tradeflow.fta.schedule import load_categories, load_conventions
from dbt_models import build

YEARS = range(2020, 2036)


def fta_db(lines, *, party="CHN", mfn=(), schedule_sample=False, mfn_sample=True, categories_file=None,
           traded=(), trade=()):
    """A warehouse with one party's schedule ``lines`` [(tariff_line, category, base)], WITS MFN rows
    ``mfn`` [(hs6, year, rate)] and annual trade rows (reporter, partner, flow, year, hs6, value, is_sample)."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA staging; CREATE SCHEMA marts")
    conn.register("fta_schedule_frame", pd.DataFrame(
        [(party, tl, f"line {tl}", base, cat, "HS2017", "test", schedule_sample) for tl, cat, base in lines],
        columns=["party", "tariff_line", "description", "base_rate", "category", "hs_version", "source", "is_sample"]))
    cats, conv = load_categories(categories_file)[party], load_conventions(categories_file)
    conn.register("fta_categories_frame", pd.DataFrame(
        [(party, c.code, c.kind, c.years, c.cut, c.label, c.first_cut_offset, conv["base_rate_year"]) for c in cats.values()],
        columns=["party", "category", "kind", "years", "cut", "label", "first_cut_offset", "base_rate_year"]))
    conn.register("fta_traded_lines_frame", pd.DataFrame([(party, tl, "test", False) for tl in traded],
                                                         columns=["importer", "tariff_line", "source", "is_sample"]))
    for model in ("raw.fta_schedule", "raw.fta_categories", "raw.fta_traded_lines"):
        build(conn, model)
    conn.execute("CREATE TABLE staging.tariffs (importer VARCHAR, partner VARCHAR, year INT, hs6 VARCHAR, "
                 "hs_version VARCHAR, tariff_type VARCHAR, rate_pct DOUBLE, rate_basis VARCHAR, is_sample BOOLEAN, "
                 "rated_lines INTEGER, ad_valorem_lines_rate_pct DOUBLE, ad_valorem_lines INTEGER)")
    for hs6, year, rate in mfn:
        conn.execute("INSERT INTO staging.tariffs VALUES (?, 'WLD', ?, ?, 'HS2017', 'MFN', ?, 'ad_valorem', ?, 1, ?, 1)",
                     [party, year, hs6, rate, mfn_sample, rate])
    conn.execute("CREATE TABLE marts.hs_concordance (from_version VARCHAR, to_version VARCHAR, from_code VARCHAR, to_code VARCHAR)")
    conn.execute("CREATE TABLE marts.trade_flows_hs2017 (reporter VARCHAR, partner VARCHAR, flow VARCHAR, freq VARCHAR, "
                 "year INT, hs6_2017 VARCHAR, value_usd DOUBLE, is_sample BOOLEAN)")
    for r in trade:
        conn.execute("INSERT INTO marts.trade_flows_hs2017 VALUES (?, ?, ?, 'A', ?, ?, ?, ?)", list(r))
    build(conn, "marts.fta_tariff_lines")
    return conn


def line(conn, tariff_line, year):
    return conn.execute("SELECT applied_pref_rate_pct, mfn_rate_pct, margin_pp, mfn_source FROM marts.fta_tariff_lines "
                        "WHERE tariff_line = ? AND year = ?", [tariff_line, year]).fetchone()


# --- 1. a line against its own MFN --------------------------------------------------------------------------

def test_a_line_is_measured_against_its_own_mfn_not_its_heading_average():
    # rice heading 100630, WITS MFN 65 % in the base-rate year 2019 and 2020, cut to 60 % from 2022.
    lines = [("10063010", "E", 25.0), ("10063020", "E", 97.5), ("10063030", "A5", 50.0)]
    conn = fta_db(lines, mfn=[("100630", 2019, 65.0), ("100630", 2022, 60.0)])
    # excluded line, base 25: its MFN is its base rate (heading unchanged since 2019) → pays 25, margin 0 (main: 65 − 25 = 40)
    assert line(conn, "10063010", 2020) == (pytest.approx(25.0), pytest.approx(25.0), pytest.approx(0.0),
                                            "base_rate_moved_by_wits_hs6")
    # excluded line, base 97.5: no cap at the heading's 65 %
    assert line(conn, "10063020", 2020)[:3] == (pytest.approx(97.5), pytest.approx(97.5), pytest.approx(0.0))
    # 2022: the heading's MFN fell 5 points, so each line's MFN falls 5 points: 20 and 92.5; still margin 0
    assert line(conn, "10063010", 2022)[:3] == (pytest.approx(20.0), pytest.approx(20.0), pytest.approx(0.0))
    assert line(conn, "10063020", 2022)[:3] == (pytest.approx(92.5), pytest.approx(92.5), pytest.approx(0.0))
    # 5-year line, base 50: 2020 scheduled 50·(1 − 1/5) = 40 against its own MFN 50 → margin 10;
    # 2022 scheduled 50·(1 − 3/5) = 20 against 45 → margin 25
    assert line(conn, "10063030", 2020)[:3] == (pytest.approx(40.0), pytest.approx(50.0), pytest.approx(10.0))
    assert line(conn, "10063030", 2022)[:3] == (pytest.approx(20.0), pytest.approx(45.0), pytest.approx(25.0))
    # no excluded line anywhere has a margin
    assert conn.execute("SELECT max(abs(margin_pp)) FROM marts.fta_tariff_lines WHERE kind = 'excluded'").fetchone()[0] == 0


def test_without_wits_a_line_keeps_its_base_rate_as_mfn():
    conn = fta_db([("52051210", "E", 5.0), ("52051220", "A10", 8.0)], mfn=[("520512", 2022, 3.0)])  # no base-year rate
    assert line(conn, "52051210", 2024) == (pytest.approx(5.0), pytest.approx(5.0), pytest.approx(0.0), "base_rate")
    assert line(conn, "52051220", 2024)[1] == pytest.approx(8.0)


def test_simple_average_margin_over_lines_by_hand():
    # four lines, one heading at 10 % MFN throughout: A0 base 10, A0 base 4, E base 30, P base 20
    conn = fta_db([("84711110", "A0", 10.0), ("84711120", "A0", 4.0), ("84711130", "E", 30.0), ("84711140", "P", 20.0)],
                  mfn=[("847111", 2019, 10.0)])
    conn.execute("INSERT INTO marts.trade_flows_hs2017 VALUES ('CHN', 'PAK', 'M', 'A', 2019, '847111', 1.0, false)")
    build(conn, "marts.fta_indicators", base_year=2019)
    r = conn.execute("SELECT avg_pref_simple_pct, avg_mfn_simple_pct FROM marts.fta_indicators WHERE year = 2020").fetchone()
    # preferential 0, 0, 30, 16; own MFN 10, 4, 30, 20 → margins 10, 4, 0, 4 → 4.5 pp
    # (main: every line against the heading's 10 % → 0, 0, 10, 10 paid → margins 10, 10, 0, 0 → 5 pp)
    assert r[1] - r[0] == pytest.approx((10 + 4 + 0 + 4) / 4)


# --- 2. liberalised imports pro rata of the lines liberalised -----------------------------------------------

def test_share_imports_liberalised_weights_by_the_lines_liberalised():
    # one heading, four lines, MFN = base: one line immediate, three excluded; US$1,000 imported in 2020
    lines = [("10063010", "A0", 65.0), ("10063020", "E", 65.0), ("10063030", "E", 65.0), ("10063040", "E", 65.0)]
    conn = fta_db(lines, trade=[("CHN", "PAK", "M", 2019, "100630", 800.0, False),
                                ("CHN", "PAK", "M", 2020, "100630", 1000.0, False)])
    build(conn, "marts.fta_indicators", base_year=2019)
    r = conn.execute("SELECT imports_liberalised_usd, imports_not_liberalised_usd, share_imports_liberalised, "
                     "trade_coverage_zero FROM marts.fta_indicators WHERE year = 2020").fetchone()
    # a quarter of the lines is liberalised: 250 of 1,000 (main: the whole heading, 1,000, because its average fell)
    assert r[:3] == (pytest.approx(250.0), pytest.approx(750.0), pytest.approx(0.25))
    assert r[3] == pytest.approx(0.25)  # the same weighting as trade coverage


# --- 3. untapped lines qualified by the trade-carrying lines ------------------------------------------------

def opportunities_db(traded, extra_trade=()):
    lines = [
        # 100630: the traded line 10063000 excluded; three other lines on a 10-year path
        ("10063000", "E", 65.0), ("10063010", "A10", 10.0), ("10063020", "A10", 10.0), ("10063030", "A10", 10.0),
        # 520512: every line on a 5-year path → all zero from 2024
        ("52051200", "A5", 5.0), ("52051210", "A5", 5.0),
        # 080450: the traded line on a 10-year path (zero from 2029), another line excluded
        ("08045000", "A10", 15.0), ("08045010", "E", 15.0),
    ]
    trade = []
    for hs6, pak_x, chn_m, chn_from_pak in (("100630", 900.0, 500.0, 50.0), ("520512", 300.0, 800.0, 100.0),
                                            ("080450", 200.0, 400.0, 20.0)):
        trade += [("PAK", "WLD", "X", 2022, hs6, pak_x, False), ("CHN", "WLD", "M", 2022, hs6, chn_m, False),
                  ("CHN", "PAK", "M", 2022, hs6, chn_from_pak, False)]
    conn = fta_db(lines, traded=traded, trade=trade + list(extra_trade))
    conn.execute("CREATE TABLE marts.world_exports (reporter VARCHAR, year INT, hs6 VARCHAR, value_usd DOUBLE, is_sample BOOLEAN)")
    conn.execute("INSERT INTO marts.world_exports VALUES ('PAK', 2022, 'TOTAL', 10000, false), ('CHN', 2022, 'TOTAL', 90000, false),"
                 "('PAK', 2022, '100630', 900, false), ('CHN', 2022, '100630', 100, false),"
                 "('PAK', 2022, '520512', 300, false), ('CHN', 2022, '520512', 700, false),"
                 "('PAK', 2022, '080450', 200, false), ('CHN', 2022, '080450', 800, false)")
    conn.execute("CREATE TABLE marts.world_coverage AS SELECT 'X' AS flow, 2022 AS year, '' AS left_out, "
                 "0.0::DOUBLE AS left_out_share, 2021 AS judged_against, '' AS not_yet_reported, "
                 "0.0::DOUBLE AS not_yet_reported_share")
    build(conn, "marts.fta_opportunities")
    return conn


def test_untapped_lines_exclude_a_heading_whose_traded_line_is_excluded():
    conn = opportunities_db(traded=["10063000", "52051200", "08045000"])
    assert [h for (h,) in conn.execute("SELECT hs6 FROM marts.fta_opportunities ORDER BY rank").fetchall()] == ["520512", "080450"]
    rows = {h: (p, z, n) for h, p, z, n in conn.execute(
        "SELECT hs6, indicative_potential_usd, year_reaches_zero, trade_lines FROM marts.fta_opportunities").fetchall()}
    assert "100630" not in rows  # main lists it: the heading's average rate falls although its traded line is excluded
    # 520512: ITP = max(0, min(300, 800) − 100) = 200; 080450: min(200, 400) − 20 = 180
    assert rows["520512"] == (pytest.approx(200.0), 2024, 1)
    # the traded line of 080450 reaches zero in 2029 (10 equal cuts from 2020); main: null (an excluded line never does)
    assert rows["080450"] == (pytest.approx(180.0), 2029, 1)


def test_rca_needs_the_left_out_and_the_not_yet_reported_parts_together_under_the_limit():
    """2022's world with 0.6 % of its exports left out (a code with no HS2017 mapping) and 0.6 % not yet reported: each
    part is under the 1 % limit, together 1.2 % of the world is unseen. By hand the RCA of 520512 is (300/10000) /
    (1000/100000) = 3; the first version read it against that world as 'ok'. Now none, and both parts are named."""
    conn = opportunities_db(traded=["10063000", "52051200", "08045000"])
    assert conn.execute("SELECT rca, rca_status FROM marts.fta_opportunities WHERE hs6 = '520512'").fetchone() == (
        pytest.approx(3.0), "ok")
    conn.execute("UPDATE marts.world_coverage SET left_out = 'BGD', left_out_share = 0.006, not_yet_reported = 'DEU', "
                 "not_yet_reported_share = 0.006")
    build(conn, "marts.fta_opportunities")
    assert conn.execute("SELECT rca, rca_year, rca_status FROM marts.fta_opportunities WHERE hs6 = '520512'").fetchone() == (
        None, None, "unavailable: BGD (0.6 % of 2022's world exports) left out of the world on the HS2017 basis; DEU "
                    "(0.6 % of the world exports of the years before, to 2021) not yet reported for 2022 "
                    "(marts.world_coverage)")


def test_untapped_lines_are_of_the_latest_year_both_sides_published():
    # Pakistan has released 2023, China not yet: 2023 has no Chinese imports to rank against, so the table is 2022's
    # (an empty table for 2023 would read as "no opportunities").
    conn = opportunities_db(traded=["10063000", "52051200", "08045000"],
                            extra_trade=[("PAK", "WLD", "X", 2023, "520512", 999.0, False)])
    rows = conn.execute("SELECT year, hs6, indicative_potential_usd FROM marts.fta_opportunities ORDER BY rank").fetchall()
    assert rows == [(2022, "520512", pytest.approx(200.0)), (2022, "080450", pytest.approx(180.0))]


def test_without_known_traded_lines_every_line_of_the_heading_must_open():
    conn = opportunities_db(traded=[])
    rows = dict(conn.execute("SELECT hs6, year_reaches_zero FROM marts.fta_opportunities").fetchall())
    assert rows == {"520512": 2024}  # 100630 and 080450 each keep an excluded line
    basis = conn.execute("SELECT DISTINCT trade_lines_basis, trade_lines FROM marts.fta_opportunities").fetchall()
    assert basis == [("all lines of the heading", 2)]


# --- 7. the first-cut convention ----------------------------------------------------------------------------

def test_first_cut_convention_is_a_field_with_its_clause(tmp_path):
    conv = load_conventions()
    assert conv["first_cut_offset"] == 0 and conv["status"] == "assumption"
    assert "1 January 2020" in conv["clause"] and "within 10 years" in conv["clause"]
    # a table that puts the first cut a year later: a 10-year line is zero from 2030, not 2029
    text = (tmp_path / "c.yaml")
    from importlib import resources
    built_in = resources.files("tradeflow.fta").joinpath("categories.yaml").read_text(encoding="utf-8")
    text.write_text(built_in.replace("first_cut_offset: 0", "first_cut_offset: 1"))
    conn = fta_db([("08045000", "A10", 10.0)], categories_file=text)
    path = dict(conn.execute("SELECT year, applied_pref_rate_pct FROM marts.fta_tariff_lines").fetchall())
    assert path[2020] == pytest.approx(10.0) and path[2021] == pytest.approx(9.0)
    assert path[2029] == pytest.approx(1.0) and path[2030] == 0
    default = fta_db([("08045000", "A10", 10.0)])
    path = dict(default.execute("SELECT year, applied_pref_rate_pct FROM marts.fta_tariff_lines").fetchall())
    assert path[2020] == pytest.approx(9.0) and path[2028] == pytest.approx(1.0) and path[2029] == 0


def test_a_convention_without_its_clause_is_rejected(tmp_path):
    from tradeflow.errors import ConfigError

    p = tmp_path / "c.yaml"
    p.write_text("conventions: {first_cut_offset: 0, base_rate_year: 2019}\nCHN:\n  A0: {kind: immediate}\n")
    with pytest.raises(ConfigError, match="clause"):
        load_conventions(p)
    p.write_text("conventions: {first_cut_offset: 3, base_rate_year: 2019, clause: x}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: conventions: first_cut_offset: must be 0 or 1, got 3"):
        load_conventions(p)


# --- 5. is_sample follows every synthetic input -------------------------------------------------------------

def test_a_real_schedule_on_synthetic_mfn_and_trade_is_still_sample():
    lines = [("52051200", "A0", 5.0), ("52051210", "E", 5.0)]
    conn = fta_db(lines, mfn=[("520512", 2019, 5.0)], schedule_sample=False, mfn_sample=True,
                  trade=[("CHN", "PAK", "M", 2019, "520512", 10.0, True)])
    build(conn, "marts.fta_indicators", base_year=2019)
    assert conn.execute("SELECT bool_and(is_sample) FROM marts.fta_tariff_lines").fetchone()[0] is True  # main: false
    assert conn.execute("SELECT bool_and(is_sample) FROM marts.fta_indicators").fetchone()[0] is True
    real = fta_db(lines, mfn=[("520512", 2019, 5.0)], schedule_sample=False, mfn_sample=False,
                  trade=[("CHN", "PAK", "M", 2019, "520512", 10.0, False)])
    build(real, "marts.fta_indicators", base_year=2019)
    assert real.execute("SELECT bool_or(is_sample) FROM marts.fta_indicators").fetchone()[0] is False
    # synthetic trade weights alone make the indicators sample
    mixed = fta_db(lines, mfn=[("520512", 2019, 5.0)], schedule_sample=False, mfn_sample=False,
                   trade=[("CHN", "PAK", "M", 2019, "520512", 10.0, True)])
    build(mixed, "marts.fta_indicators", base_year=2019)
    assert mixed.execute("SELECT bool_and(is_sample) FROM marts.fta_indicators").fetchone()[0] is True
    assert mixed.execute("SELECT bool_or(is_sample) FROM marts.fta_tariff_lines").fetchone()[0] is False


def test_sample_marts_carry_is_sample(sample_db):
    for table in ("seasonality_index", "goal_progress", "hs_concordance", "trade_complementarity", "trade_intensity"):
        flagged, rows = sample_db.execute(f"SELECT bool_and(is_sample), count(*) FROM marts.{table}").fetchone()
        assert rows > 0 and flagged is True, table


def test_concordance_weights_from_real_pairs_and_real_trade_are_not_sample():
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA staging; CREATE SCHEMA marts")
    conn.register("hs_concordance_frame", pd.DataFrame(
        [("HS2022", c22, "HS2017", c17, rel, conv, src) for c22, c17, rel, conv, src in
         [("854143", "854140", "n:1", "854140", "unsd"), ("854142", "854140", "n:1", "854140", "unsd"),
          ("080521", "080521", "1:1", "080521", "sample")]],
        columns=["newer_version", "newer_code", "older_version", "older_code", "relationship", "older_conversion",
                 "source"]))
    build(conn, "raw.hs_concordance")
    conn.execute("CREATE TABLE staging.comtrade_flows AS SELECT * FROM (VALUES "
                 "('854143', 'H6', 2022, 'A', 0, 0, 'X', 30.0, false), ('854142', 'H6', 2022, 'A', 0, 0, 'X', 10.0, true)) "
                 "t(hs6, classification, year, freq, partner_code, mot_code, flow, value_usd, is_sample)")
    build(conn, "marts.hs_concordance")
    rows = {(f, t): (w, s) for f, t, w, s in conn.execute(
        "SELECT from_code, to_code, weight, is_sample FROM marts.hs_concordance").fetchall()}
    assert rows[("854143", "854140")] == (1.0, False)  # a UNSD conversion pair
    assert rows[("854140", "854143")] == (pytest.approx(0.75), True)  # a split weighted by trade that is partly synthetic
    assert rows[("080521", "080521")][1] is True  # a pair from the sample seed
    # UNSD's 'n:1' (two HS2022 codes from one HS2017 code) read from each row's source side
    rel = dict(((f, t), r) for f, t, r in conn.execute("SELECT from_code, to_code, relationship FROM marts.hs_concordance").fetchall())
    assert rel[("854143", "854140")] == "n:1" and rel[("854140", "854143")] == "1:n"  # main: 'n:1' both ways


# --- new: trade complementarity and export intensity --------------------------------------------------------

def indices_db(totals, world_hs6, imports_hs6, bilateral, unpublished=(), off_basis=()):
    """``unpublished``: (reporter, year) whose own query is not loaded (its total comes from the all-reporters query
    only); ``off_basis``: (reporter, year) marts.world_exports leaves out (no HS2017 basis), total included."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA staging; CREATE SCHEMA marts")
    conn.execute("CREATE TABLE staging.countries AS SELECT * FROM (VALUES (586, 'PAK'), (156, 'CHN'), (842, 'USA')) t(m49, iso3)")
    code = {"PAK": 586, "CHN": 156, "USA": 842}
    conn.register("t", pd.DataFrame([(code[r], r, 0, f, "A", y, v, True) for r, f, y, v in totals],
                                    columns=["reporter_code", "reporter_iso", "partner_code", "flow", "freq", "year",
                                             "value_usd", "is_sample"]))
    conn.execute("CREATE TABLE staging.comtrade_totals AS SELECT * FROM t")
    world = world_hs6 + [(r, y, "TOTAL", v) for r, f, y, v in totals if f == "X"]  # as world_exports carries them
    conn.register("w", pd.DataFrame([(r, y, k, v, True) for r, y, k, v in world if (r, y) not in off_basis],
                                    columns=["reporter", "year", "hs6", "value_usd", "is_sample"]))
    conn.execute("CREATE TABLE marts.world_exports AS SELECT * FROM w")
    conn.register("m", pd.DataFrame([(r, "WLD", "M", "A", y, k, v, True) for r, y, k, v in imports_hs6],
                                    columns=["reporter", "partner", "flow", "freq", "year", "hs6_2017", "value_usd", "is_sample"]))
    conn.execute("CREATE TABLE marts.trade_flows_hs2017 AS SELECT * FROM m")
    conn.register("b", pd.DataFrame([(r, p, "X", "A", y, v, True) for r, p, y, v in bilateral],
                                    columns=["reporter", "partner", "flow", "freq", "year", "value_usd", "is_sample"]))
    conn.execute("CREATE TABLE marts.trade_flows AS SELECT * FROM b")
    # the years each reporter published: those it has a total for
    conn.execute("CREATE TABLE marts.reported_periods AS SELECT DISTINCT reporter_iso AS reporter, freq, year FROM t")
    for reporter, year in unpublished:
        conn.execute("DELETE FROM marts.reported_periods WHERE reporter = ? AND year = ?", [reporter, year])
    conn.execute("""CREATE TABLE staging.comtrade_flows (reporter_code INT, reporter_iso VARCHAR, year INT, freq VARCHAR,
                    flow VARCHAR, partner_code INT, mot_code INT, value_usd DOUBLE, is_sample BOOLEAN)""")
    for model in ("marts.world_coverage", "marts.trade_complementarity", "marts.trade_intensity"):
        build(conn, model)
    return conn


def test_trade_complementarity_by_hand():
    # Pakistan exports 100 in all, 40 of a and 20 of b seen by HS6; China imports 1,000, 100 of a, 300 of b, 100 of c
    conn = indices_db(
        totals=[("PAK", "X", 2021, 100.0), ("CHN", "M", 2021, 1000.0), ("PAK", "X", 2022, 60.0), ("CHN", "M", 2022, 500.0)],
        world_hs6=[("PAK", 2021, "a", 40.0), ("PAK", 2021, "b", 20.0), ("PAK", 2022, "a", 40.0), ("PAK", 2022, "b", 20.0)],
        imports_hs6=[("CHN", 2021, "a", 100.0), ("CHN", 2021, "b", 300.0), ("CHN", 2021, "c", 100.0),
                     ("CHN", 2022, "a", 100.0), ("CHN", 2022, "b", 300.0), ("CHN", 2022, "c", 100.0)],
        bilateral=[])
    r = {y: row for y, *row in conn.execute(
        "SELECT year, tc, tc_lower, products, exports_covered_share, imports_covered_share, tc_upper "
        "FROM marts.trade_complementarity WHERE exporter = 'PAK' AND importer = 'CHN'").fetchall()}
    # 2021: Σ|m/M − x/X| = |.1 − .4| + |.3 − .2| + |.1 − 0| = 0.5; unseen parts .5 (China) and .4 (Pakistan)
    # as one product 100·(1 − ½(0.5 + |.5 − .4|)) = 70; disjoint (lower bound) 100·(1 − ½(0.5 + .5 + .4)) = 30;
    # upper bound: China's shares exceed Pakistan's by .1 (b) + .1 (c) = .2, less than Pakistan's unseen .4, which can
    # close both gaps (and China's unseen .5 take Pakistan's excess on a and the rest): 100·(1 − max(0, .2 − .4)) = 100
    assert r[2021] == [pytest.approx(70.0), pytest.approx(30.0), 3, pytest.approx(0.6), pytest.approx(0.5),
                       pytest.approx(100.0)]
    # 2022: HS6 data cover both totals: x shares 2/3, 1/3; m shares .2, .6, .2 → Σ = 7/15 + 4/15 + 3/15 = 14/15
    tc = 100 * (1 - 0.5 * 14 / 15)
    assert [r[2022][0], r[2022][1], r[2022][5]] == [pytest.approx(tc)] * 3 and tc == pytest.approx(53.3333, abs=1e-3)


def test_trade_complementarity_bounds_hold_whatever_product_the_unseen_trade_is_in():
    """Pakistan exports 100, 50 of a seen by HS6 and 50 unseen; China imports 100, 50 of a and 50 of b. If the unseen
    50 is b the index is 100, if it is a product China does not import, 50: tc_upper 100, tc_lower 50 (main called tc,
    50 here, the upper bound)."""
    conn = indices_db(totals=[("PAK", "X", 2021, 100.0), ("CHN", "M", 2021, 100.0)],
                      world_hs6=[("PAK", 2021, "a", 50.0)],
                      imports_hs6=[("CHN", 2021, "a", 50.0), ("CHN", 2021, "b", 50.0)], bilateral=[])
    got = conn.execute("SELECT tc_lower, tc, tc_upper FROM marts.trade_complementarity "
                       "WHERE exporter = 'PAK' AND importer = 'CHN' AND year = 2021").fetchone()
    assert got == (pytest.approx(50.0), pytest.approx(50.0), pytest.approx(100.0))


def test_trade_complementarity_needs_each_sides_products_on_the_basis_of_its_total():
    """2021 is whole both ways. 2022: China's own query failed (its total imports, 1,000, came with the all-reporters
    TOTAL query alone, so none of its products is loaded): no PAK→CHN row. Main published tc 40 = 100·(1 − x_cov)
    with imports covered 0. 2023: Pakistan left out of marts.world_exports (a code with no HS2017 mapping), its
    total still in staging.comtrade_totals: no PAK→CHN row (main: exports covered 0, tc = 100·(1 − m_cov))."""
    conn = indices_db(
        totals=[("PAK", "X", y, 100.0) for y in (2021, 2022, 2023)] + [("CHN", "M", y, 1000.0) for y in (2021, 2022, 2023)],
        world_hs6=[("PAK", y, "a", 60.0) for y in (2021, 2022, 2023)],
        imports_hs6=[("CHN", y, "a", 500.0) for y in (2021, 2023)], bilateral=[],
        unpublished=[("CHN", 2022)], off_basis=[("PAK", 2023)])
    got = conn.execute("SELECT year, tc FROM marts.trade_complementarity WHERE exporter = 'PAK' ORDER BY year").fetchall()
    # 2021: |.5 − .6| = .1, unseen .5 and .4: 100·(1 − ½(.1 + .1)) = 90
    assert got == [(2021, pytest.approx(90.0))]


def test_export_intensity_by_hand():
    conn = indices_db(  # 2019–2021, the same world, to judge 2022's by (a recent year needs the three before it)
        totals=[(r, f, y, v) for y in (2019, 2020, 2021, 2022) for r, f, v in (
            ("PAK", "X", 100.0), ("CHN", "X", 2000.0), ("PAK", "M", 200.0), ("CHN", "M", 1000.0), ("USA", "M", 2800.0))],
        world_hs6=[], imports_hs6=[],
        bilateral=[("PAK", "CHN", 2022, 10.0), ("CHN", "PAK", 2022, 50.0)])
    r = {e: row for e, *row in conn.execute(
        "SELECT exporter, share_of_exports_to_partner, partner_share_of_world_imports, export_intensity, world_reporters "
        "FROM marts.trade_intensity WHERE year = 2022").fetchall()}
    # PAK→CHN: (10/100) / (1000/4000) = 0.1 / 0.25 = 0.4; CHN→PAK: (50/2000) / (200/4000) = 0.025 / 0.05 = 0.5
    assert r["PAK"] == [pytest.approx(0.1), pytest.approx(0.25), pytest.approx(0.4), 3]
    assert r["CHN"] == [pytest.approx(0.025), pytest.approx(0.05), pytest.approx(0.5), 3]


def _intensity(years_with_usa, years=tuple(range(2016, 2023))):
    """Pakistan exports 100 a year, 10 of it to China; China imports 1,000, Pakistan 200, the USA 2,800 in the years
    it has reported: by hand the intensity is 0.4 (0.1 / 0.25) with the USA in the world, 0.12 without it."""
    totals = [(r, "X", y, 100.0) for r in ("PAK", "CHN") for y in years]
    totals += [("PAK", "M", y, 200.0) for y in years] + [("CHN", "M", y, 1000.0) for y in years]
    totals += [("USA", "M", y, 2800.0) for y in years_with_usa]
    conn = indices_db(totals=totals, world_hs6=[], imports_hs6=[], bilateral=[("PAK", "CHN", y, 10.0) for y in years])
    return conn.execute("""SELECT year, export_intensity, world_status FROM marts.trade_intensity
                           WHERE exporter = 'PAK' ORDER BY year""").fetchall()


def test_export_intensity_waits_for_the_worlds_importers_to_report_the_year():
    """2022: the USA has not reported yet: M_w would be 1,200, so Pakistan's intensity 0.12 instead of 0.4. Main
    published 0.12 with world_reporters 2; now the index is null and world_status names the USA. The same when the
    year before's world is not loaded at all (2021), or the USA skipped it too: 2022 is judged against the world years
    among the three before it."""
    ok = (pytest.approx(0.4), "ok")  # 2016–2019: three or more years before the newest loaded, judged complete
    usa = "unavailable: USA (70.0 % of the world imports of the years before, to {}) not yet reported for {} " \
          "(marts.world_coverage)"
    old = [(y, *ok) for y in range(2016, 2020)]
    assert _intensity(range(2016, 2022)) == [*old, (2020, *ok), (2021, *ok), (2022, None, usa.format(2021, 2022))]
    assert _intensity(range(2016, 2021), years=(2016, 2017, 2018, 2019, 2020, 2022)) == [
        *old, (2020, *ok), (2022, None, usa.format(2020, 2022))]
    assert _intensity(range(2016, 2021)) == [*old, (2020, *ok), (2021, None, usa.format(2020, 2021)),
                                             (2022, None, usa.format(2021, 2022))]


def test_export_intensity_of_a_recent_year_is_not_given_unless_the_three_years_before_are_loaded():
    """Only 2022 loaded, or 2021–2022 with the USA last reported in 2020: nothing loaded says the USA belongs to
    2022's world, so no index (main: 0.12, 'ok'; the first fix still judged 2022 against 2021 alone). A year three or
    more years before the newest loaded (2019 of 2019–2022) has had the time: judged complete."""
    why = "unavailable: the world of {0} cannot be judged complete: that needs the world years {1}–{2} loaded " \
          "(marts.world_coverage)"
    assert _intensity([], years=(2022,)) == [(2022, None, why.format(2022, 2019, 2021))]
    assert _intensity([], years=(2021, 2022)) == [(2021, None, why.format(2021, 2018, 2020)),
                                                  (2022, None, why.format(2022, 2019, 2021))]
    assert _intensity([2019, 2020, 2021, 2022], years=(2019, 2020, 2021, 2022))[0] == (2019, pytest.approx(0.4), "ok")


def test_export_intensity_of_a_year_without_exports_is_zero_and_a_zero_total_no_ratio():
    """2021: Pakistan published its year (total exports 100) with no exports to China: intensity 0, not a missing year.
    2022: Pakistan's total exports recorded as 0: no share and no intensity (NULL), never inf or NaN."""
    world = [(r, "M", y, v) for y in (2018, 2019, 2020) for r, v in (("CHN", 1000.0), ("USA", 3000.0))]
    conn = indices_db(  # 2018–2020: the world years to judge 2021's and 2022's by
        totals=world + [("PAK", "X", 2021, 100.0), ("CHN", "M", 2021, 1000.0), ("USA", "M", 2021, 3000.0),
                ("PAK", "X", 2022, 0.0), ("CHN", "M", 2022, 1000.0), ("USA", "M", 2022, 3000.0)],
        world_hs6=[], imports_hs6=[], bilateral=[("PAK", "CHN", 2022, 5.0)])
    got = conn.execute("""SELECT year, exports_to_partner_usd, share_of_exports_to_partner, export_intensity
                          FROM marts.trade_intensity WHERE exporter = 'PAK' ORDER BY year""").fetchall()
    assert got == [(2021, 0.0, 0.0, 0.0), (2022, 5.0, None, None)]


def test_sample_has_china_imports_from_the_world_in_comtrade_format(sample_db):
    # the sample now carries every reporter's total imports from the World (cmdCode TOTAL, flowCode M)
    rows = dict(sample_db.execute("SELECT reporter_iso, max(value_usd) FROM staging.comtrade_totals "
                                  "WHERE flow = 'M' AND partner_code = 0 AND year = 2024 GROUP BY 1").fetchall())
    assert rows["CHN"] == pytest.approx(2590e9) and rows["PAK"] == pytest.approx(55e9)
    tc = sample_db.execute("SELECT tc, tc_lower, tc_upper FROM marts.trade_complementarity "
                           "WHERE exporter='PAK' AND year=2024").fetchone()
    assert 0 <= tc[1] <= tc[0] <= tc[2] <= 100


def test_methodology_page_states_formulas_sources_and_the_first_cut_clause():
    from tradeflow.report.methodology import methodology_page

    page = methodology_page(None, {"is_sample": True, "vintage": "x"})
    html = str(page.tables[0].html())
    for fragment in ("TC_ij = 100·(1 − ½ Σₖ |m_jk/M_j − x_ik/X_i|)", "Michaely (1996)", "TII_ij = (x_ij / X_i) / (x_wj / X_w)",
                     "its own MFN", "margin is 0 by construction", "First cut (assumption)", "zero in year N−1",
                     "within 10 years", "ydyl.cacem.com.cn", "preferential &lt; own MFN", "khunjerab.yaml only",
                     "EDE 30 Apr 2018"):
        assert fragment in html, fragment


def test_sample_opportunities_keep_no_heading_whose_traded_line_is_excluded(sample_db):
    rows = sample_db.execute("SELECT hs6, year_reaches_zero, trade_lines_basis FROM marts.fta_opportunities").fetchall()
    assert rows and not {"100630", "100640", "170199"} & {h for h, _, _ in rows}
    assert all(z is not None for _, z, _ in rows) and {b for _, _, b in rows} == {"traded lines known"}
    # no excluded line anywhere carries a margin, and China's 2020 simple-average margin is line against own MFN
    assert sample_db.execute("SELECT count(*) FROM marts.fta_tariff_lines WHERE kind = 'excluded' AND margin_pp <> 0").fetchone()[0] == 0
    by_hand = sample_db.execute("SELECT avg(mfn_rate_pct - applied_pref_rate_pct) FROM marts.fta_tariff_lines "
                                "WHERE importer = 'CHN' AND year = 2020").fetchone()[0]
    r = sample_db.execute("SELECT avg_mfn_simple_pct - avg_pref_simple_pct FROM marts.fta_indicators "
                          "WHERE importer = 'CHN' AND year = 2020").fetchone()[0]
    assert r == pytest.approx(by_hand) and r == pytest.approx(4.04, abs=0.01)  # the audit: 4.04 pp, not 5.48


def test_traded_lines_come_from_the_sample_only_while_the_schedule_is_the_samples():
    from tradeflow.fta.traded_lines import traded_lines_frame

    schedule = pd.DataFrame([("CHN", "10063000", False), ("CHN", "52051200", False), ("PAK", "72083900", True),
                             ("PAK", "72083910", True)], columns=["party", "tariff_line", "is_sample"])
    out = traded_lines_frame(schedule)
    # an imported (real) Chinese schedule gets no synthetic traded lines; Pakistan's sample schedule keeps its own
    assert list(out.itertuples(index=False, name=None)) == [("PAK", "72083900", "sample", True)]


def test_rcas_world_leaves_out_a_reporter_year_with_a_code_that_does_not_convert_to_hs2017():
    """World exports, 2022, annual. Pakistan in HS2017 (H5): kept as reported. China in HS2022 (H6): 080291 converts
    to 080290, kept. Egypt in HS2012 (H4) with no HS2012 table archived (no HS2012 pair at all): its 440110 (split in
    HS2017) and 846900 (deleted in HS2017) are not HS2017 codes, so Egypt's 2022 is left out whole, products and
    total alike (main: kept as 440110 = 700, 846900 = 90 beside its total 3000, so HS2017 440111/440112 read 0 for
    Egypt while its total counted in the world). Brazil in HS2022 with a code the HS2022 table lacks (990199, made
    up: the real table maps every HS2022 code, 999999 included): left out too."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA staging; CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE staging.countries AS SELECT * FROM (VALUES (586, 'PAK'), (156, 'CHN'), (818, 'EGY'),
                    (76, 'BRA')) t(m49, iso3)""")
    flows = [(586, "PAK", "H5", "440111", 50.0), (156, "CHN", "H6", "080291", 20.0), (818, "EGY", "H4", "440110", 700.0),
             (818, "EGY", "H4", "846900", 90.0), (76, "BRA", "H6", "080291", 5.0), (76, "BRA", "H6", "990199", 1.0)]
    conn.execute("""CREATE TABLE staging.comtrade_flows (reporter_code INT, reporter_iso VARCHAR, classification VARCHAR,
                    hs6 VARCHAR, value_usd DOUBLE, year INT, freq VARCHAR, flow VARCHAR, partner_code INT, mot_code INT,
                    is_sample BOOLEAN)""")
    conn.executemany("INSERT INTO staging.comtrade_flows VALUES (?, ?, ?, ?, ?, 2022, 'A', 'X', 0, 0, false)", flows)
    conn.execute("""CREATE TABLE staging.comtrade_totals AS SELECT * FROM (VALUES (586, 'PAK', 100.0), (156, 'CHN', 400.0),
                    (818, 'EGY', 3000.0), (76, 'BRA', 60.0)) t(reporter_code, reporter_iso, value_usd)""")
    conn.execute("""ALTER TABLE staging.comtrade_totals ADD COLUMN year INT DEFAULT 2022;
                    ALTER TABLE staging.comtrade_totals ADD COLUMN freq VARCHAR DEFAULT 'A';
                    ALTER TABLE staging.comtrade_totals ADD COLUMN flow VARCHAR DEFAULT 'X';
                    ALTER TABLE staging.comtrade_totals ADD COLUMN partner_code INT DEFAULT 0;
                    ALTER TABLE staging.comtrade_totals ADD COLUMN is_sample BOOLEAN DEFAULT false""")
    conn.execute("""CREATE TABLE marts.hs_concordance AS SELECT * FROM (VALUES ('HS2022', '080291', 'HS2017', '080290', 1.0))
                    t(from_version, from_code, to_version, to_code, weight)""")
    build(conn, "marts.world_exports")
    got = conn.execute("SELECT reporter, hs6, value_usd FROM marts.world_exports ORDER BY ALL").fetchall()
    assert got == [("CHN", "080290", 20.0), ("CHN", "TOTAL", 400.0), ("PAK", "440111", 50.0), ("PAK", "TOTAL", 100.0)]
