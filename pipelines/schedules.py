"""The nightly live refresh, 02:00 in Pakistan (Asia/Karachi).

Each night asks for the whole tracked period range; the source asset checks UN Comtrade's
data availability and fetches only new or revised periods, so an unchanged night makes no
data calls.
"""

import dagster as dg

from pipelines.jobs import refresh_job
from tradeflow.periods import period_keys


@dg.schedule(
    name="nightly_refresh_schedule",
    job=refresh_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Karachi",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly live refresh from UN Comtrade; fetches only new or revised periods.",
)
def nightly_refresh_schedule(context: dg.ScheduleEvaluationContext):
    keys = period_keys(context.scheduled_execution_time.date() if context.scheduled_execution_time else None)
    return dg.RunRequest(
        run_key=None,
        run_config={"resources": {"tradeflow": {"config": {"source": "live"}}}},
        tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1],
              "tradeflow/source": "live"},
    )
