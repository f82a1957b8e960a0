"""The nightly live refresh, 02:00 in Pakistan (Asia/Karachi).

Each night asks for the whole tracked period range as it stands at the scheduled time (the
partition keys come from the time-window partitions themselves, so the request is valid on any
date, New Year included). The refresh is two runs (see ``pipelines.jobs``): this schedule
launches ``annual_sources_job`` over every year, and the ``refresh_after_annual_sources`` sensor
launches ``refresh_job`` over every month once that run succeeded. The source assets check UN
Comtrade's data availability and fetch only new or revised periods, so an unchanged night makes no
data calls.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from pipelines.assets.sources import annual_partitions, monthly_partitions
from pipelines.instance import fail_dead_cli_runs
from pipelines.jobs import annual_sources_job, refresh_job

LIVE = {"resources": {"tradeflow": {"config": {"source": "live"}}}}
#: Tag shared by the runs of one refresh (the ledger row covers them all).
REFRESH_TAG = "tradeflow/refresh"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def range_tags(partitions_def: dg.PartitionsDefinition, at: datetime | None) -> dict[str, str]:
    """Run tags asking for every partition of ``partitions_def`` that exists at ``at``, as one batch."""
    keys = partitions_def.get_partition_keys(current_time=at)
    return {RANGE_START: keys[0], RANGE_END: keys[-1]}


@dg.schedule(
    name="nightly_refresh_schedule",
    job=annual_sources_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Karachi",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly live refresh from UN Comtrade and WITS; fetches only new or revised periods. Launches the "
    "annual sources run; refresh_after_annual_sources then launches refresh_job.",
)
def nightly_refresh_schedule(context: dg.ScheduleEvaluationContext):
    # a CLI refresh killed mid-run left its run "in progress": it would hold the queue's one slot for good
    try:
        fail_dead_cli_runs(context.instance)
    except dg.DagsterInvariantViolationError:  # a context built without an instance (tests): no runs to look at
        pass
    at = context.scheduled_execution_time
    group = f"nightly-{at:%Y-%m-%dT%H%M%z}" if at else "nightly"
    return dg.RunRequest(
        run_key=group,
        run_config=LIVE,
        tags={**range_tags(annual_partitions, at), "tradeflow/source": "live", REFRESH_TAG: group},
    )


def next_run_request(run: dg.DagsterRun, at: datetime | None) -> dg.RunRequest:
    """``refresh_job`` over every month that exists at ``at``, same source and refresh as ``run``.

    The run key is that of the annual run's re-execution chain (its root run): a failed annual run re-executed
    until one succeeded, or a successful one re-executed, launches one ``refresh_job``, not one per success.
    """
    root = run.root_run_id or run.get_root_run_id() or run.run_id  # the field, or the tag the UI also sets
    return dg.RunRequest(
        run_key=f"{root}-refresh",
        run_config=run.run_config,
        tags={**range_tags(monthly_partitions, at), **{k: v for k, v in run.tags.items() if k.startswith("tradeflow/")}},
    )


__all__ = ["nightly_refresh_schedule", "next_run_request", "refresh_job", "REFRESH_TAG"]
