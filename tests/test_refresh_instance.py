"""`tradeflow refresh` runs through the persistent Dagster instance ($DAGSTER_HOME, default
$TRADEFLOW_HOME/dagster): its runs, checks and asset history are there, and the refresh writes exactly
one ledger line, built from that record."""

import shutil

import dagster as dg
import pytest
from click.testing import CliRunner

from tradeflow import runlog
from tradeflow.cli import main


def test_cli_refresh_is_in_the_instance_history_and_writes_one_ledger_line(tf_env):
    home, _ = tf_env
    r = CliRunner().invoke(main, ["refresh", "--source", "sample"])
    assert r.exit_code == 0, r.output

    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    try:
        from pipelines.instance import TradeflowSqliteEventLogStorage

        # created from pipelines/dagster.yaml: no telemetry, the one-connection event log under the instance folder
        assert not instance.telemetry_enabled
        assert isinstance(instance.event_log_storage, TradeflowSqliteEventLogStorage)
        assert (home / "dagster" / "history" / "event_log.db").exists()
        records = instance.get_run_records()
        assert len(records) == 2  # one run per partitions definition: annual sources, then monthly + the rest
        runs = [rec.dagster_run for rec in reversed(records)]
        assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
        assert all(run.tags["tradeflow/origin"] == "cli" and run.tags["tradeflow/source"] == "sample" for run in runs)
        assert all(run.tags["tradeflow/pid"].isdigit() and run.tags["tradeflow/host"] for run in runs)  # who runs it
        assert len({run.tags["tradeflow/refresh"] for run in runs}) == 1
        assert [(run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"][:4])
                for run in runs][0] == ("2015", str(int(runs[1].tags["dagster/asset_partition_range_end"][:4]) - 1))
        assert runs[1].tags["dagster/asset_partition_range_start"] == "2019-01"

        for key, run in ((["archive", "comtrade_annual"], runs[0]), (["archive", "wits_tariff_responses"], runs[0]),
                         (["archive", "comtrade_monthly"], runs[1]), (["marts", "trade_flows"], runs[1]),
                         (["marts", "dim_country"], runs[1]), (["reports", "html_suite"], runs[1])):
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            assert event is not None and event.run_id == run.run_id, key
        assert len(instance.get_materialized_partitions(dg.AssetKey(["archive", "comtrade_monthly"]))) >= 84
        grain = "grain"  # the dbt grain test, named as the raw tables' grain check
        check = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey(["marts", "trade_flows"]), grain), limit=1)
        assert check and check[0].status.value == "SUCCEEDED" and check[0].run_id == runs[1].run_id
    finally:
        instance.dispose()

    [line] = [x for x in runlog.runs(home) if x.kind == "run"]
    assert line.success and line.origin == "cli" and line.source == "sample"
    assert line.dagster_runs == [run.run_id for run in runs] and line.run_id == runs[1].run_id
    assert line.assets["marts/trade_flows"]["rows"] > 20_000
    assert line.started_at <= line.finished_at


def test_refresh_select_rebuilds_only_the_selection_without_fetching(sample_home, tmp_path, monkeypatch):
    home, _, _ = sample_home
    copy = tmp_path / "home"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("dagster"))
    monkeypatch.setenv("TRADEFLOW_HOME", str(copy))
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(tmp_path / "reports"))
    before = len(runlog.runs(copy))
    r = CliRunner().invoke(main, ["refresh", "--select", "published/snapshot+"])
    assert r.exit_code == 0, r.output
    lines = runlog.runs(copy)
    runs = [x for x in lines[before:] if x.kind == "run"]
    assert len(runs) == 1 and runs[0].success and len(runs[0].dagster_runs) == 1  # one run, no partitions
    assert set(runs[0].assets) == {"published/snapshot", "reports/html_suite"}  # no source fetched, nothing rebuilt


