"""Agro green channel: seasonality index, winter share, HHI, event windows, goal arithmetic, YAML validation."""

import duckdb
import pandas as pd
import pytest

from tradeflow.errors import ConfigError
from tradeflow.green_channel import config
from tradeflow.green_channel.goals import goal_frames, goal_tables
from dbt_models import build, hs2017_as_reported


def seasonal_db(values, start="2019-01-01", khunjerab=None):
    """A tiny warehouse whose only series is PAK road exports with the given monthly values (calendar:
    khunjerab.yaml, or the file ``khunjerab``)."""
    months = pd.date_range(start, periods=len(values), freq="MS")
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts; CREATE SCHEMA raw")
    conn.register("khunjerab_frame", config.khunjerab_months(khunjerab))
    build(conn, "raw.khunjerab_months")
    conn.register("v", pd.DataFrame({"period_start": months.date, "value_usd": values}))
    conn.execute("""CREATE TABLE marts.trade_flows_by_mode AS SELECT 'PAK' reporter, 'CHN' partner, 'X' flow,
        year(period_start) AS year, month(period_start) AS month, period_start, '100630' hs6, 'HS2017' hs_version,
        3200 AS mot_code, 'road' mode, value_usd, true AS is_sample FROM v""")
    conn.execute("""CREATE TABLE marts.trade_flows AS SELECT 'PAK' reporter, 'CHN' partner, 'X' flow, 'M' freq,
        year(period_start) AS year, month(period_start) AS month, period_start, '100630' hs6, 'HS2017' hs_version, value_usd,
        true is_sample FROM v""")
    conn.execute("CREATE TABLE marts.dim_hs AS SELECT 'HS2017' hs_version, '100630' code, true is_agro")
    hs2017_as_reported(conn)
    build(conn, "marts.monthly_by_basis")
    build(conn, "marts.reported_periods")
    return conn


def test_seasonality_index_by_hand_with_zero_months():
    # three years; Dec–Mar closed (zero); April–November 100 each
    y = [0 if m in (12, 1, 2, 3) else 100 for _ in range(3) for m in range(1, 13)]
    conn = seasonal_db(y)
    build(conn, "marts.seasonality_index")
    si = dict(conn.execute("""SELECT month, seasonal_index FROM marts.seasonality_index
        WHERE basis='road' AND product_group='all' AND months_window='whole series'""").fetchall())
    # 2×12 MA of this series is 800/12 everywhere (each window spans one full year): r = 0 or 100/(800/12) = 1.5
    assert si[1] == pytest.approx(0) and si[12] == pytest.approx(0)
    assert si[6] == pytest.approx(1.5)
    assert sum(si.values()) == pytest.approx(12)


def test_seasonality_index_skips_zero_trend():
    y = [0.0] * 12 + [10.0 * (m % 3) for m in range(24)]
    conn = seasonal_db(y)
    build(conn, "marts.seasonality_index")
    rows = conn.execute("SELECT sum(seasonal_index), count(*) FROM marts.seasonality_index "
                        "WHERE basis='road' AND product_group='all' AND months_window='whole series'").fetchall()[0]
    assert rows[0] == pytest.approx(12) and rows[1] == 12


def test_winter_share_by_hand():
    y = [10, 10, 10, 30, 30, 30, 30, 30, 30, 30, 30, 10] * 2  # winter 40 of 280
    conn = seasonal_db(y)
    build(conn, "marts.khunjerab_indicators")
    ws = dict(conn.execute("SELECT year, winter_share FROM marts.khunjerab_indicators WHERE basis='road' "
                           "AND product_group='agro'").fetchall())
    assert ws[2019] == pytest.approx(40 / 280) and ws[2020] == pytest.approx(40 / 280)


def test_sample_winter_share_rises_after_the_regime_change(sample_db):
    rows = dict(sample_db.execute("""SELECT regime, winter_share FROM marts.khunjerab_before_after
        WHERE reporter='PAK' AND flow='X' AND basis='road' AND product_group='agro'""").fetchall())
    before, after = rows["before: closed Dec–Mar"], rows["after: year-round (from Dec 2024)"]
    assert before < 0.05 < 0.15 < after
    sums = [s for (s,) in sample_db.execute(
        "SELECT sum(seasonal_index) FROM marts.seasonality_index GROUP BY reporter, flow, basis, product_group, months_window").fetchall()]
    assert sums and all(s == pytest.approx(12) for s in sums)


def test_hhi_by_hand(sample_db):
    shares = [s for (s,) in sample_db.execute("SELECT share_of_agro FROM marts.agro_products WHERE reporter='PAK' AND flow='X' "
                                       "AND partner='CHN' AND year=2022").fetchall()]
    hhi = sample_db.execute("SELECT hhi FROM marts.agro_indicators WHERE reporter='PAK' AND flow='X' AND partner='CHN' "
                     "AND year=2022").fetchall()[0][0]
    assert hhi == pytest.approx(sum(s * s for s in shares)) and sum(shares) == pytest.approx(1)


def test_unit_values_skip_estimated_weights(sample_db):
    row = sample_db.execute("""SELECT a.usd_per_kg,
        (SELECT sum(value_usd) / sum(net_weight_kg) FROM marts.trade_flows t WHERE t.reporter='PAK' AND t.partner='CHN'
           AND t.flow='X' AND t.freq='A' AND t.year=2021 AND t.hs6='100630' AND NOT t.net_weight_estimated)
        FROM marts.agro_products a WHERE a.reporter='PAK' AND a.partner='CHN' AND a.flow='X' AND a.year=2021 AND a.hs6='100630'""").fetchall()[0]
    assert row[0] == pytest.approx(row[1])


def test_event_study_window_and_index(sample_db):
    rows = sample_db.execute("""SELECT months_from_event, period_start, exports_usd, pre_event_mean_usd, index_pre_mean_100
        FROM marts.gacc_event_study WHERE product LIKE 'Rice%' ORDER BY months_from_event""").fetchall()
    assert [r[0] for r in rows] == list(range(-12, 25))
    assert str(rows[12][1]) == "2021-06-01"  # event month of the rice approvals (June 2021)
    pre = sum(r[2] for r in rows[:12]) / 12
    assert rows[0][3] == pytest.approx(pre)
    assert rows[20][4] == pytest.approx(100 * rows[20][2] / pre)
    cherries = sample_db.execute("SELECT max(pre_event_mean_usd), max(index_pre_mean_100), max(exports_usd) FROM marts.gacc_event_study "
                          "WHERE event_type='exporters_approved' AND product LIKE 'Fresh cherries%'").fetchall()[0]
    assert cherries[0] == 0 and cherries[1] is None and cherries[2] > 0  # a new market: no index, a take-off


