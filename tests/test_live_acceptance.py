"""Issue 10 acceptance: `tradeflow refresh --source live` end to end against a fake that serves what the real
API serves — the real reference lists (Reporters and partnerAreas both hold 156 and 586), byte-identical bodies on
retries and across a revision, a storm of first-attempt faults — reproduces every (reporter, partner, flow, freq,
period) cell exactly; and one failed period publishes the rest and exits non-zero naming it.

The cell test needs the staging.countries dedupe of the warehouse half of issue 10 (branch issue-10b): without it
dim_country holds 156 and 586 twice and every cell fans out."""

import math
from collections import defaultdict

import duckdb
import pytest
from click.testing import CliRunner

from tests.fakes.comtrade_server import Fault, FakeComtrade, Storm, sample_records
from tests.fakes.wits_server import FakeWits

KEY = "ACCEPT-KEY-0123456789"
ISO = {586: "PAK", 156: "CHN", 0: "WLD"}


@pytest.fixture(scope="module")
def store():
    return sample_records({"2021", "2022"} | {f"{y}{m:02d}" for y in (2021, 2022) for m in range(1, 13)})


@pytest.fixture
def live_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    monkeypatch.setenv("TRADEFLOW_COMTRADE_RATE", "1000")
    monkeypatch.setenv("TRADEFLOW_WITS_RATE", "1000")
    monkeypatch.setenv("TRADEFLOW_HTTP_BACKOFF", "0.01")
    monkeypatch.setenv("TRADEFLOW_COMTRADE_CAP", "141")  # the larger bodies must be split (by the real H5/H6 lists)
    return tmp_path / "home"


def expected_cells(records) -> dict[tuple, tuple[int, float]]:
    cells: dict[tuple, list] = defaultdict(lambda: [0, 0.0])
    for r in records:
        if r["reporterCode"] in (586, 156) and r["motCode"] == 0 and r["aggrLevel"] == 6:
            key = (ISO[r["reporterCode"]], ISO[r["partnerCode"]], r["flowCode"], r["freqCode"], r["refYear"],
                   r["refMonth"] if r["freqCode"] == "M" else None)
            cells[key][0] += 1
            cells[key][1] += r["primaryValue"]
    return {k: (n, v) for k, (n, v) in cells.items()}


def published_cells(home) -> dict[tuple, tuple[int, float]]:
    conn = duckdb.connect(str(home / "published" / "tradeflow.duckdb"), read_only=True)
    try:
        rows = conn.execute("SELECT reporter, partner, flow, freq, year, month, count(*), sum(value_usd) "
                            "FROM marts.trade_flows GROUP BY ALL").fetchall()
    finally:
        conn.close()
    return {tuple(r[:6]): (r[6], r[7]) for r in rows}


def assert_same_cells(got, want):
    assert set(got) == set(want), (sorted(set(want) - set(got))[:5], sorted(set(got) - set(want))[:5])
    wrong = [(k, got[k], want[k]) for k in want
             if got[k][0] != want[k][0] or not math.isclose(got[k][1], want[k][1], rel_tol=1e-9)]
    assert not wrong, wrong[:5]


@pytest.mark.slow
def test_live_refresh_on_real_reference_lists_reproduces_every_cell_through_storms_and_revisions(
        shared, store, live_env, monkeypatch):
    home = live_env
    storm = Storm(rate_429=0.20, rate_500=0.12, rate_truncate=0.06, retry_after="0")
    with FakeComtrade(list(store), key=KEY, reference=shared / "data", storm=storm) as fake, FakeWits() as wits:
        monkeypatch.setenv("TRADEFLOW_COMTRADE_URL", fake.url)
        monkeypatch.setenv("TRADEFLOW_WITS_URL", wits.url)
        from pipelines.refresh import run_refresh

        first = run_refresh("live", "2021-2022")
        assert first.success, first.error
        assert sum(fake.storm_hits.values()) > 50  # the storm really blew
        ref = duckdb.connect(str(home / "published" / "tradeflow.duckdb"), read_only=True)
        try:  # the real lists were loaded, repeats and all
            assert ref.execute("SELECT count(*) FROM raw.reference_countries WHERE m49 IN (156, 586)").fetchall()[0][0] >= 4
        finally:
            ref.close()
        assert_same_cells(published_cells(home), expected_cells(store))

        # Pakistan revises one record of 2022; every other piece of 2022 comes back byte-identical
        target = next(r for r in store if r["reporterCode"] == 586 and r["period"] == "2022" and r["partnerCode"] == 156
                      and r["aggrLevel"] == 6)
        revised = [{**r, "primaryValue": r["primaryValue"] + 12345.0} if r is target else r for r in store]
        fake.set_records(revised)
        fake.release[(586, "2022")] = "2025-04-01T00:00:00"
        second = run_refresh("live", "2021-2022")
        assert second.success, second.error
        assert second.assets["archive/comtrade_annual"]["new_bodies"] > 0
        assert_same_cells(published_cells(home), expected_cells(revised))


@pytest.mark.slow
def test_one_failed_period_publishes_the_others_and_exits_non_zero_naming_it(store, live_env, monkeypatch):
    from tradeflow.cli import main

    home = live_env
    faults = [Fault("drop_field", path="/data/v1/get/", period="202103", times=99)]  # Pakistan and China, March
    with FakeComtrade(list(store), key=KEY, faults=faults) as fake, FakeWits() as wits:
        monkeypatch.setenv("TRADEFLOW_COMTRADE_URL", fake.url)
        monkeypatch.setenv("TRADEFLOW_WITS_URL", wits.url)
        res = CliRunner().invoke(main, ["refresh", "--source", "live", "--years", "2021"])
    assert res.exit_code == 1, res.output
    out = " ".join(res.output.split())
    assert "refresh incomplete (published what arrived)" in out
    assert "reporter 586 period 202103 (monthly)" in out and "reporter 156 period 202103 (monthly)" in out
    assert "primaryValue" in out and "next run retries them" in out and "Traceback" not in out
    assert "calls ·" not in out and "queries:" not in out  # no progress bar in a non-terminal
    # the snapshot holds every other period of 2021, and nothing for March
    conn = duckdb.connect(str(home / "published" / "tradeflow.duckdb"), read_only=True)
    try:
        months = {m for (m,) in conn.execute(
            "SELECT DISTINCT month FROM marts.trade_flows WHERE freq = 'M' AND year = 2021").fetchall()}
        annual = conn.execute("SELECT count(*) FROM marts.trade_flows WHERE freq = 'A' AND year = 2021").fetchall()[0][0]
    finally:
        conn.close()
    assert months == set(range(1, 13)) - {3}
    assert annual == sum(1 for r in store if r["freqCode"] == "A" and r["period"] == "2021" and r["motCode"] == 0
                         and r["reporterCode"] in (586, 156) and r["aggrLevel"] == 6)
    from tradeflow import runlog

    [last] = [r for r in runlog.runs(home) if r.kind == "run"]
    assert not last.success and "202103" in last.error
    assert runlog.last_publish(home) is not None  # ... and the snapshot was published
