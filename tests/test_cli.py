"""The command line: read-only SQL, status, clear one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tradeflow.cli import main


@pytest.fixture
def on_sample(sample_home, monkeypatch):
    home, reports, _ = sample_home
    monkeypatch.setenv("TRADEFLOW_HOME", str(home))
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(reports))
    return home


def test_sql_formats(on_sample):
    r = CliRunner().invoke(main, ["sql", "SELECT reporter, count(*) AS n FROM marts.trade_flows GROUP BY 1 ORDER BY 1", "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [x["reporter"] for x in rows] == ["CHN", "PAK"] and all(x["n"] > 0 for x in rows)
    r = CliRunner().invoke(main, ["sql", "SELECT 1 AS a, 'x' AS b", "--format", "csv"])
    assert r.output.splitlines() == ["a,b", "1,x"]


@pytest.mark.parametrize("stmt", ["DELETE FROM marts.trade_flows", "CREATE TABLE t AS SELECT 1", "DROP TABLE marts.trade_flows"])
def test_sql_refuses_writes(on_sample, stmt):
    r = CliRunner().invoke(main, ["sql", stmt])
    assert r.exit_code == 1
    assert "read-only" in r.output


def test_sql_error_is_one_line(on_sample):
    r = CliRunner().invoke(main, ["sql", "SELECT nope FROM marts.trade_flows"])
    assert r.exit_code == 1 and "SQL error" in r.output and "Traceback" not in r.output


def test_status_lists_tables_and_last_run(on_sample):
    r = CliRunner().invoke(main, ["status"])
    assert r.exit_code == 0, r.output
    assert "marts.trade_flows" in r.output and "succeeded" in r.output


def test_refresh_rejects_bad_years_without_traceback(tf_env):
    res = subprocess.run([str(Path(sys.executable).parent / "tradeflow"), "refresh", "--years", "20x"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    assert "--years must look like" in res.stderr and "Traceback" not in res.stderr


def test_sql_without_snapshot_says_what_to_do(tf_env):
    r = CliRunner().invoke(main, ["sql", "SELECT 1"])
    assert r.exit_code == 1 and "run `tradeflow refresh` first" in r.output
