"""Run-status sensors for scheduled (daemon-launched) refreshes.

- ``refresh_after_annual_sources``: when the nightly ``annual_sources_job`` run succeeded, launch
  ``refresh_job`` (monthly sources, then warehouse → reports) for the same refresh.
- ``ledger_on_success`` / ``ledger_on_failure``: when a refresh ends (``refresh_job`` finished, or
  a run of a scheduled refresh failed), write its run-ledger line through
  ``pipelines.ledger.record_refresh`` — the same function `tradeflow refresh` calls. CLI runs are
  not monitored: they run as Dagster's ad-hoc asset job, and the CLI records them itself.

A re-execution (UI, automatic retries) copies its parent's tags, ``tradeflow/refresh`` included: it
belongs to the same refresh, and its end writes the refresh's line again (``pipelines.ledger``
counts the last run of each re-execution chain).
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
from dagster import RunsFilter

from pipelines.jobs import annual_sources_job, refresh_job
from pipelines.ledger import record_refresh
from pipelines.resources import TradeflowResource
from pipelines.schedules import REFRESH_TAG, next_run_request


def _runs_of_refresh(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[str]:
    """Run ids of ``run``'s refresh, oldest first (just ``run`` when it is not part of one)."""
    group = run.tags.get(REFRESH_TAG)
    if not group:
        return [run.run_id]
    runs = instance.get_runs(filters=RunsFilter(tags={REFRESH_TAG: group}))
    return [r.run_id for r in reversed(runs)]  # get_runs: newest first


def _record(context: dg.RunStatusSensorContext, tradeflow: TradeflowResource) -> None:
    run = context.dagster_run
    cfg = (run.run_config or {}).get("resources", {}).get("tradeflow", {}).get("config", {})
    resource = TradeflowResource(**{**tradeflow.model_dump(), **cfg})
    record_refresh(context.instance, _runs_of_refresh(context.instance, run), resource.settings(),
                   source=resource.source, years=resource.years, origin="dagster")


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[annual_sources_job],
                      request_job=refresh_job, default_status=dg.DefaultSensorStatus.RUNNING,
                      description="Launch refresh_job once the annual sources of a scheduled refresh are in.")
def refresh_after_annual_sources(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    if REFRESH_TAG not in run.tags:
        return dg.SkipReason(f"run {run.run_id} is not part of a scheduled refresh")
    return next_run_request(run, datetime.now(UTC))


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[refresh_job],
                      default_status=dg.DefaultSensorStatus.RUNNING,
                      description="Write the run-ledger line of a refresh that succeeded.")
def ledger_on_success(context: dg.RunStatusSensorContext, tradeflow: TradeflowResource):
    _record(context, tradeflow)


@dg.run_failure_sensor(monitored_jobs=[annual_sources_job, refresh_job], default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Write the run-ledger line of a refresh that failed.")
def ledger_on_failure(context: dg.RunFailureSensorContext, tradeflow: TradeflowResource):
    if context.dagster_run.job_name == annual_sources_job.name and REFRESH_TAG not in context.dagster_run.tags:
        return  # an ad-hoc annual fetch from the UI, not a refresh
    _record(context, tradeflow)
