"""`tradeflow refresh --source live` end to end against a misbehaving fake Comtrade on 127.0.0.1."""

import gzip

import dagster as dg
import duckdb
import pytest

from tests.fakes.comtrade_server import Fault, FakeComtrade, sample_records
from tests.fakes.wits_server import FakeWits
from tests.test_refresh import marts_digest
from tradeflow.sources.comtrade_refresh import asked

KEY = "LIVE-KEY-abcdef0123"
YEARS = "2021-2022"


@pytest.fixture(scope="module")
def store():
    periods = {"2021", "2022"} | {f"{y}{m:02d}" for y in (2021, 2022) for m in range(1, 13)}
    return sample_records(periods)


@pytest.fixture
def live_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    monkeypatch.setenv("TRADEFLOW_COMTRADE_RATE", "1000")
    monkeypatch.setenv("TRADEFLOW_WITS_RATE", "1000")
    monkeypatch.setenv("TRADEFLOW_COMTRADE_CAP", "141")  # small cap: the larger bodies must be split
    return tmp_path / "home"


def run(source="live"):
    from pipelines.refresh import run_refresh

    return run_refresh(source, YEARS)


def test_live_refresh_survives_faults_fails_cleanly_and_never_leaks_the_key(store, live_env, monkeypatch, capfd):
    home = live_env
    faults = [Fault("status", status=429, retry_after="1"), Fault("status", status=500, path="/data/v1/get/"),
              Fault("extra_field", path="/data/v1/get/C/M/")]
    with FakeComtrade(store, key=KEY, faults=faults) as fake, FakeWits() as wits:
        monkeypatch.setenv("TRADEFLOW_COMTRADE_URL", fake.url)
        monkeypatch.setenv("TRADEFLOW_WITS_URL", wits.url)
        first = run()
        assert first.success, first.error
        snapshot = home / "published" / "tradeflow.duckdb"
        conn = duckdb.connect(str(snapshot), read_only=True)
        n_all = conn.execute("SELECT count(*) FROM marts.trade_flows").fetchall()[0][0]
        n_mode = conn.execute("SELECT count(*) FROM marts.trade_flows_by_mode").fetchall()[0][0]
        assert conn.execute("SELECT bool_or(is_sample) FROM marts.trade_flows").fetchall()[0][0] is False
        conn.close()
        # every record the server holds, exactly once
        pair = (586, 156)
        assert n_all == sum(1 for r in store if r["motCode"] == 0 and r["reporterCode"] in pair and r["cmdCode"] != "TOTAL")
        assert n_mode == sum(1 for r in store if r["motCode"] != 0)
        world = duckdb.connect(str(snapshot), read_only=True)
        assert world.execute("SELECT count(DISTINCT reporter) FROM marts.world_exports").fetchall()[0][0] == 8
        world.close()
        assert any(r["params"].get("cmdcode", "AG6") != "AG6" for r in fake.log)  # the cap forced splits
        tariffs = duckdb.connect(str(snapshot), read_only=True)
        assert tariffs.execute("SELECT count(DISTINCT (importer, partner, year)) FROM staging.tariffs").fetchall()[0][0] == 8
        tariffs.close()
        before = marts_digest(snapshot)

        # a quiet night: availability unchanged → no data calls
        calls = fake.data_calls()
        quiet = run()
        assert quiet.success and fake.data_calls() == calls
        assert quiet.assets["archive/wits_tariff_responses"]["calls"] == 0
        skipped = sum(quiet.assets[f"archive/comtrade_{f}"]["skipped_unchanged"] for f in ("annual", "monthly"))
        assert skipped == 52 + 2  # + world exports 2021, 2022

        # Pakistan revises March 2022, but the new body arrives broken every time: the run fails, naming the
        # period and the request; the rest is published and March 2022 keeps its previous vintage
        fake.release[(586, "202203")] = "2025-05-01T00:00:00"
        fake.faults.append(Fault("truncate", path="/data/v1/get/", period="202203", times=6))
        broken = run()
        assert not broken.success
        assert "reporter 586 period 202203" in broken.error and "unusable response" in broken.error
        assert marts_digest(snapshot) == before  # the previous marts stay as they were

        # the next night succeeds and the revision becomes the newest vintage
        fixed = run()
        assert fixed.success, fixed.error
        conn = duckdb.connect(str(snapshot), read_only=True)
        assert conn.execute("SELECT DISTINCT vintage::VARCHAR FROM marts.trade_flows WHERE reporter='PAK' AND year=2022 "
                            "AND month=3").fetchall() == [("2025-05-01",)]
        assert conn.execute("SELECT count(*) FROM marts.trade_flows").fetchall()[0][0] == n_all
        assert conn.execute("SELECT count(DISTINCT vintage) FROM raw.comtrade_records WHERE reporterCode=586 "
                            "AND period='202203'").fetchall()[0][0] == 2
        conn.close()
        assert all(KEY not in r["query"] for r in fake.log)

    # the key is nowhere under TRADEFLOW_HOME, nor in anything printed
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert KEY.encode() not in data, path
            if path.suffix == ".gz":
                assert KEY.encode() not in gzip.decompress(data), path
    out, err = capfd.readouterr()
    assert KEY not in out + err

    # no network: the archive alone reproduces the marts
    monkeypatch.setenv("TRADEFLOW_COMTRADE_URL", "http://127.0.0.1:9")
    digest = marts_digest(snapshot)
    import shutil
    shutil.rmtree(home / "published")
    (home / "tradeflow.duckdb").unlink()
    rebuilt = run("archive")
    assert rebuilt.success, rebuilt.error
    assert marts_digest(snapshot) == digest


