"""Run-status sensors: record scheduled runs in the tradeflow run ledger (read by `tradeflow status`)."""


import dagster as dg

from pipelines.jobs import refresh_job
from pipelines.resources import TradeflowResource
from tradeflow import runlog


def _record(context: dg.RunStatusSensorContext, tradeflow: TradeflowResource, success: bool, error: str | None):
    run = context.dagster_run
    stats = context.instance.get_run_stats(run.run_id)
    cfg = (run.run_config or {}).get("resources", {}).get("tradeflow", {}).get("config", {})
    runlog.append(
        tradeflow.settings().home,
        runlog.RunRecord(
            run_id=run.run_id,
            started_at=str(stats.start_time or ""),
            finished_at=str(stats.end_time or ""),
            source=cfg.get("source", tradeflow.source),
            years=cfg.get("years", tradeflow.years),
            success=success,
            error=error,
            origin="dagster",
        ),
    )


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[refresh_job],
                      default_status=dg.DefaultSensorStatus.RUNNING)
def ledger_on_success(context: dg.RunStatusSensorContext, tradeflow: TradeflowResource):
    _record(context, tradeflow, True, None)


@dg.run_failure_sensor(monitored_jobs=[refresh_job], default_status=dg.DefaultSensorStatus.RUNNING)
def ledger_on_failure(context: dg.RunFailureSensorContext, tradeflow: TradeflowResource):
    _record(context, tradeflow, False, context.failure_event.message)
