"""The SQL models as a dbt project (``sql/``, dbt-duckdb): parse it, build it, read the results.

dbt runs in this process (``dbtRunner``), once per refresh, with the working directory set to
``$TRADEFLOW_HOME``: profiles.yml names the warehouse by the relative path ``tradeflow.duckdb``,
so the profile, and with it dbt's partial-parse state, is the same for every home, and a
refresh re-parses only what changed in ``sql/``. The manifest and that state live in one
target folder per checkout (``sql/target``, or a user cache folder when ``sql/`` is read-only).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from tradeflow.errors import WarehouseError
from tradeflow.warehouse.db import cores, sql_dir

#: Files whose change means the manifest must be re-parsed.
_SOURCES = ("dbt_project.yml", "profiles.yml")
_SOURCE_DIRS = ("models", "macros")


def project_dir() -> Path:
    return sql_dir()


def target_dir() -> Path:
    """Where dbt writes the manifest and its partial-parse state."""
    local = project_dir() / "target"
    if os.access(project_dir(), os.W_OK):
        return local
    return Path.home() / ".cache" / "tradeflow" / "dbt-target"


def manifest_path() -> Path:
    return target_dir() / "manifest.json"


def dbt_vars() -> dict:
    """The build parameters, passed to every dbt command (the same values keep partial parsing valid)."""
    from tradeflow.green_channel import config
    from tradeflow.reference import seed_path
    from tradeflow.settings import Settings

    settings = Settings.from_env()
    year_round, source = config.khunjerab_year_round()
    return {
        "reference_dir": str(seed_path("countries.csv").parent),
        "cif_fob_factors": list(settings.cif_fob_factors),
        "khunjerab_year_round": year_round.isoformat(),
        "khunjerab_year_round_source": source,
        # DuckDB's memory_limit for the build (profiles.yml): TRADEFLOW_MEMORY_LIMIT, else DuckDB's default
        "memory_limit": settings.memory_limit or "80%",
        # DuckDB's threads for every query of the build (profiles.yml); results do not depend on them
        "duckdb_threads": cores(),
    }


def _newest_source_mtime() -> float:
    root = project_dir()
    times = [(root / f).stat().st_mtime for f in _SOURCES]
    for d in _SOURCE_DIRS:
        times += [p.stat().st_mtime for p in (root / d).rglob("*") if p.is_file()]
    return max(times)


def _args(command: str, *extra: str, vars_: dict | None = None) -> list[str]:
    # no log file, no usage statistics or version check (no network), no run_results.json
    quiet = ["--quiet", "--log-level-file", "none", "--log-path", str(target_dir()), "--no-send-anonymous-usage-stats",
             "--no-version-check"]
    return [*quiet, command, "--project-dir", str(project_dir()), "--profiles-dir", str(project_dir()),
            "--target-path", str(target_dir()), "--vars", json.dumps(vars_ if vars_ is not None else dbt_vars()),
            *extra]


@contextmanager
def _locked() -> Iterator[None]:
    """One dbt command at a time per target folder (dbt rewrites the manifest in place)."""
    target_dir().mkdir(parents=True, exist_ok=True)
    with FileLock(str(target_dir() / ".tradeflow.lock"), timeout=900):
        yield


def _is_fresh(path: Path, stamp: Path, vars_: dict) -> bool:
    try:
        return (path.stat().st_mtime >= _newest_source_mtime()
                and json.loads(stamp.read_text(encoding="utf-8")) == vars_)
    except (OSError, ValueError):  # missing, or a stamp a crash left half-written
        return False


def prepare_manifest(force: bool = False) -> Path:
    """``target/manifest.json``, parsed again when a model, schema file or parameter changed (or ``force``)."""
    path, vars_ = manifest_path(), dbt_vars()
    stamp = target_dir() / "tradeflow_vars.json"
    if not force and _is_fresh(path, stamp, vars_):
        return path
    with _locked():
        from dbt.cli.main import dbtRunner

        stamp.unlink(missing_ok=True)
        res = dbtRunner().invoke(_args("parse", vars_=vars_))
        if not res.success:
            why = str(res.exception).strip() if res.exception else "see dbt's messages above"
            raise WarehouseError(f"dbt could not parse the SQL models in {project_dir()}: {why}")
        stamp.write_text(json.dumps(vars_), encoding="utf-8")
    return path


@dataclass
class NodeResult:
    """What dbt did with one model or test."""

    unique_id: str
    resource_type: str  # model | test
    status: str  # success | error | skipped (models); pass | fail | warn | error | skipped (tests)
    message: str | None
    failures: int | None = None
    seconds: float = 0.0
    sample: list[str] = field(default_factory=list)  # a failing test's first rows, "col=value, …"
    relation: str | None = None  # a model's table, schema.name
    rows: int | None = None  # a built model's row count


@dataclass
class BuildResult:
    success: bool
    nodes: list[NodeResult] = field(default_factory=list)
    error: str | None = None

    def problems(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in ("error", "fail")]


#: dbt's heading above an error's text: "Runtime Error", "Database Error in model x (models/x.sql)", …
_HEADING = re.compile(r"[A-Z][A-Za-z]* Error( in .*)?")


def error_summary(text: str) -> str:
    """The cause in dbt's text of an error, on one line: a Python traceback's last line (the exception, e.g. a
    ConfigError naming the file and key), else the lines under dbt's "Runtime Error …" heading (without its
    "> in model …" stack), else the first line."""
    lines = [x.strip() for x in (text or "").strip().splitlines() if x.strip()]
    if not lines:
        return ""
    if any(x.startswith("Traceback (most recent call last)") for x in lines):
        head = next((x for x in lines if not _HEADING.fullmatch(x)), "")
        lead = head.split("Traceback (most recent call last)")[0].strip() if head.startswith("Python model failed") else ""
        return f"{lead} {lines[-1]}".strip()
    if len(lines) > 1 and _HEADING.fullmatch(lines[0]):
        body = [x for x in lines[1:] if not x.startswith(">")][:2]
        return " ".join(body) or lines[0]
    return lines[0]


def _failing_rows(database: Path, test_sql: str, limit: int = 5) -> list[str]:
    """The first rows a failing dbt test returned (its compiled SQL, re-run read-only)."""
    import duckdb

    from tradeflow.warehouse.db import connect

    conn = connect(database, read_only=True)
    try:
        rel = conn.execute(f"SELECT * FROM ({test_sql}) LIMIT {int(limit)}")
        cols = [d[0] for d in rel.description]
        return [", ".join(f"{c}={v}" for c, v in zip(cols, row)) for row in rel.fetchall()]
    except duckdb.Error as exc:
        return [f"(rows not available: {str(exc).splitlines()[0]})"]
    finally:
        conn.close()


def _count_rows(database: Path, nodes: list[NodeResult]) -> None:
    """Each built model's row count, in one query."""
    if not nodes:
        return
    from tradeflow.warehouse.db import connect

    conn = connect(database, read_only=True)
    try:
        counts = conn.execute(" UNION ALL ".join(f"SELECT {i} AS i, count(*) AS n FROM {n.relation}"
                                                 for i, n in enumerate(nodes))).fetchall()
    finally:
        conn.close()
    for i, n in counts:
        nodes[i].rows = n