def test_every_event_and_goal_has_a_source(sample_db):
    assert sample_db.execute("SELECT count(*) FROM marts.gacc_event_study WHERE source_url NOT LIKE 'http%'").fetchall()[0][0] == 0
    targets = sample_db.execute("SELECT DISTINCT goal_id, target_source FROM marts.goal_progress WHERE target_value IS NOT NULL").fetchall()
    assert targets and all(src.startswith("https://") for _, src in targets)
    assert sample_db.execute("SELECT count(*) FROM marts.khunjerab_calendar WHERE source_url NOT LIKE 'http%'").fetchall()[0][0] == 0


def test_required_cagr_reproduces_by_hand(sample_db):
    r = sample_db.execute("""SELECT latest_actual, latest_year, target_value, target_year, required_cagr, baseline_value, status,
        target_path, actual, gap, nowcast_12m, nowcast_period_end::VARCHAR, cagr_start_value, cagr_start_time, status_target_path
        FROM marts.goal_progress WHERE goal_id='pak_exports_to_china' AND year = latest_year""").fetchall()[0]
    latest, ly, target, ty, cagr, base, status, path, actual, gap, nowcast, end, start, when, spath = r
    # the sample's monthly data run to Dec 2025, a year after the last annual year (2024): start from them
    assert (ly, end) == (2024, "2025-12-01") and (start, when) == (pytest.approx(nowcast), pytest.approx(2025.0))
    assert cagr == pytest.approx((target / nowcast) ** (1 / (ty - 2025)) - 1)
    assert target == pytest.approx(2 * base)
    assert path == pytest.approx(base * (target / base) ** ((ly - 2021) / (ty - 2021)))
    assert spath == pytest.approx(base * (target / base) ** ((2025 - 2021) / (ty - 2021)))
    assert gap == pytest.approx(actual - path) and status == ("on track" if nowcast >= spath else "off track")
    assert sample_db.execute("SELECT count(DISTINCT goal_id) FROM marts.goal_progress WHERE goal_id LIKE 'basket_%'").fetchall()[0][0] == 6


def test_goal_arithmetic_and_nowcast_on_a_hand_series():
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA marts")
    conn.execute("CREATE TABLE marts.s AS SELECT * FROM (VALUES (2020, 100.0), (2021, 110.0), (2022, 121.0)) t(year, value)")
    conn.execute("CREATE TABLE marts.m AS SELECT CAST(range AS DATE) period_start, 10.0 AS value "
                 "FROM range(DATE '2022-01-01', DATE '2023-07-01', INTERVAL 1 MONTH)")
    goals = [{"id": "g", "label": "G", "section": "S", "paraphrase": "p", "baseline_year": 2020, "unit": "US$",
              "metric": "SELECT year, value FROM marts.s", "monthly_metric": "SELECT period_start, value FROM marts.m",
              "target": {"value": 200.0, "year": 2025, "source": "https://example.org"}}]
    for name, rel in goal_tables(conn, goals).items():
        rel.create(f"marts.{name}")
    build(conn, "marts.goal_progress")
    r = conn.execute("SELECT year, target_path, gap, required_cagr, nowcast_12m, nowcast_period_end::VARCHAR, status "
                     "FROM marts.goal_progress ORDER BY year").fetchall()
    assert r[0][1] == pytest.approx(100) and r[2][1] == pytest.approx(100 * 2 ** (2 / 5))
    assert r[2][2] == pytest.approx(121 - 100 * 2 ** (2 / 5))
    assert r[2][4] == pytest.approx(120) and r[2][5] == "2023-06-01"
    # the 12 months to Jun 2023 stand at 2022.5, after the last annual year: the starting point is the nowcast
    assert r[2][3] == pytest.approx((200 / 120) ** (1 / 2.5) - 1)
    # judged against the path at Jun 2023: 100·2^(2.5/5) = 141.4 > 120 → off track
    assert r[2][6] == "off track"


@pytest.mark.parametrize("goal,fragment", [
    ({"metric": "SELECT year, nope AS value FROM marts.s"}, "does not run"),
    ({"metric": "SELECT year, value AS v FROM marts.s"}, "missing ['value']"),
    ({"metric": "SELECT 2020 AS year, 1 AS value UNION ALL SELECT 2020, 2"}, "more than one value"),
])
def test_a_wrong_metric_is_rejected_by_name(goal, fragment):
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts; CREATE TABLE marts.s AS SELECT 2020 AS year, 1.0 AS value")
    g = {"id": "bad_goal", "label": "x", "section": "s", "paraphrase": "p", "baseline_year": 2020, **goal}
    with pytest.raises(ConfigError, match="goal bad_goal") as err:
        goal_frames(conn, [g])
    assert fragment in str(err.value)


@pytest.mark.parametrize("name,text,fragment", [
    ("gacc_events.yaml", "- {date: 2023-13-01, product: X, hs: ['080929'], event_type: market_opened, source: 'https://a'}",
     "events[0] (product=X): date: '2023-13-01' is not a date (YYYY-MM-DD)"),
    ("gacc_events.yaml", "- {date: 2023-01-01, product: X, hs: ['0809'], event_type: market_opened, source: 'https://a'}",
     "events[0] (product=X): hs[0]: event HS codes must have 6 digits"),
    ("gacc_events.yaml", "- {date: 2023-01-01, product: X, hs: ['080929'], event_type: rumour, source: 'https://a'}",
     "events[0] (product=X): event_type: Input should be 'market_opened'"),
    ("gacc_events.yaml", "- {date: 2023-01-01, product: X, hs: ['080929'], event_type: market_opened, source: 'somewhere'}",
     "events[0] (product=X): source: must be a URL"),
    ("baskets.yaml", "energy: {label: Energy, hs: ['8507']}", "energy: rationale: missing (required)"),
    ("goals.yaml", "- {id: g, label: G, metric: 'SELECT 1', baseline_year: 2020}", "goals[0] (id=g): clause: missing"),
    ("goals.yaml", "- {id: g, label: G, metric: 'SELECT 1', baseline_year: 2020, clause: {section: s, paraphrase: p}, "
                   "target: {year: 2030, value: 5}}", "goals[0] (id=g): target.source: missing"),
    ("khunjerab.yaml", "seasonal_closure: {months: [12], until: 2024-11-30, source: 'https://a'}", "year_round: missing"),
])
def test_yaml_validation_errors(tmp_path, name, text, fragment):
    p = tmp_path / name
    p.write_text(text)
    loader = {"gacc_events.yaml": config.gacc_events, "baskets.yaml": config.baskets, "goals.yaml": config.goals,
              "khunjerab.yaml": config.khunjerab_months}[name]
    with pytest.raises(ConfigError, match=str(p).replace("\\", "/").split("/")[-1]) as err:
        loader(p)
    assert fragment in str(err.value)


