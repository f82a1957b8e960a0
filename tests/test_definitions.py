"""The Dagster code location loads, has named groups, one writer at a time, and the nightly schedule."""

import os
import subprocess
import sys
from pathlib import Path

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.definitions import defs

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_load_with_groups_and_in_process_executor():
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"sources", "warehouse", "marts", "reports"} <= groups
    assert defs.resolve_job_def("refresh_job").executor_def.name == "in_process"


def test_nightly_schedule_runs_live_at_two_in_karachi():
    sched = defs.resolve_schedule_def("nightly_refresh_schedule")
    assert sched.cron_schedule == "0 2 * * *"
    assert sched.execution_timezone == "Asia/Karachi"
    assert sched.job_name == "annual_sources_job"  # refresh_after_annual_sources then launches refresh_job
    ctx = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 1, 2, tzinfo=ZoneInfo("Asia/Karachi")))
    [request] = list(sched.evaluate_tick(ctx).run_requests)
    assert request.run_config["resources"]["tradeflow"]["config"]["source"] == "live"
    assert request.tags["dagster/asset_partition_range_start"] == "2015"
    assert request.tags["dagster/asset_partition_range_end"] == "2025"


def test_dagster_definitions_validate_cli():
    bindir = Path(sys.executable).parent
    env = {**os.environ, "DAGSTER_HOME": ""}
    env.pop("DAGSTER_HOME")
    res = subprocess.run([str(bindir / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Validation successful" in res.stdout + res.stderr
