"""What a refresh did, read back from the Dagster instance, and the one writer of its ledger line.

A refresh is one or more Dagster runs (one per partitions definition, see ``pipelines.jobs``).
:func:`outcome_of_runs` turns their event logs into a :class:`RefreshOutcome` (what `tradeflow
refresh` prints); :func:`record_refresh` appends the refresh's line to the run ledger
(``runs.jsonl``). Both the CLI (after its in-process runs) and the run-status sensors (for
scheduled runs) call :func:`record_refresh`; nothing else writes refresh lines.

A failed run re-executed (from the UI, or by Dagster's automatic retries) is part of the same
refresh: the re-execution copies the parent's tags. The refresh ends as the last run of each
re-execution chain ended; a superseded run's failure does not count, but what it did and a re-
execution did not redo does (from failure, the steps that had succeeded are not run again: their
materializations and check verdicts still hold; a check evaluated again replaces its verdict).
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
    last = _last_of_chains(runs)
    ended = bool(last) and all(runs) and all(r.status == dg.DagsterRunStatus.SUCCESS for r in last)
    outcome = RefreshOutcome(success=ended, run_ids=list(run_ids))
    effective = {r.run_id for r in last}
    verdicts: dict[tuple[str, str], dict | None] = {}  # (asset, check) → the latest verdict: failed (dict) or passed
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
                    for c in kept:  # the kept build's warnings: still true of the data
                        _verdict(verdicts, (c["asset"], c["check"]), c)
            elif ev.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                c = ev.event_specific_data
                if "unchanged" in c.metadata:  # a kept build's verdict: its warnings are listed from its observation
                    continue
                _verdict(verdicts, ("/".join(c.asset_key.path), c.check_name), None if c.passed else {
                    "asset": "/".join(c.asset_key.path), "check": c.check_name, "severity": c.severity.value,
                    "description": c.description, **{k: _plain(v) for k, v in c.metadata.items()}})
            elif run_id not in effective:  # a failure a re-execution superseded
                continue
            elif ev.event_type == DagsterEventType.STEP_FAILURE and step_failure is None:
                step_failure = ev
            elif ev.event_type == DagsterEventType.RUN_FAILURE and run_failure is None:
                run_failure = ev
    outcome.failed_checks = [c for c in verdicts.values() if c is not None]
    if step_failure is not None:
        cause = step_failure.step_failure_data.error
        while cause.cause is not None and cause.cls_name not in _OUR_ERRORS:
            cause = cause.cause
        message = re.sub(r"^[\w.]+(Error|Exception|Failure): ", "", cause.message.strip())
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


def _last_of_chains(runs: list) -> list[dg.DagsterRun]:
    """The last run of each re-execution chain among ``runs`` (in order): a run re-executed later is superseded."""
    last: dict[str, dg.DagsterRun] = {}
    for run in runs:
        if run is not None:
            root = run.root_run_id or run.get_root_run_id() or run.run_id  # the field, or the tag the UI also sets
            last.pop(root, None)
            last[root] = run
    return list(last.values())


def _verdict(verdicts: dict, key: tuple[str, str], failed: dict | None) -> None:
    """Record a check's latest verdict, in the order verdicts arrived (a check evaluated again moves to the end)."""
    verdicts.pop(key, None)
    verdicts[key] = failed


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