def test_khunjerab_calendar_has_the_regimes(sample_db):
    cal = {str(d): (r, s) for d, r, s in sample_db.execute("SELECT month_start, regime, status FROM marts.khunjerab_calendar").fetchall()}
    assert cal["2022-01-01"] == ("seasonal_closure", "closed") and cal["2022-06-01"] == ("seasonal_closure", "open")
    assert cal["2020-12-01"][1] == "adhoc_opening" and cal["2023-02-01"][1] == "adhoc_opening"
    assert cal["2024-12-01"] == ("year_round", "open") and cal["2025-01-01"] == ("year_round", "open")
    # the 2025 sit-in at Sost (July to 29 Sep 2025): every month it covered, not only its end month
    assert [cal[f"2025-{m:02d}-01"][1] for m in range(6, 11)] == ["open", "suspended", "suspended", "suspended", "open"]


def goal_db(annual, monthly_from, monthly_to, monthly_value, target, target_year=2025, baseline=2020):
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA marts")
    conn.register("s", pd.DataFrame(annual, columns=["year", "value"]))
    conn.execute("CREATE TABLE marts.s AS SELECT * FROM s")
    conn.execute(f"CREATE TABLE marts.m AS SELECT CAST(range AS DATE) period_start, {monthly_value} AS value "
                 f"FROM range(DATE '{monthly_from}', DATE '{monthly_to}', INTERVAL 1 MONTH)")
    goals = [{"id": "g", "label": "G", "section": "S", "paraphrase": "p", "baseline_year": baseline, "unit": "US$",
              "metric": "SELECT year, value FROM marts.s", "monthly_metric": "SELECT period_start, value FROM marts.m",
              "target": {"value": target, "year": target_year, "source": "https://example.org"}}]
    for name, rel in goal_tables(conn, goals).items():
        rel.create(f"marts.{name}")
    build(conn, "marts.goal_progress")
    return conn


def test_required_cagr_starts_from_the_latest_complete_12_months():
    # annual data to 2022 (121); monthly data complete through Dec 2023 at 12 a month: 144 in 2023
    conn = goal_db([(2020, 100.0), (2021, 110.0), (2022, 121.0)], "2022-01-01", "2024-01-01", 12.0, 200.0)
    assert conn.execute("SELECT DISTINCT required_cagr, status FROM marts.goal_progress").fetchall() == [
        (pytest.approx((200 / 144) ** (1 / 2) - 1), "off track")]
    r = conn.execute("SELECT DISTINCT cagr_start_value, cagr_start_time, cagr_start_basis, required_cagr, status_target_path, "
                     "status, is_sample FROM marts.goal_progress").fetchall()
    assert len(r) == 1
    value, when, basis, cagr, path, status, is_sample = r[0]
    assert (value, when, basis) == (pytest.approx(144.0), pytest.approx(2023.0), "12 months to Dec 2023")
    assert cagr == pytest.approx((200 / 144) ** (1 / 2) - 1)  # main: (200/121)^(1/3) − 1 from 2022
    # the path at Dec 2023 is 100·2^(3/5) = 151.6 > 144: off track (main: 144 ≥ the 2022 path 132 → on track)
    assert path == pytest.approx(100 * 2 ** 0.6) and status == "off track"
    assert is_sample is False  # the metric reads hand tables without synthetic rows


def test_an_older_nowcast_does_not_replace_the_annual_starting_point():
    # the latest 12 complete months end Jun 2022 (2021.5), before the last annual year 2022
    conn = goal_db([(2020, 100.0), (2021, 110.0), (2022, 140.0)], "2021-01-01", "2022-07-01", 12.0, 200.0)
    value, when, cagr, path, status = conn.execute(
        "SELECT DISTINCT cagr_start_value, cagr_start_time, required_cagr, status_target_path, status FROM marts.goal_progress").fetchone()
    assert (value, when) == (pytest.approx(140.0), pytest.approx(2022.0))
    assert cagr == pytest.approx((200 / 140) ** (1 / 3) - 1)
    assert path == pytest.approx(100 * 2 ** 0.4) and status == "on track"  # 140 ≥ 131.95


def test_a_gap_in_the_months_is_no_12_month_nowcast():
    conn = goal_db([(2020, 100.0), (2021, 110.0), (2022, 121.0)], "2023-01-01", "2024-01-01", 12.0, 200.0)
    conn.execute("DELETE FROM marts.goal_actuals_monthly WHERE period_start = DATE '2023-05-01'")
    build(conn, "marts.goal_progress")
    assert conn.execute("SELECT DISTINCT nowcast_12m, cagr_start_basis FROM marts.goal_progress").fetchall() == [(None, "year 2022")]


def test_a_past_target_is_judged_met_or_missed():
    conn = goal_db([(2015, 14.0), (2016, 16.0), (2017, 18.0), (2018, 19.0), (2019, 21.0)], "2019-01-01", "2020-01-01", 1.0,
                   20.0, target_year=2018, baseline=2015)
    assert conn.execute("SELECT DISTINCT status, required_cagr FROM marts.goal_progress").fetchall() == [("missed", None)]


def test_a_target_below_the_baseline_is_a_reduction():
    # a gap of 30 % in 2019 to be cut to 10 % by 2027: at 27.4 % in 2024, above the path (0.30·(1/3)^(5/8) = 15.1 %)
    gap = [(2019, 0.30), (2020, 0.29), (2021, 0.285), (2022, 0.28), (2023, 0.277), (2024, 0.274)]
    conn = goal_db(gap, "2019-01-01", "2019-01-01", 0.0, 0.10, target_year=2027, baseline=2019)
    direction, path, cagr, status = conn.execute("SELECT direction, status_target_path, required_cagr, status "
                                                 "FROM marts.goal_progress WHERE year = 2024").fetchone()
    assert path == pytest.approx(0.30 * (1 / 3) ** (5 / 8)) and cagr == pytest.approx((0.10 / 0.274) ** (1 / 3) - 1)
    assert (direction, status) == ("reduction", "off track")  # main: 'on track' (27.4 % ≥ 15.1 %)
    conn = goal_db(gap[:-1] + [(2024, 0.12)], "2019-01-01", "2019-01-01", 0.0, 0.10, target_year=2027, baseline=2019)
    assert conn.execute("SELECT DISTINCT status FROM marts.goal_progress").fetchall() == [("on track",)]
    # a past reduction target is met at or below it
    conn = goal_db(gap[:-1] + [(2024, 0.09)], "2019-01-01", "2019-01-01", 0.0, 0.10, target_year=2024, baseline=2019)
    assert conn.execute("SELECT DISTINCT status FROM marts.goal_progress").fetchall() == [("met",)]  # main: 'missed'