def _close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a command.

    Otherwise the next reader of the warehouse in this process (the snapshot, the docs check)
    fails with "Can't open a connection to same database file with a different configuration".
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
        if env is not None:
            env.close()


def build(home: Path, select: list[str] | None = None, env: dict[str, str] | None = None,
          full_refresh: bool = False) -> BuildResult:
    """``dbt build`` (models and their tests in DAG order) against ``home``'s warehouse.

    ``select`` are dbt selection arguments (e.g. ``["--select", "trade_flows+"]``); a failing
    test stops the models downstream of it. ``full_refresh`` (``tradeflow refresh --force``):
    ``--full-refresh``, the batch-incremental models (sql/macros/batch_incremental.sql) are rebuilt
    from scratch. The caller holds the warehouse writer lock.
    """
    prepare_manifest()
    from dbt.cli.main import dbtRunner

    saved_env = {k: os.environ.get(k) for k in (env or {})}
    cwd = os.getcwd()
    with _locked():
        os.environ.update(env or {})
        os.chdir(home)
        try:
            # as many models at once as cores, over one DuckDB pool of as many threads (profiles.yml): the
            # heavy model gets every core, and dbt's own work between models overlaps the other's query
            res = dbtRunner().invoke(_args("build", "--no-write-json", "--threads", str(cores()),
                                           *(["--full-refresh"] if full_refresh else []), *(select or [])))
        finally:
            _close_duckdb()
            os.chdir(cwd)
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    nodes = []
    for r in getattr(res.result, "results", None) or []:
        node = r.node
        nodes.append(NodeResult(unique_id=node.unique_id, resource_type=str(node.resource_type),
                                status=str(r.status), message=r.message, failures=r.failures,
                                seconds=round(r.execution_time or 0.0, 3),
                                relation=f"{node.schema}.{node.name}" if str(node.resource_type) == "model" else None))
        if nodes[-1].status in ("fail", "warn") and getattr(node, "compiled_code", None):
            nodes[-1].sample = _failing_rows(home / "tradeflow.duckdb", node.compiled_code)
    _count_rows(home / "tradeflow.duckdb", [n for n in nodes if n.relation and n.status == "success"])
    error = None if res.exception is None else error_summary(str(res.exception)) or type(res.exception).__name__
    return BuildResult(success=bool(res.success), nodes=nodes, error=error)