def test_cli_exits_non_zero_naming_the_failed_request(store, live_env, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    faults = [Fault("truncate", path="/data/v1/get/", period="2021", times=99)]
    with FakeComtrade(store, key=KEY, faults=faults) as fake, FakeWits() as wits:
        env = {**os.environ, "TRADEFLOW_COMTRADE_URL": fake.url, "TRADEFLOW_WITS_URL": wits.url}
        res = subprocess.run([str(Path(sys.executable).parent / "tradeflow"), "refresh", "--source", "live",
                              "--years", "2021"], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "error: refresh failed at archive__comtrade_annual" in res.stderr
    assert "period 2021 (annual)" in res.stderr and "Traceback" not in res.stderr
    assert KEY not in res.stdout + res.stderr
    assert not (live_env / "published").exists()  # nothing was published from a failed run


def test_a_night_whose_monthly_calls_are_all_refused_fails_the_run_and_the_next_night_recovers(store, live_env,
                                                                                                monkeypatch):
    """Every monthly Comtrade request refused (a revoked key): the source step fails once its check is recorded, so
    the Dagster run fails (operators alert on that), the downstream assets skip, the check counts every
    reporter-month the refused availability call covered, and the next night runs as usual."""
    from click.testing import CliRunner

    from pipelines.instance import open_instance
    from pipelines.refresh import run_refresh
    from tradeflow import runlog
    from tradeflow.cli import main
    from tradeflow.settings import Settings

    home = live_env
    with FakeComtrade(store, key=KEY) as fake, FakeWits() as wits:
        monkeypatch.setenv("TRADEFLOW_COMTRADE_URL", fake.url)
        monkeypatch.setenv("TRADEFLOW_WITS_URL", wits.url)
        assert run_refresh("live", "2021").success
        published = (home / "published" / "tradeflow.duckdb").stat().st_mtime_ns

        fake.faults.append(Fault("status", status=401, path="/C/M/", times=999))  # getDa and get, monthly
        res = CliRunner().invoke(main, ["refresh", "--source", "live", "--years", "2021"])
        assert res.exit_code == 1, res.output
        out = " ".join(res.output.split())
        assert "refresh failed at archive__comtrade_monthly: UN Comtrade was given up" in out, out
        assert "24 period(s) not fetched" in out and "HTTP 401" in out and "Traceback" not in out
        [*_, line] = [r for r in runlog.runs(home) if r.kind == "run"]
        assert not line.success and line.error.startswith("archive__comtrade_monthly: UN Comtrade was given up")
        [check] = [c for c in line.failed_checks if c["check"] == "all_periods_fetched"]
        assert check["asset"] == "archive/comtrade_monthly" and check["failed_rows"] == 24  # 2 reporters × 12 months
        assert "reporter 586 period 202101 (monthly)" in check["sample"]
        assert "archive/comtrade_monthly" in line.assets and "published/snapshot" not in line.assets  # skipped
        assert (home / "published" / "tradeflow.duckdb").stat().st_mtime_ns == published
        with open_instance(Settings.from_env()) as instance:
            statuses = [instance.get_run_by_id(r).status for r in line.dagster_runs]
        assert statuses == [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
        status = CliRunner().invoke(main, ["status"])
        assert "failed: archive__comtrade_monthly: UN Comtrade was given up" in " ".join(status.output.split())

        fake.faults.clear()  # the key is renewed: the next night is not held back
        again = run_refresh("live", "2021")
        assert again.success, again.error


@pytest.mark.parametrize("result, fails, not_fetched", [
    # the source was not given up, but every period asked for failed: nothing arrived
    ({"failed": ["reporter 586 period 202101 (monthly): unusable response", "reporter 156 period 202101 (monthly): "
                 "unusable response"]}, "no period asked for arrived", 2),
    # the monthly availability call was refused: none of the 2 × 12 reporter-months it covered was fetched
    ({"failed": [f"{w}: not fetched (availability: HTTP 401: Access denied)"
                 for w in asked({"M": [f"2021{m:02d}" for m in range(1, 13)]})], "stopped": "HTTP 401: Access denied"},
     "UN Comtrade was given up", 24),
    # the source was given up after one period arrived: that period is published, with the red check
    ({"failed": ["reporter 586 period 202102 (monthly): HTTP 429"], "stopped": "8 failed attempts in a row",
      "partitions": ["156/M/202101"]}, None, 1),
    # one period failed, another arrived: published as before, with the red check
    ({"failed": ["reporter 586 period 202101 (monthly): unusable response"], "partitions": ["156/M/202101"]}, None, 1),
    # the one period that changed failed, every other was confirmed unchanged: not "nothing arrived"
    ({"failed": ["reporter 586 period 202103 (monthly): unusable response"], "skipped_unchanged": 23}, None, 1),
])
def test_the_source_step_fails_when_nothing_arrived_after_recording_its_check(result, fails, not_fetched, tmp_path,
                                                                             monkeypatch):
    from pipelines.assets import sources
    from pipelines.resources import TradeflowResource
    from tradeflow.ingest import IngestResult

    monkeypatch.setattr(sources, "ingest_comtrade", lambda settings, source, keys: IngestResult(source="live", **result))
    with dg.instance_for_test() as instance:
        run = dg.materialize([sources.comtrade_monthly], instance=instance, raise_on_error=False,
                             resources={"tradeflow": TradeflowResource(source="live", home=str(tmp_path))},
                             tags={"dagster/asset_partition_range_start": "2021-01",
                                   "dagster/asset_partition_range_end": "2021-12"})
        [check] = [e.event_specific_data for e in run.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                   and e.event_specific_data.check_name == "all_periods_fetched"]
        failures = [e for e in run.all_events if e.event_type_value == "STEP_FAILURE"]
    assert not check.passed and check.metadata["failed_rows"].value == not_fetched
    assert run.get_asset_materialization_events()  # what the archive holds is reported either way
    if fails is None:
        assert run.success and not failures
    else:
        assert not run.success
        assert fails in failures[0].step_failure_data.user_failure_data.description