@pytest.mark.parametrize("baseline,target,actual,status", [
    (-0.32, -0.10, -0.274, "off track"),  # a negative metric rising to −10 %: the path at 2024 is −18.25 %
    (-0.32, -0.10, -0.15, "on track"),
    (-0.05, 0.05, 0.0, "off track"),  # a metric changing sign: the path at 2024 is +1.25 % (a geometric one is NaN)
])
def test_a_target_path_not_between_positive_values_is_linear(baseline, target, actual, status):
    from tradeflow.report.goals import goal_figure

    conn = goal_db([(2019, baseline), (2024, actual)], "2019-01-01", "2019-01-01", 0.0, target, target_year=2027,
                   baseline=2019)
    path, spath, cagr, got = conn.execute("SELECT target_path, status_target_path, required_cagr, status "
                                          "FROM marts.goal_progress WHERE year = 2024").fetchone()
    assert path == pytest.approx(baseline + (target - baseline) * 5 / 8) and spath == pytest.approx(path)
    assert cagr is None and got == status  # no growth rate from or to a value ≤ 0
    # the goal's chart draws the same path
    fig = goal_figure("g", conn.execute("SELECT * FROM marts.goal_progress ORDER BY year").df()).figure
    drawn = dict(zip(*(next(t for t in fig.data if t.name == "target path")[k] for k in ("x", "y"))))
    assert drawn[2024] * 1e9 == pytest.approx(path) and drawn[2027] * 1e9 == pytest.approx(target)


def test_a_negative_target_value_is_accepted(tmp_path):
    p = tmp_path / "goals.yaml"
    p.write_text("- {id: g, label: G, metric: 'SELECT 1', baseline_year: 2019, clause: {section: s, paraphrase: p}, "
                 "target: {value: -0.10, year: 2027, source: 'https://example.org'}}")
    assert config.goals(p)[0]["target"]["value"] == -0.10


def test_a_goal_with_no_data_after_its_baseline_has_no_progress_to_judge():
    annual = [(2020, 100.0), (2021, 110.0), (2022, 121.0)]
    conn = goal_db(annual, "2022-01-01", "2022-01-01", 0.0, 200.0, baseline=2022)
    assert conn.execute("SELECT DISTINCT status FROM marts.goal_progress").fetchall() == [("baseline year",)]  # main: on track
    # the 12 months to Dec 2023 are progress to judge: 144 against the path 121·(200/121)^(1/3) = 143.1
    conn = goal_db(annual, "2022-01-01", "2024-01-01", 12.0, 200.0, baseline=2022)
    assert conn.execute("SELECT DISTINCT status FROM marts.goal_progress").fetchall() == [("on track",)]


def test_published_targets_from_figures_section_4(sample_db):
    goals = {g["id"]: g for g in config.goals()}
    uraan, bilateral = goals["pak_total_exports_uraan"]["target"], goals["bilateral_trade_2015_target"]["target"]
    assert (uraan["value"], uraan["year"]) == (60e9, 2029) and "not stated" in uraan["statement"]
    assert (bilateral["value"], bilateral["year"]) == (20e9, 2018)
    rows = dict(sample_db.execute("SELECT goal_id, (latest_actual, latest_year, required_cagr, status) FROM marts.goal_progress "
                                  "WHERE goal_id IN ('pak_total_exports_uraan', 'bilateral_trade_2015_target') AND year = latest_year").fetchall())
    latest, year, cagr, status = rows["pak_total_exports_uraan"]
    assert year == 2024 and latest == pytest.approx(31e9) and cagr == pytest.approx((60 / 31) ** (1 / 5) - 1)
    assert status == "baseline year"  # baseline 2024, no data after it: nothing to judge (main: 'on track', gap 0)
    actual_2018 = sample_db.execute("SELECT actual FROM marts.goal_progress WHERE goal_id = 'bilateral_trade_2015_target' "
                                    "AND year = 2018").fetchone()[0]
    assert rows["bilateral_trade_2015_target"][2] is None
    assert rows["bilateral_trade_2015_target"][3] == ("met" if actual_2018 >= 20e9 else "missed")


def test_khunjerab_dates_come_from_the_yaml(tmp_path):
    # a calendar whose year-round operation began two years earlier (Dec 2022)
    from importlib import resources

    text = resources.files("tradeflow.green_channel").joinpath("khunjerab.yaml").read_text(encoding="utf-8")
    moved = tmp_path / "khunjerab.yaml"
    moved.write_text(text.replace("until: 2024-11-30", "until: 2022-11-30").replace("from: 2024-12-02", "from: 2022-12-02"))
    y = [10, 10, 10, 30, 30, 30, 30, 30, 30, 30, 30, 10] * 6  # 2019–2024
    conn = seasonal_db(y, khunjerab=moved)
    for model in ("marts.khunjerab_indicators", "marts.seasonality_index", "marts.khunjerab_before_after"):
        build(conn, model)
    regimes = dict(conn.execute("SELECT year, regime FROM marts.khunjerab_indicators WHERE basis='road' AND product_group='all'").fetchall())
    assert (regimes[2021], regimes[2022], regimes[2023]) == ("seasonal_closure", "transition", "year_round")
    windows = {w for (w,) in conn.execute("SELECT DISTINCT months_window FROM marts.seasonality_index").fetchall()}
    assert windows == {"seasonal closure (to Nov 2022)", "whole series"}
    ba = dict(conn.execute("SELECT regime, seasons FROM marts.khunjerab_before_after WHERE basis='road' AND product_group='all'").fetchall())
    # seasons Apr 2019–Mar 2020 … Apr 2023–Mar 2024 are complete: 2019–2021 before, 2022–2023 after
    assert ba == {"before: closed Dec–Mar": 3, "after: year-round (from Dec 2022)": 2}
    # the built-in calendar gives the published regimes
    conn = seasonal_db(y)
    build(conn, "marts.khunjerab_indicators")
    regimes = dict(conn.execute("SELECT year, regime FROM marts.khunjerab_indicators WHERE basis='road' AND product_group='all'").fetchall())
    assert (regimes[2023], regimes[2024]) == ("seasonal_closure", "transition")


def test_a_suspension_needs_its_start(tmp_path):
    p = tmp_path / "khunjerab.yaml"
    p.write_text("seasonal_closure: {months: [12, 1, 2, 3], until: 2024-11-30, source: 'https://a'}\n"
                 "year_round: {from: 2024-12-02, source: 'https://b'}\n"
                 "events:\n  - {type: suspension, start: null, end: 2025-09-29, source: 'https://c'}\n")
    with pytest.raises(ConfigError, match=r"khunjerab\.yaml: events\[0\] \(type=suspension\): start and end dates are required"):
        config.khunjerab_months(p)


