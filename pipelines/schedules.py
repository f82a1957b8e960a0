"""The nightly live refresh, 02:00 in Pakistan (Asia/Karachi)."""

import dagster as dg

from pipelines.jobs import refresh_job

nightly_refresh_schedule = dg.ScheduleDefinition(
    name="nightly_refresh_schedule",
    job=refresh_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Karachi",
    run_config={"resources": {"tradeflow": {"config": {"source": "live"}}}},
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly live refresh from UN Comtrade and WITS; fetches only new or revised periods.",
)
