"""What a refresh did, read back from the Dagster instance, and the one writer of its ledger line.

A refresh is one or more Dagster runs (one per partitions definition, see ``pipelines.jobs``).
:func:`outcome_of_runs` turns their event logs into a :class:`RefreshOutcome` (what `tradeflow
refresh` prints); :func:`record_refresh` appends the refresh's line to the run ledger
(``runs.jsonl``). Both the CLI (after its in-process runs) and the run-status sensors (for
scheduled runs) call :func:`record_refresh`; nothing else writes refresh lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg
from dagster import DagsterEventType

from tradeflow import runlog
from tradeflow.errors import TradeflowError
from tradeflow.settings import Settings


@dataclass
class RefreshOutcome:
    success: bool
    error: str | None = None
    assets: dict[str, dict] = field(default_factory=dict)
    failed_checks: list[dict] = field(default_factory=list)
    published: bool = False  # the snapshot was rebuilt (also when some periods failed)
    unchanged: dict | None = None  # nothing to rebuild: staging, marts, snapshot and reports kept (why, fingerprint)
    run_ids: list[str] = field(default_factory=list)


_EVENTS = {DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_CHECK_EVALUATION,
           DagsterEventType.ASSET_OBSERVATION, DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}
_OUR_ERRORS = {cls.__name__ for cls in (TradeflowError, *TradeflowError.__subclasses__())}


def outcome_of_runs(instance: dg.DagsterInstance, run_ids: list[str], secrets: list[str]) -> RefreshOutcome:
    """The refresh made of ``run_ids`` (in order), from the instance's event log, secrets scrubbed."""
    runs = [instance.get_run_by_id(r) for r in run_ids]
    outcome = RefreshOutcome(success=bool(runs) and all(r and r.status == dg.DagsterRunStatus.SUCCESS for r in runs),
                             run_ids=list(run_ids))
    step_failure = run_failure = None
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=_EVENTS):
            ev = entry.dagster_event
            if ev.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                mat = ev.event_specific_data.materialization
                outcome.assets["/".join(mat.asset_key.path)] = {k: _plain(v) for k, v in mat.metadata.items()}
            elif ev.event_type == DagsterEventType.ASSET_OBSERVATION:
                obs = ev.event_specific_data.asset_observation
                meta = {k: _plain(v) for k, v in obs.metadata.items()}
                if meta.get("unchanged"):
                    kept = meta.pop("failed_checks", None) or []
                    outcome.unchanged = meta
                    outcome.failed_checks.extend(kept)  # the kept build's warnings: still true of the data
            elif ev.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                c = ev.event_specific_data
                if not c.passed and "unchanged" not in c.metadata:  # a kept build's warning: listed from its observation
                    outcome.failed_checks.append(
                        {"asset": "/".join(c.asset_key.path), "check": c.check_name, "severity": c.severity.value,
                         "description": c.description, **{k: _plain(v) for k, v in c.metadata.items()}})
            elif ev.event_type == DagsterEventType.STEP_FAILURE and step_failure is None:
                step_failure = ev
            elif ev.event_type == DagsterEventType.RUN_FAILURE and run_failure is None:
                run_failure = ev
    if step_failure is not None:
        cause = step_failure.step_failure_data.error
        while cause.cause is not None and cause.cls_name not in _OUR_ERRORS:
            cause = cause.cause
        message = re.sub(r"^[\w.]+(Error|Exception): ", "", cause.message.strip())
        outcome.error = f"{step_failure.step_key}: {message}"
    elif not outcome.success:
        outcome.error = "the run failed (see the Dagster event log)" + (f": {run_failure.message}" if run_failure else "")
    else:
        # A source whose periods partly failed: the rest was published, but the run is not a success.
        incomplete = [c for c in outcome.failed_checks if c["asset"].startswith("archive/") and c["severity"] == "ERROR"]
        if incomplete:
            outcome.success = False
            outcome.error = "; ".join(f"{c['asset']}: {c['description']}" for c in incomplete)
    outcome.published = "published/snapshot" in outcome.assets
    outcome.error = _scrub(outcome.error, secrets)
    outcome.failed_checks = _scrub(outcome.failed_checks, secrets)
    outcome.assets = _scrub(outcome.assets, secrets)
    return outcome


def record_refresh(instance: dg.DagsterInstance, run_ids: list[str], settings: Settings, *, source: str, years: str,
                   origin: str) -> RefreshOutcome:
    """Append the ledger line of the refresh made of ``run_ids``; the only writer of refresh lines."""
    outcome = outcome_of_runs(instance, run_ids, settings.secrets())
    stats = [instance.get_run_stats(r) for r in run_ids]
    started = min((s.start_time for s in stats if s.start_time), default=None)
    finished = max((s.end_time for s in stats if s.end_time), default=None)
    runlog.append(
        settings.home,
        runlog.RunRecord(
            run_id=run_ids[-1], started_at=_iso(started), finished_at=_iso(finished), source=source, years=years,
            success=outcome.success, error=outcome.error, failed_checks=outcome.failed_checks, assets=outcome.assets,
            origin=origin, dagster_runs=list(run_ids),
            unchanged=outcome.unchanged,
        ),
    )
    return outcome


def _iso(ts: float | None) -> str:
    if ts is None:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