def test_the_ede_date_has_one_place_and_splits_months_at_their_midpoint():
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")

    build(conn, "marts.policy_markers")
    markers = dict(conn.execute("SELECT marker, CAST(event_date AS VARCHAR) FROM marts.policy_markers").fetchall())
    assert markers["ede"] == "2018-04-30" and markers["khunjerab_year_round"] == "2024-12-02"  # from khunjerab.yaml
    rows = [("CHN", "PAK", "X", "M", 2018, m, f"2018-{m:02d}-01", "520512", 10.0) for m in (3, 4, 5)]
    rows += [("CHN", "PAK", "X", "A", y, None, f"{y}-01-01", "520512", 100.0) for y in (2017, 2018, 2019, 2020)]
    conn.register("f", pd.DataFrame(rows, columns=["reporter", "partner", "flow", "freq", "year", "month", "period_start",
                                                   "hs6_2017", "value_usd"]))
    conn.execute("CREATE TABLE marts.trade_flows_hs2017 AS SELECT * REPLACE (CAST(month AS INTEGER) AS month), "
                 "false AS is_sample, DATE '2024-01-01' AS vintage, 'FOB' AS valuation FROM f")
    conn.execute("CREATE TABLE marts.reported_periods AS SELECT DISTINCT r.reporter, freq, year, CAST(month AS INTEGER) AS month "
                 "FROM f, (VALUES ('CHN'), ('PAK')) AS r(reporter)")  # both sides published every period
    build(conn, "marts.mirror_flows")
    regime = {(f, y, m): r for f, y, m, r in conn.execute(
        "SELECT DISTINCT freq, year, month, regime FROM marts.mirror_flows").fetchall()}
    # April 2018: the exchange started on the 30th, so the month was mostly before it (main: already 'EDE')
    assert regime[("M", 2018, 3)] == regime[("M", 2018, 4)] == "before EDE"
    assert regime[("M", 2018, 5)] == "EDE, before Phase II"
    assert (regime[("A", 2017, None)], regime[("A", 2018, None)], regime[("A", 2020, None)]) == (
        "before EDE", "EDE, before Phase II", "Phase II")
    # move the marker and the regimes move with it: one place for the date
    conn.execute("UPDATE marts.policy_markers SET event_date = DATE '2018-06-01' WHERE marker = 'ede'")
    build(conn, "marts.mirror_flows")
    assert conn.execute("SELECT DISTINCT regime FROM marts.mirror_flows WHERE freq = 'M' AND month = 5").fetchone()[0] == "before EDE"


def test_agro_growth_compares_the_same_months_of_the_previous_year():
    """2023 and 2024 complete, 2025 only Jan–Mar (a year still being reported). Agro trade 100 a month in 2023, 110 in
    2024 and 2025. By hand: 2024 on 2023 = 1320/1200 − 1 = +10 %; 2025 (Jan–Mar 330) on Jan–Mar 2024 (330) = 0,
    never 330/1320 − 1 = −75 %. 2022 has only Dec 2022 against no 2021: null."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE marts.trade_flows (reporter VARCHAR, partner VARCHAR, flow VARCHAR, freq VARCHAR,
        year INT, month INT, period_start DATE, hs6 VARCHAR, hs_version VARCHAR, value_usd DOUBLE, net_weight_kg DOUBLE, net_weight_estimated BOOLEAN,
        is_sample BOOLEAN)""")
    conn.execute("""CREATE TABLE marts.dim_hs AS SELECT * FROM (VALUES ('HS2017', '080450', 'Mangoes', true, true),
        ('HS2017', '847130', 'Laptops', false, false)) t(hs_version, code, description, is_agro, is_perishable)""")
    months = [(2022, 12, 100.0)] + [(2023, m, 100.0) for m in range(1, 13)] + [(2024, m, 110.0) for m in range(1, 13)]
    months += [(2025, m, 110.0) for m in range(1, 4)]
    rows = [("PAK", "CHN", "X", "M", y, m, f"{y}-{m:02d}-01", hs, "HS2017", v, 1.0, False, False)
            for y, m, v in months for hs in ("080450", "847130")]
    conn.executemany("INSERT INTO marts.trade_flows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    hs2017_as_reported(conn)
    for model in ("marts.agro_monthly", "marts.agro_products", "marts.agro_indicators"):
        build(conn, model)
    got = conn.execute("""SELECT year, months, is_complete, agro_usd, round(agro_growth, 12)
                          FROM marts.agro_indicators ORDER BY year""").fetchall()
    assert got == [(2022, 1, False, 100.0, None), (2023, 12, True, 1200.0, None), (2024, 12, True, 1320.0, 0.1),
                   (2025, 3, False, 330.0, 0.0)]


def test_perishable_share_counts_perishable_agro_only_never_fish():
    """Mangoes (agro, perishable) 10, frozen fish (perishable, not agro: WTO AoA Annex 1) 50, cotton yarn (agro, not
    perishable) 30. By hand: agro 40, perishable agro 10, share 10/40 = 0.25 (counting the fish: 60/40 = 1.5)."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE marts.trade_flows (reporter VARCHAR, partner VARCHAR, flow VARCHAR, freq VARCHAR,
        year INT, month INT, period_start DATE, hs6 VARCHAR, hs_version VARCHAR, value_usd DOUBLE, is_sample BOOLEAN)""")
    conn.execute("""CREATE TABLE marts.dim_hs AS SELECT * FROM (VALUES ('HS2017', '080450', true, true),
        ('HS2017', '030389', false, true), ('HS2017', '520100', true, false)) t(hs_version, code, is_agro, is_perishable)""")
    conn.execute("""INSERT INTO marts.trade_flows VALUES
        ('PAK', 'CHN', 'X', 'M', 2024, 1, DATE '2024-01-01', '080450', 'HS2017', 10, false),
        ('PAK', 'CHN', 'X', 'M', 2024, 1, DATE '2024-01-01', '030389', 'HS2017', 50, false),
        ('PAK', 'CHN', 'X', 'M', 2024, 1, DATE '2024-01-01', '520100', 'HS2017', 30, false)""")
    hs2017_as_reported(conn)
    build(conn, "marts.agro_monthly")
    assert conn.execute("SELECT agro_usd, perishable_usd, perishable_share_of_agro, total_usd FROM marts.agro_monthly"
                        ).fetchall() == [(40.0, 10.0, 0.25, 90.0)]


def _add_china_months(conn, start, periods):
    """China's own records (all modes) for months Pakistan's series does not have: the pair's data run longer."""
    months = pd.date_range(start, periods=periods, freq="MS")
    conn.executemany("INSERT INTO marts.trade_flows VALUES ('CHN', 'PAK', 'X', 'M', ?, ?, ?, '100630', 'HS2017', 50.0, true)",
                     [(d.year, d.month, d.date()) for d in months])
    build(conn, "marts.reported_periods")
    build(conn, "marts.monthly_by_basis")


def test_months_pakistan_has_not_published_are_not_zero_in_its_seasonal_index():
    """Pakistan's road exports Jan 2019–Dec 2021; China has also published Jan–Jun 2022. Pakistan's index must not
    move: its Jan–Jun 2022 are not released, not months without exports (main zero-filled them: Jan 1.11 → 0.79)."""
    y = [100 + 40 * ((m * 7) % 12) + 5 * i for i, m in enumerate([m for _ in range(3) for m in range(1, 13)])]
    alone = seasonal_db(y)
    build(alone, "marts.seasonality_index")
    q = """SELECT basis, product_group, months_window, month, seasonal_index, n_ratios FROM marts.seasonality_index
           WHERE reporter = 'PAK' ORDER BY ALL"""
    expected = alone.execute(q).fetchall()
    assert len(expected) == 2 * 2 * 2 * 12  # road and all modes, all and agro, two windows
    with_china = seasonal_db(y)
    _add_china_months(with_china, "2022-01-01", 6)
    build(with_china, "marts.seasonality_index")
    got = with_china.execute(q).fetchall()
    assert [r[:4] + (r[5],) for r in got] == [r[:4] + (r[5],) for r in expected]
    assert [r[4] for r in got] == pytest.approx([r[4] for r in expected], rel=1e-12)