def test_a_bad_selection_is_a_clear_error():
    from pipelines.refresh import plan_runs
    from tradeflow.errors import ConfigError

    with pytest.raises(ConfigError, match="--select 'marts/no_such_mart': .*marts/no_such_mart"):
        plan_runs(select="marts/no_such_mart")
    with pytest.raises(ConfigError, match=r"--select 'key:\(\('"):
        plan_runs(select="key:((")
    annual, rest = plan_runs()
    assert [k.to_user_string() for k in annual.keys] == ["archive/comtrade_annual", "archive/wits_tariff_responses"]
    assert {"archive/comtrade_monthly", "marts/trade_flows", "reports/html_suite"} <= {k.to_user_string() for k in rest.keys}
    [only] = plan_runs(years=(2015, 2018))  # no monthly data before 2019: the annual run carries the rest
    assert only.partitions == ("2015", "2018") and "marts/trade_flows" in {k.to_user_string() for k in only.keys}


def test_select_plans_one_unpartitioned_run_and_brings_assets_that_only_materialise_together():
    from pipelines.refresh import plan_runs

    [run] = plan_runs(select="marts/trade_flows+")
    keys = {k.to_user_string() for k in run.keys}
    assert run.partitions is None and "published/snapshot" in keys and "marts/trade_flows" in keys
    assert not any(k.startswith(("archive/", "staging/", "raw/comtrade")) for k in keys)  # nothing upstream, no fetch


