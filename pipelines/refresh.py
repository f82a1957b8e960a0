"""Materialise the whole asset graph in-process (what `tradeflow refresh` runs)."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field

import dagster as dg

from pipelines.definitions import all_assets, all_checks
from pipelines.resources import TradeflowResource
from tradeflow import runlog
from tradeflow.archive import now_utc
from tradeflow.errors import ConfigError, TradeflowError
from tradeflow.periods import FIRST_ANNUAL, keys_for_years

log = logging.getLogger("tradeflow")


@dataclass
class RefreshOutcome:
    success: bool
    error: str | None = None
    assets: dict[str, dict] = field(default_factory=dict)
    failed_checks: list[dict] = field(default_factory=list)
    published: bool = False  # the snapshot was rebuilt (also when some periods failed)


def run_refresh(source: str, years: str = "", home: str = "", reports_dir: str = "", quiet: bool = True) -> RefreshOutcome:
    """Run every asset and check once, in order, in this process; record the run in the ledger.

    The partitioned source asset runs over the period range of ``years`` as one batch; the
    warehouse and reports are rebuilt after it.
    """
    resource = TradeflowResource(source=source, years=years, home=home, reports_dir=reports_dir)
    settings = resource.settings()
    first, last = resource.year_range() or (FIRST_ANNUAL, 9999)
    keys = keys_for_years(first, last)
    if not keys:
        raise ConfigError(f"--years {years}: no periods tracked in that range")
    started = now_utc()
    run_config = {"loggers": {"console": {"config": {"log_level": "CRITICAL" if quiet else "INFO"}}}}
    result = dg.materialize(
        [*all_assets, *all_checks],
        resources={"tradeflow": resource},
        run_config=run_config,
        raise_on_error=False,
        tags={"tradeflow/source": source, "dagster/asset_partition_range_start": keys[0],
              "dagster/asset_partition_range_end": keys[-1]},
    )
    outcome = RefreshOutcome(success=result.success)
    for ev in result.get_asset_materialization_events():
        mat = ev.event_specific_data.materialization
        outcome.assets["/".join(mat.asset_key.path)] = {k: _plain(v) for k, v in mat.metadata.items()}
    for ev in result.get_asset_check_evaluations():
        if not ev.passed:
            outcome.failed_checks.append(
                {"asset": "/".join(ev.asset_key.path), "check": ev.check_name, "severity": ev.severity.value,
                 "description": ev.description, **{k: _plain(v) for k, v in ev.metadata.items()}}
            )
    failures = [ev for ev in result.all_events if ev.is_step_failure]
    if failures:
        err = failures[0].step_failure_data.error
        cause = err
        while cause.cause is not None and cause.cls_name not in _OUR_ERRORS:
            cause = cause.cause
        message = re.sub(r"^[\w.]+(Error|Exception): ", "", cause.message.strip())
        outcome.error = f"{failures[0].step_key}: {message}"
    elif not result.success:
        outcome.error = "the run failed (see the Dagster event log)"
    else:
        # A source whose periods partly failed: the rest was published, but the run is not a success.
        incomplete = [c for c in outcome.failed_checks if c["asset"].startswith("archive/") and c["severity"] == "ERROR"]
        if incomplete:
            outcome.success = False
            outcome.error = "; ".join(f"{c['asset']}: {c['description']}" for c in incomplete)
    outcome.published = "published/snapshot" in outcome.assets
    secrets = settings.secrets()
    outcome.error = _scrub(outcome.error, secrets)
    outcome.failed_checks = [_scrub(c, secrets) for c in outcome.failed_checks]
    outcome.assets = _scrub(outcome.assets, secrets)
    runlog.append(
        settings.home,
        runlog.RunRecord(
            run_id=result.run_id or uuid.uuid4().hex, started_at=started, finished_at=now_utc(), source=source,
            years=years, success=outcome.success, error=outcome.error, failed_checks=outcome.failed_checks,
            assets=outcome.assets,
        ),
    )
    return outcome


_OUR_ERRORS = {cls.__name__ for cls in (TradeflowError, *TradeflowError.__subclasses__())}


def _scrub(value, secrets: list[str]):
    """``value`` with every secret replaced (defence in depth: errors are scrubbed where raised)."""
    if not secrets or value is None:
        return value
    if isinstance(value, str):
        for s in secrets:
            value = value.replace(s, "***")
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


def _plain(value):
    """Metadata value → JSON-friendly Python."""
    inner = getattr(value, "value", value)
    return inner if isinstance(inner, (str, int, float, bool, type(None), list, dict)) else str(inner)