def test_a_season_pakistan_has_only_partly_published_is_not_a_season():
    """Pakistan's road exports from Jan 2020 to Mar 2022, China's records from Jan 2019: Pakistan's complete seasons
    (April–March) are 2020 and 2021. Season 2019 holds only Jan–Mar 2020 of Pakistan's and is left out (main counted
    it, a winter share of 1.0 for that season)."""
    y = [10, 10, 10, 30, 30, 30, 30, 30, 30, 30, 30, 10] * 2 + [10, 10, 10]  # Jan 2020 – Mar 2022
    conn = seasonal_db(y, start="2020-01-01")
    _add_china_months(conn, "2019-01-01", 12)
    build(conn, "marts.khunjerab_before_after")
    got = conn.execute("""SELECT seasons, first_season, last_season, winter_share FROM marts.khunjerab_before_after
        WHERE reporter = 'PAK' AND basis = 'road' AND product_group = 'all'""").fetchall()
    assert got == [(2, 2020, 2021, pytest.approx(40 / 280))]


def test_a_period_one_side_has_not_published_has_no_mirror_row():
    """China reports exports to Pakistan for 2021–2023; Pakistan has published 2021 (imports from China) and 2023 (only
    its World total: no imports of this line from China, a real zero), not 2022. Mirror rows: 2021 and 2023; 2022 is not
    a −100 % gap (main: importer 0, gap −exporter)."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    rows = [("CHN", "PAK", "X", y, "850440", 100.0) for y in (2021, 2022, 2023)]
    rows += [("PAK", "CHN", "M", 2021, "850440", 106.0), ("PAK", "WLD", "M", 2023, "850440", 500.0)]
    conn.register("f", pd.DataFrame(rows, columns=["reporter", "partner", "flow", "year", "hs6", "value_usd"]))
    build(conn, "marts.policy_markers")
    conn.execute("""CREATE TABLE marts.trade_flows AS SELECT reporter, partner, flow, 'A' AS freq, year,
        CAST(NULL AS INTEGER) AS month, make_date(year, 1, 1) AS period_start, hs6, value_usd, false AS is_sample FROM f""")
    conn.execute("CREATE TABLE marts.trade_flows_by_mode AS SELECT reporter, period_start FROM marts.trade_flows LIMIT 0")
    conn.execute("""CREATE TABLE marts.trade_flows_hs2017 AS SELECT * EXCLUDE (hs6), hs6 AS hs6_2017,
        DATE '2024-06-01' AS vintage, CASE flow WHEN 'M' THEN 'CIF' ELSE 'FOB' END AS valuation FROM marts.trade_flows""")
    build(conn, "marts.reported_periods")
    build(conn, "marts.mirror_flows")
    got = conn.execute("""SELECT year, exporter_fob_usd, importer_cif_usd, round(gap_ratio, 12) FROM marts.mirror_flows
        WHERE direction = 'CHN→PAK' AND is_default_factor ORDER BY year""").fetchall()
    assert got == [(2021, 100.0, 106.0, 0.0), (2023, 100.0, 0.0, -1.0)]


def test_a_valuation_sent_as_0_is_not_the_records_valuation():
    """Comtrade sends the valuation a record does not use as null or as 0: a real monthly preview record carries
    cifvalue 0 beside fobvalue = primaryValue. Read as CIF (main: cifvalue not null), an FOB import would be divided
    by the CIF/FOB factor in marts.mirror_flows (912.2 m as 860.6 m at 1.06)."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE marts.trade_flows AS SELECT 'PAK' reporter, 'CHN' partner, 'M' flow, 'M' freq, 2022 AS year,
        1 AS month, DATE '2022-01-01' period_start, hs6, 'HS2017' hs_version, v value_usd, NULL::DOUBLE net_weight_kg,
        false net_weight_estimated, cif cif_usd, fob fob_usd, DATE '2022-03-01' vintage, false is_sample
        FROM (VALUES ('711319', 912208653.293, 0.0, 912208653.293), ('711320', 100.0, 100.0, 0.0),
                     ('711311', 50.0, 50.0, NULL), ('711319', 0.0, 0.0, 0.0)) t(hs6, v, cif, fob)""")
    conn.execute("""CREATE TABLE marts.hs_concordance (from_version VARCHAR, from_code VARCHAR, to_version VARCHAR,
                    to_code VARCHAR, weight DOUBLE, is_ambiguous BOOLEAN)""")
    build(conn, "marts.trade_flows_hs2017")
    got = conn.execute("SELECT hs6_2017, value_usd, valuation FROM marts.trade_flows_hs2017 ORDER BY ALL").fetchall()
    assert got == [("711311", 50.0, "CIF"), ("711319", 0.0, "CIF"), ("711319", 912208653.293, "FOB"),
                   ("711320", 100.0, "CIF")]


def test_imports_the_importer_values_fob_are_not_divided_by_the_factor():
    """Pakistan values 2021's imports of 850440 CIF (106) and 850450 FOB (100: cifvalue empty, fobvalue given, as
    Comtrade serves an importer compiling FOB); China reports exports of 100 each. At factor 1.06 both gaps are 0;
    main divided the FOB value again (100 / 1.06 = 94.34: a gap of −5.66)."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    rows = [("CHN", "PAK", "X", "850440", 100.0, "FOB"), ("CHN", "PAK", "X", "850450", 100.0, "FOB"),
            ("PAK", "CHN", "M", "850440", 106.0, "CIF"), ("PAK", "CHN", "M", "850450", 100.0, "FOB")]
    conn.register("f", pd.DataFrame(rows, columns=["reporter", "partner", "flow", "hs6_2017", "value_usd", "valuation"]))
    build(conn, "marts.policy_markers")
    conn.execute("""CREATE TABLE marts.trade_flows_hs2017 AS SELECT reporter, partner, flow, 'A' AS freq, 2021 AS year,
        CAST(NULL AS INTEGER) AS month, hs6_2017, value_usd, valuation, false AS is_sample, DATE '2024-06-01' AS vintage FROM f""")
    conn.execute("""CREATE TABLE marts.reported_periods AS SELECT * FROM (VALUES ('CHN'), ('PAK')) AS r(reporter),
        (SELECT 'A' AS freq, 2021 AS year, CAST(NULL AS INTEGER) AS month)""")
    build(conn, "marts.mirror_flows")
    got = conn.execute("""SELECT hs6, importer_cif_usd, importer_reported_fob_usd, round(importer_fob_usd, 9), round(gap_usd, 9)
        FROM marts.mirror_flows WHERE direction = 'CHN→PAK' AND cif_fob_factor = 1.06 ORDER BY hs6""").fetchall()
    assert got == [("850440", 106.0, 0.0, 100.0, 0.0), ("850450", 0.0, 100.0, 100.0, 0.0)]


