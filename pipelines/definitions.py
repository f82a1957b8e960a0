"""The one Definitions of the tradeflow code location (loaded by workspace.yaml)."""

import dagster as dg

from pipelines.assets import reports, sources, warehouse
from pipelines.jobs import refresh_job
from pipelines.resources import TradeflowResource
from pipelines.schedules import nightly_refresh_schedule
from pipelines.sensors import ledger_on_failure, ledger_on_success, refresh_after_annual_sources

ASSET_MODULES = (sources, warehouse, reports)

all_assets = dg.load_assets_from_modules(ASSET_MODULES)
all_checks = dg.load_asset_checks_from_modules(ASSET_MODULES)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    jobs=[refresh_job],
    schedules=[nightly_refresh_schedule],
    sensors=[refresh_after_annual_sources, ledger_on_success, ledger_on_failure],
    resources={"tradeflow": TradeflowResource()},
    # DuckDB allows one writer: run every step in one process, one after another.
    executor=dg.in_process_executor,
)
