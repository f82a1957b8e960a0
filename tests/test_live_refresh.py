"""`tradeflow refresh --source live` end to end against a misbehaving fake Comtrade on 127.0.0.1."""

import gzip

import duckdb
import pytest

from tests.fakes.comtrade_server import Fault, FakeComtrade, sample_records
from tests.fakes.wits_server import FakeWits
from tests.test_refresh import marts_digest

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
