"""Agro green channel: seasonality index, winter share, HHI, event windows, goal arithmetic, YAML validation."""

import duckdb
import pandas as pd
import pytest

from tradeflow.errors import ConfigError
from tradeflow.green_channel import config
from tradeflow.green_channel.goals import goal_frames
from tradeflow.warehouse.db import build


def seasonal_db(values, start="2019-01-01"):
    """A tiny warehouse whose only series is PAK road exports with the given monthly values."""
    months = pd.date_range(start, periods=len(values), freq="MS")
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.register("v", pd.DataFrame({"period_start": months.date, "value_usd": values}))
    conn.execute("""CREATE TABLE marts.trade_flows_by_mode AS SELECT 'PAK' reporter, 'CHN' partner, 'X' flow,
        year(period_start) AS year, month(period_start) AS month, period_start, '100630' hs6, 'HS2017' hs_version,
        3200 AS mot_code, 'road' mode, value_usd, true AS is_sample FROM v""")
    conn.execute("""CREATE TABLE marts.trade_flows AS SELECT 'PAK' reporter, 'CHN' partner, 'X' flow, 'M' freq,
        year(period_start) AS year, month(period_start) AS month, period_start, '100630' hs6, 'HS2017' hs_version, value_usd,
        true is_sample FROM v""")
    conn.execute("CREATE TABLE marts.dim_hs AS SELECT 'HS2017' hs_version, '100630' code, true is_agro")
    build(conn, "marts.monthly_by_basis")
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
        target_path, actual, gap FROM marts.goal_progress WHERE goal_id='pak_exports_to_china' AND year = latest_year""").fetchall()[0]
    latest, ly, target, ty, cagr, base, status, path, actual, gap = r
    assert cagr == pytest.approx((target / latest) ** (1 / (ty - ly)) - 1)
    assert target == pytest.approx(2 * base)
    assert path == pytest.approx(base * (target / base) ** ((ly - 2021) / (ty - 2021)))
    assert gap == pytest.approx(actual - path) and status in ("on track", "off track")
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
    for name, frame in goal_frames(conn, goals).items():
        conn.register(name, frame)
    for model in ("raw.goals", "raw.goal_series", "raw.goal_monthly", "marts.goal_progress"):
        build(conn, model)
    r = conn.execute("SELECT year, target_path, gap, required_cagr, nowcast_12m, nowcast_period_end::VARCHAR, status "
                     "FROM marts.goal_progress ORDER BY year").fetchall()
    assert r[0][1] == pytest.approx(100) and r[2][1] == pytest.approx(100 * 2 ** (2 / 5))
    assert r[2][2] == pytest.approx(121 - 100 * 2 ** (2 / 5))
    assert r[2][3] == pytest.approx((200 / 121) ** (1 / 3) - 1)
    assert r[2][4] == pytest.approx(120) and r[2][5] == "2023-06-01"
    assert r[2][6] == ("on track" if max(121, 120) >= 100 * 2 ** 0.4 else "off track")


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
     "YYYY-MM-DD"),
    ("gacc_events.yaml", "- {date: 2023-01-01, product: X, hs: ['0809'], event_type: market_opened, source: 'https://a'}",
     "6 digits"),
    ("gacc_events.yaml", "- {date: 2023-01-01, product: X, hs: ['080929'], event_type: rumour, source: 'https://a'}",
     "event_type"),
    ("gacc_events.yaml", "- {date: 2023-01-01, product: X, hs: ['080929'], event_type: market_opened, source: 'somewhere'}",
     "must be a URL"),
    ("baskets.yaml", "energy: {label: Energy, hs: ['8507']}", "rationale"),
    ("goals.yaml", "- {id: g, label: G, metric: 'SELECT 1', baseline_year: 2020}", "clause"),
    ("goals.yaml", "- {id: g, label: G, metric: 'SELECT 1', baseline_year: 2020, clause: {section: s, paraphrase: p}, "
                   "target: {year: 2030, value: 5}}", "source must be a URL"),
    ("khunjerab.yaml", "seasonal_closure: {months: [12], until: 2024-11-30, source: 'https://a'}", "missing"),
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
    assert cal["2025-09-01"][1] == "suspension_ended"