def test_a_storage_file_left_without_tables_by_a_killed_run_is_created_again(tmp_path, monkeypatch):
    """A refresh killed while Dagster created its SQLite event log left a file without tables; the next
    refresh failed on it ("no such table: event_logs"). Complete files are kept as they are."""
    import sqlite3

    from pipelines.instance import dagster_home, open_instance
    from tradeflow.settings import Settings

    monkeypatch.setenv("TRADEFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    s = Settings.from_env()
    with open_instance(s) as instance:
        assert instance.get_runs() == []
    home = dagster_home(s)
    runs = home / "history" / "runs.db"
    kept = runs.stat().st_mtime_ns, runs.stat().st_size
    event_log = home / "history" / "event_log.db"
    everything = _tables(event_log)
    # killed before the first table, and (seen in CI) after event_logs but before asset_keys
    for made in ("CREATE TABLE half (x)", "CREATE TABLE event_logs (id INTEGER PRIMARY KEY, event TEXT)"):
        event_log.unlink()
        sqlite3.connect(event_log).execute(made).connection.commit()
        with open_instance(s) as instance:
            assert instance.get_runs() == []
            assert instance.get_event_records(dg.EventRecordsFilter(dg.DagsterEventType.RUN_SUCCESS), limit=1) == []
            assert instance.get_asset_keys() == []  # reads asset_keys
        assert _tables(event_log) == everything
    assert (runs.stat().st_mtime_ns, runs.stat().st_size) == kept


def _tables(path) -> set[str]:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_a_storage_file_that_holds_events_is_kept_whatever_tables_it_lacks(tmp_path):
    """Only a file that never held a row is judged half-created: history is never removed."""
    import sqlite3

    from pipelines.instance import _drop_half_created_storage

    event_log = tmp_path / "history" / "event_log.db"
    event_log.parent.mkdir()
    conn = sqlite3.connect(event_log)
    conn.execute("CREATE TABLE event_logs (id INTEGER PRIMARY KEY, event TEXT)")
    conn.execute("INSERT INTO event_logs (event) VALUES ('a run')")
    conn.commit()
    conn.close()
    _drop_half_created_storage(tmp_path)
    assert event_log.exists() and _tables(event_log) == {"event_logs"}
    event_log.write_bytes(b"")  # an empty file is a database without tables: cut off at once
    _drop_half_created_storage(tmp_path)
    assert not event_log.exists()
    damaged = b"not a SQLite header at all " * 200  # SQLite cannot read it: kept aside, never deleted
    event_log.write_bytes(damaged)
    _drop_half_created_storage(tmp_path)
    assert not event_log.exists()
    assert (tmp_path / "history" / "event_log.db.unreadable").read_bytes() == damaged


def test_the_instance_config_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A refresh cut off while it wrote dagster.yaml must not leave half a file for every later run to fail on."""
    from pathlib import Path

    from pipelines.instance import dagster_home
    from tradeflow.settings import Settings

    monkeypatch.setenv("TRADEFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    s = Settings.from_env()
    real = Path.write_text

    def cut_off(self, text, *a, **kw):
        real(self, text[: len(text) // 2], *a, **kw)
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(Path, "write_text", cut_off)
    with pytest.raises(KeyboardInterrupt):
        dagster_home(s)
    monkeypatch.setattr(Path, "write_text", real)
    config = dagster_home(s) / "dagster.yaml"
    import yaml

    doc = yaml.safe_load(config.read_text(encoding="utf-8"))  # the whole template, its last lines included
    assert doc["event_log_storage"]["config"]["base_dir"].endswith("history")
    assert doc["concurrency"]["runs"]["max_concurrent_runs"] == 1
    assert [p.name for p in config.parent.iterdir() if p.name.endswith(".part")] == []


def test_the_event_log_asks_sqlite_once_for_a_table_that_exists(tmp_path, monkeypatch):
    """Dagster asks whether a table exists before storing each event; what exists is remembered, what is
    missing is asked again (it may be created later)."""
    from dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log import ConsolidatedSqliteEventLogStorage

    from pipelines.instance import TradeflowSqliteEventLogStorage

    asked: list[str] = []
    real = ConsolidatedSqliteEventLogStorage.has_table

    def counting(self, name):
        asked.append(name)
        return real(self, name)

    monkeypatch.setattr(ConsolidatedSqliteEventLogStorage, "has_table", counting)
    storage = TradeflowSqliteEventLogStorage(base_dir=str(tmp_path))
    asked.clear()
    assert storage.has_table("event_logs") and storage.has_table("event_logs")
    assert not storage.has_table("no_such_table") and not storage.has_table("no_such_table")
    assert asked == ["event_logs", "no_such_table", "no_such_table"]


def test_a_run_left_in_progress_by_a_killed_refresh_is_failed_by_the_next(tmp_path):
    """kill -9 of `tradeflow refresh` left its run STARTED for good; with the queue's one slot (max_concurrent_runs: 1)
    the nightly schedule's runs then waited behind it forever, silently. The next refresh marks such runs failed;
    a run whose process is alive (or on another host) is left alone."""
    import os
    import socket
    import subprocess
    import time

    from dagster._core.storage.dagster_run import DagsterRun

    from pipelines.instance import HOST_TAG, PID_TAG, fail_dead_cli_runs

    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid no process has now
    host = socket.gethostname()
    instance = dg.DagsterInstance.ephemeral()
    try:
        runs = {name: DagsterRun(job_name="__ASSET_JOB", run_id=f"{name:0<32}"[:32], status=dg.DagsterRunStatus.STARTED,
                                 tags={"tradeflow/origin": "cli", PID_TAG: str(pid), HOST_TAG: h})
                for name, pid, h in (("dead", dead.pid, host), ("alive", os.getppid(), host), ("elsewhere", dead.pid, "other"))}
        # a re-execution Dagster launched with the CLI run's tags (its process is the daemon's, not the pid tagged)
        runs["reexecuted"] = DagsterRun(job_name="__ASSET_JOB", run_id="r" * 32, status=dg.DagsterRunStatus.STARTED,
                                        tags={**runs["dead"].tags, "dagster/parent_run_id": runs["dead"].run_id})
        for run in runs.values():
            instance.add_run(run)
        assert fail_dead_cli_runs(instance) == []  # silent for less than an hour: may still be working
        later = time.time() + 2 * 3600
        assert fail_dead_cli_runs(instance, now=later) == [runs["dead"].run_id]
        status = {n: instance.get_run_by_id(r.run_id).status for n, r in runs.items()}
        assert status == {"dead": dg.DagsterRunStatus.FAILURE, "alive": dg.DagsterRunStatus.STARTED,
                          "elsewhere": dg.DagsterRunStatus.STARTED, "reexecuted": dg.DagsterRunStatus.STARTED}
        assert fail_dead_cli_runs(instance, now=later) == []
    finally:
        instance.dispose()
