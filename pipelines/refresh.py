"""What `tradeflow refresh` runs: the asset graph, through the persistent Dagster instance.

A refresh is the fewest Dagster runs that can carry it: assets with different partitions
definitions cannot share a run, so it is one run per partitions definition that has selected
assets — annual sources over the year range, then monthly sources over the month range — with
every unpartitioned asset (warehouse, marts, snapshot, reports) in the last run. Runs execute
in-process, one after another, and stop at the first that fails. They are recorded in the
instance in ``$DAGSTER_HOME`` (default ``$TRADEFLOW_HOME/dagster``), so their checks and asset
history show in the Dagster UI, and the refresh's ledger line is written from that record
(``pipelines.ledger.record_refresh``).

One refresh at a time per home: :func:`tradeflow.refresh_lock.held` (``$TRADEFLOW_HOME/refresh.lock``) is held for
the whole refresh, fetch to reports, and a second one fails at once naming the process that holds
it (two side by side fetched and archived the same bodies twice, doubled live API calls and
rendered into the same reports folder). Runs the Dagster daemon launches (the nightly schedule)
are queued by the instance instead (``dagster.yaml``: ``max_concurrent_runs: 1``); they do not take
this lock, only the warehouse writer lock of their DuckDB steps.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from pipelines.assets.sources import annual_partitions, monthly_partitions
from pipelines.definitions import all_assets, all_checks
from pipelines.instance import HOST_TAG, PID_TAG, dagster_home, fail_dead_cli_runs, open_instance
from pipelines.ledger import RefreshOutcome, record_refresh
from pipelines.resources import TradeflowResource
from pipelines.schedules import RANGE_END, RANGE_START, REFRESH_TAG
from tradeflow.errors import ConfigError
from tradeflow.refresh_lock import held as refresh_lock

__all__ = ["RefreshOutcome", "run_refresh", "plan_runs", "dagster_home", "refresh_lock"]


@dataclass
class PlannedRun:
    keys: list[dg.AssetKey]  # the assets this run materialises
    partitions: tuple[str, str] | None = None  # (first, last) partition key, None: unpartitioned


def plan_runs(years: tuple[int, int] | None = None, select: str | None = None,
              now: datetime | None = None) -> list[PlannedRun]:
    """The runs of a refresh of ``select`` (a Dagster asset selection; None: everything) over ``years``."""
    now = now or datetime.now(UTC)
    if select:
        try:
            # assets that only materialise together (a multi-asset that cannot be subset) come along
            chosen = dg.AssetSelection.from_string(select).required_multi_asset_neighbors().resolve(all_assets)
        except Exception as exc:  # noqa: BLE001 - Dagster raises several kinds for a bad selection
            raise ConfigError(f"--select {select!r}: {' '.join(str(exc).split())}") from None
        if not chosen:
            raise ConfigError(f"--select {select!r} matches no asset")
    else:
        chosen = {k for a in all_assets for k in a.keys}
    partitions_of = {k: a.partitions_def for a in all_assets for k in a.keys}
    first, last = years or (0, 9999)
    runs: list[PlannedRun] = []
    for partitions_def in (annual_partitions, monthly_partitions):
        keys = sorted(k for k in chosen if partitions_of[k] == partitions_def)
        periods = [p for p in partitions_def.get_partition_keys(current_time=now) if first <= int(p[:4]) <= last]
        if keys and periods:
            runs.append(PlannedRun(keys, (periods[0], periods[-1])))
    partitioned = any(partitions_of[k] is not None for k in chosen)
    if partitioned and not runs:
        raise ConfigError(f"--years {years[0]}-{years[1]}: no periods tracked in that range" if years
                          else "no periods tracked yet")
    rest = sorted(k for k in chosen if partitions_of[k] is None)
    if rest:
        if runs:
            runs[-1].keys += rest
        else:
            runs.append(PlannedRun(rest))
    return runs


def run_refresh(source: str, years: str = "", home: str = "", reports_dir: str = "", quiet: bool = True,
                select: str | None = None, force: bool = False) -> RefreshOutcome:
    """Materialise ``select`` (default: every asset and check) in this process, through the Dagster instance,
    and record the refresh in the ledger.

    Each partitioned source runs over the period range of ``years`` as one batch; the warehouse and
    reports are rebuilt after them — unless nothing they read changed since the last build (``force``:
    rebuild anyway). Another refresh of the same home running: fails at once (:func:`refresh_lock`).
    """
    resource = TradeflowResource(source=source, years=years, home=home, reports_dir=reports_dir, force=force)
    settings = resource.settings()
    settings.check_reports()  # before any work: rendering them is the last step
    plan = plan_runs(resource.year_range(), select)
    run_config = {"loggers": {"console": {"config": {"log_level": "CRITICAL" if quiet else "INFO"}}}}
    group = uuid.uuid4().hex
    run_ids: list[str] = []
    with refresh_lock(settings.home), open_instance(settings) as instance:
        fail_dead_cli_runs(instance)
        for planned in plan:
            tags = {"tradeflow/source": source, "tradeflow/origin": "cli", REFRESH_TAG: group,
                    PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
            if planned.partitions:
                tags |= {RANGE_START: planned.partitions[0], RANGE_END: planned.partitions[1]}
            result = dg.materialize(
                [*all_assets, *all_checks], selection=planned.keys, instance=instance,
                resources={"tradeflow": resource}, run_config=run_config, raise_on_error=False, tags=tags,
            )
            run_ids.append(result.run_id)
            if not result.success:
                break  # as one run would: what depends on a failed step does not run
        return record_refresh(instance, run_ids, settings, source=source, years=years, origin="cli")