def agro_db(other: tuple[str, str, bool, bool]) -> duckdb.DuckDBPyConnection:
    """An empty marts.trade_flows and a dim_hs of mangoes (agro, perishable) and ``other`` (code, name, agro,
    perishable), HS2017."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE marts.trade_flows (reporter VARCHAR, partner VARCHAR, flow VARCHAR, freq VARCHAR,
        year INT, month INT, period_start DATE, hs6 VARCHAR, hs_version VARCHAR, value_usd DOUBLE, net_weight_kg DOUBLE,
        net_weight_estimated BOOLEAN, is_sample BOOLEAN)""")
    hs2017_as_reported(conn)
    conn.execute("CREATE TABLE marts.dim_hs AS SELECT * FROM (VALUES ('HS2017', '080450', 'Mangoes', true, true), "
                 "('HS2017', ?, ?, ?, ?)) t(hs_version, code, description, is_agro, is_perishable)", list(other))
    return conn


def test_agro_concentration_describes_the_months_the_values_cover():
    """2024 has Jan–Mar reported by month (mangoes 30 a month, rice 10) and a whole-year annual record (100 each);
    2025 has January only (mangoes 5). By hand on the months: 2024 shares 0.75 / 0.25, H = 0.625, top mangoes 0.75;
    2025 H = 1. Main took H from the annual records: 0.5 for 2024 against Jan–Mar values, none for 2025."""
    conn = agro_db(("100630", "Rice", True, False))
    rows = [("M", 2024, m, "080450", 30.0) for m in (1, 2, 3)] + [("M", 2024, m, "100630", 10.0) for m in (1, 2, 3)]
    rows += [("A", 2024, None, "080450", 100.0), ("A", 2024, None, "100630", 100.0), ("M", 2025, 1, "080450", 5.0)]
    conn.executemany("INSERT INTO marts.trade_flows VALUES ('PAK', 'CHN', 'X', ?, ?, ?, make_date(?, coalesce(?, 1), 1), "
                     "?, 'HS2017', ?, 1.0, false, false)", [(f, y, m, y, m, hs, v) for f, y, m, hs, v in rows])
    for model in ("marts.agro_monthly", "marts.agro_products", "marts.agro_indicators"):
        build(conn, model)
    got = conn.execute("""SELECT year, months, agro_usd, round(hhi, 12), agro_lines, top_hs6, top_share
                          FROM marts.agro_indicators ORDER BY year""").fetchall()
    assert got == [(2024, 3, 120.0, 0.625, 2, "080450", 0.75), (2025, 1, 5.0, 1.0, 1, "080450", 1.0)]


def test_agro_products_keeps_a_years_lines_when_its_reference_list_was_not_archived():
    """A live 2022 in HS2022 whose H6 list failed to archive (that only warns): dim_hs has HS2017 rows only. Agro is
    classed from the reported code, so 2022 keeps mangoes 080450 (60) and HS2022 240412 (40, chapter 24: agro in
    HS2022), shares 0.6 / 0.4, unnamed; laptops 847130 stay out. Main joined dim_hs on the version and lost 2022."""
    conn = agro_db(("847130", "Laptops", False, False))
    conn.execute("""INSERT INTO marts.trade_flows VALUES
        ('PAK', 'CHN', 'X', 'A', 2021, NULL, DATE '2021-01-01', '080450', 'HS2017', 50, 1.0, false, false),
        ('PAK', 'CHN', 'X', 'A', 2022, NULL, DATE '2022-01-01', '080450', 'HS2022', 60, 1.0, false, false),
        ('PAK', 'CHN', 'X', 'A', 2022, NULL, DATE '2022-01-01', '240412', 'HS2022', 40, 1.0, false, false),
        ('PAK', 'CHN', 'X', 'A', 2022, NULL, DATE '2022-01-01', '847130', 'HS2022', 900, 1.0, false, false)""")
    build(conn, "marts.agro_products")
    got = conn.execute("""SELECT year, hs6, hs_version, description, value_usd, share_of_agro
                          FROM marts.agro_products ORDER BY year, hs6""").fetchall()
    assert got == [(2021, "080450", "HS2017", "Mangoes", 50.0, 1.0), (2022, "080450", "HS2022", None, 60.0, 0.6),
                   (2022, "240412", "HS2022", None, 40.0, 0.4)]


def test_every_basket_prefix_names_hs2017_codes(shared):
    """Baskets are matched on HS2017 codes: a prefix no HS2017 code starts with counts nothing, silently (842481,
    HS2012's agricultural sprayers, became 842441 and 842449 in HS2017)."""
    import csv

    h5 = {r["id"] for r in csv.DictReader(open(shared / "data/hs/comtrade_HS2017_H5_codes.csv", encoding="utf-8"))}
    prefixes = set(config.baskets()["hs_prefix"])
    assert prefixes and {p for p in prefixes if not any(c.startswith(p) for c in h5)} == set()


def test_a_year_whose_agro_lines_are_all_zero_builds_with_no_concentration():
    """Agro lines reported at 0 (a value the gates accept): shares of a zero total do not exist, so HHI and the top
    share are NULL, never NaN (whose cast to DECIMAL failed the whole build)."""
    conn = agro_db(("847130", "Laptops", False, False))
    conn.execute("""INSERT INTO marts.trade_flows VALUES
        ('PAK', 'CHN', 'X', 'M', 2024, 1, DATE '2024-01-01', '080450', 'HS2017', 0, 1.0, false, false),
        ('PAK', 'CHN', 'X', 'M', 2024, 1, DATE '2024-01-01', '847130', 'HS2017', 9, 1.0, false, false),
        ('PAK', 'CHN', 'X', 'A', 2024, NULL, DATE '2024-01-01', '080450', 'HS2017', 0, 1.0, false, false)""")
    for model in ("marts.agro_monthly", "marts.agro_products", "marts.agro_indicators"):
        build(conn, model)
    assert conn.execute("SELECT agro_usd, agro_share, hhi, top_share FROM marts.agro_indicators").fetchall() == [
        (0.0, 0.0, None, None)]
    assert conn.execute("SELECT share_of_agro FROM marts.agro_products").fetchall() == [(None,)]


