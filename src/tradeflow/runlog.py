"""The run ledger: one JSON line per refresh and one per publish, read by ``tradeflow status``.

A refresh's line is written by one function, ``pipelines.ledger.record_refresh``, from the
Dagster instance's record of the refresh's runs (the CLI calls it after its runs; run-status
sensors call it for scheduled refreshes), so the status is known without opening the Dagster
instance. The publish step writes
its own line (``kind = "publish"``, with the archive inputs of the build) the moment the new
snapshot is in place, so a run killed after publishing still leaves its publish on record.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class RunRecord:
    run_id: str
    started_at: str
    finished_at: str
    source: str
    years: str
    success: bool
    error: str | None = None
    failed_checks: list[dict] = field(default_factory=list)  # {"asset", "check", "severity", "description", ...}
    assets: dict[str, dict] = field(default_factory=dict)  # asset key → metadata
    origin: str = "cli"
    kind: str = "run"  # "run" (a whole refresh) or "publish" (a snapshot was published)
    inputs: dict[str, dict[str, int]] = field(default_factory=dict)  # publish: dataset → {"live"|"sample": requests}
    dagster_runs: list[str] = field(default_factory=list)  # run: the Dagster run ids of the refresh, in order
    unchanged: dict | None = None  # run: nothing to rebuild since the last build (staging, marts, snapshot, reports kept)


def ledger_path(home: Path) -> Path:
    return Path(home) / "runs.jsonl"


def append(home: Path, record: RunRecord) -> None:
    path = ledger_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(record), sort_keys=True, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def runs(home: Path) -> list[RunRecord]:
    path = ledger_path(home)
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        try:
            out.append(RunRecord(**json.loads(line)))
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
            continue  # a torn line from a killed process
    return out


def last_run(home: Path) -> RunRecord | None:
    found = [r for r in runs(home) if r.kind == "run"]
    return found[-1] if found else None


def last_publish(home: Path) -> RunRecord | None:
    found = [r for r in runs(home) if r.kind == "publish"]
    return found[-1] if found else None