@pytest.mark.parametrize("order", ["opening first", "suspension first"])
def test_a_suspension_wins_over_an_adhoc_opening_in_the_same_month_whatever_the_order(tmp_path, order):
    """December 2020: closed for the season, an ad-hoc opening and a suspension both in the month. Suspended either
    way (main: whichever the file listed last)."""
    events = ["  - {type: adhoc_opening, start: 2020-12-10, end: 2020-12-20, source: 'https://o'}",
              "  - {type: suspension, start: 2020-12-01, end: 2020-12-31, source: 'https://s'}"]
    p = tmp_path / "khunjerab.yaml"
    p.write_text("seasonal_closure: {months: [12, 1, 2, 3], until: 2024-11-30, source: 'https://a'}\n"
                 "year_round: {from: 2024-12-02, source: 'https://b'}\nevents:\n"
                 + "\n".join(events if order == "opening first" else events[::-1]) + "\n")
    cal = config.khunjerab_months(p).set_index("month_start")
    assert (cal.loc[pd.Timestamp("2020-12-01").date(), "status"], cal.loc[pd.Timestamp("2020-12-01").date(), "source_url"]) == (
        "suspended", "https://s")


def test_a_goal_without_the_data_to_judge_it_says_so():
    from tradeflow.report.goals import scorecard

    # no value in the baseline year 2019: no target path, no direction (main: 'off track' against a NULL path)
    conn = goal_db([(2020, 100.0), (2021, 110.0), (2022, 121.0)], "2022-01-01", "2022-01-01", 0.0, 200.0, baseline=2019)
    assert conn.execute("SELECT DISTINCT status, status_target_path FROM marts.goal_progress").fetchall() == [
        ("no baseline data", None)]
    # a past target year with no value in it (main: 'missed')
    conn = goal_db([(2015, 14.0), (2016, 16.0), (2019, 21.0)], "2019-01-01", "2019-01-01", 0.0, 20.0,
                   target_year=2018, baseline=2015)
    assert conn.execute("SELECT DISTINCT status FROM marts.goal_progress").fetchall() == [("no data for target year",)]
    # a metric with no rows at all keeps its goal on the scorecard (main: the goal vanished from the mart and page)
    conn = goal_db([], "2019-01-01", "2019-01-01", 0.0, 20.0, target_year=2018, baseline=2015)
    assert conn.execute("SELECT goal_id, year, actual, status FROM marts.goal_progress").fetchall() == [
        ("g", 2015, None, "no data")]
    card = scorecard(conn.execute("SELECT * FROM marts.goal_progress").df())
    assert card[["goal", "status"]].values.tolist() == [["G", "no data"]]


def test_agro_counts_the_same_goods_before_and_after_a_reporters_switch_to_hs2022():
    """China's monthly exports to Pakistan, 2021 in HS2017 (H5): 382499 (chapter 38, not agro) 10 and rice 100630 20
    each month; 2022 in HS2022 (H6): HS2022 moved nicotine liquids out of 3824.99 into 2404.12 (chapter 24, agro in
    HS2022 terms), so 240412 4, 382499 6 and rice 20. On one basis (HS2017: 240412 → 382499) agro is rice alone,
    20 × 12 = 240 both years: growth 0, agro share 240 / 360 (main: 2022 agro 288, share 0.8, growth +20 % that is
    only the nomenclature; the same in the Khunjerab series' agro group and the plan goal). The classes come from the
    codes (sql/macros/agro.sql), so no reference list is needed for them."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    rows = [(2021, m, "HS2017", c, v) for m in range(1, 13) for c, v in (("382499", 10.0), ("100630", 20.0))]
    rows += [(2022, m, "HS2022", c, v) for m in range(1, 13) for c, v in (("240412", 4.0), ("382499", 6.0), ("100630", 20.0))]
    conn.execute("""CREATE TABLE marts.trade_flows (reporter VARCHAR, partner VARCHAR, flow VARCHAR, freq VARCHAR, year INT,
        month INT, period_start DATE, hs6 VARCHAR, hs_version VARCHAR, value_usd DOUBLE, net_weight_kg DOUBLE,
        net_weight_estimated BOOLEAN, cif_usd DOUBLE, fob_usd DOUBLE, vintage DATE, is_sample BOOLEAN)""")
    conn.executemany("""INSERT INTO marts.trade_flows VALUES ('CHN', 'PAK', 'X', 'M', ?, ?, make_date(?, ?, 1), ?, ?, ?,
                        NULL, false, NULL, ?, DATE '2024-01-01', false)""",
                     [(y, m, y, m, c, v, val, val) for y, m, v, c, val in rows])
    conn.execute("""CREATE TABLE marts.trade_flows_by_mode AS SELECT *, 3200 AS mot_code, 'road' AS mode
                    FROM marts.trade_flows""")
    conn.execute("""CREATE TABLE marts.hs_concordance AS SELECT * FROM (VALUES
        ('HS2022', '240412', 'HS2017', '382499', 1.0, false), ('HS2022', '382499', 'HS2017', '382499', 1.0, false),
        ('HS2022', '100630', 'HS2017', '100630', 1.0, false))
        t(from_version, from_code, to_version, to_code, weight, is_ambiguous)""")
    for model in ("marts.trade_flows_hs2017", "marts.agro_monthly", "marts.agro_indicators", "marts.monthly_by_basis"):
        build(conn, model)
    got = conn.execute("""SELECT year, agro_usd, total_usd, agro_share, agro_growth, agro_lines, top_hs6
                          FROM marts.agro_indicators ORDER BY year""").fetchall()
    assert got == [(2021, 240.0, 360.0, pytest.approx(2 / 3), None, 1, "100630"),
                   (2022, 240.0, 360.0, pytest.approx(2 / 3), pytest.approx(0.0), 1, "100630")]
    agro = conn.execute("""SELECT basis, year, sum(value_usd) FROM marts.monthly_by_basis WHERE product_group = 'agro'
                           GROUP BY ALL ORDER BY ALL""").fetchall()
    assert agro == [("all_modes", 2021, 240.0), ("all_modes", 2022, 240.0), ("road", 2021, 240.0), ("road", 2022, 240.0)]
    # the plan goal "agro exports to China" (goals.yaml), on Pakistan's records: the same pair reported by Pakistan
    # (an annual record per year: January's lines)
    conn.execute("UPDATE marts.trade_flows SET reporter = 'PAK', partner = 'CHN'")
    conn.execute("INSERT INTO marts.trade_flows SELECT * REPLACE ('A' AS freq) FROM marts.trade_flows WHERE month = 1")
    build(conn, "marts.trade_flows_hs2017")
    [goal] = [g for g in config.goals(basket_table=pd.DataFrame(columns=["basket", "label", "hs_prefix"]))
              if g["id"] == "agro_exports_to_china"]
    annual = conn.execute(f"SELECT year, value FROM ({goal['metric']}) ORDER BY year").fetchall()
    monthly = conn.execute(f"""SELECT year(period_start), sum(value) FROM ({goal['monthly_metric']})
                               GROUP BY ALL ORDER BY ALL""").fetchall()
    assert annual == [(2021, 20.0), (2022, 20.0)] and monthly == [(2021, 240.0), (2022, 240.0)]
