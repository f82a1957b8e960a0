"""Whether staging, marts, the snapshot and the reports are already built from what raw holds now.

A build is fingerprinted by everything it reads:

- every raw table: its row count and two order-independent hashes of all its rows (one DuckDB
  scan each; a revised body, a new period or an edited YAML config changes them); for
  raw.comtrade_records, the bodies it holds and the loader that read them (see ``_raw_digest``);
- the SQL project, the tradeflow package and the Dagster code location ``pipelines`` (the content
  of every file: models, macros, loader SQL, Python models, goal and basket configs, report code,
  the assets that run them), and the Python code as this process loaded it (a pull during a
  refresh yields a fingerprint no later refresh matches);
- the build parameters (dbt vars, and dbt's flags from ``DBT_*`` variables), the Python version and the versions of tradeflow and of every
  library it requires (DuckDB, dbt, pandas for the Python models, plotly and jinja2 for the reports).

A successful full dbt build records its fingerprint in ``meta.build_state``. The published
snapshot is a copy of the warehouse, so it carries the fingerprint it was built from, and
rendering the reports (the refresh, or ``tradeflow report``: ``tradeflow.report.render_snapshot``)
writes the fingerprint of the snapshot the pages were read from beside them (``.tradeflow-build``).
When all three equal the fingerprint of the raw tables a refresh has just loaded, nothing
downstream can change: the
refresh keeps staging, marts, snapshot and reports as they are (a no-op nightly run costs the
fetch and the raw load). Any doubt means build: no state, an unreadable one, a build that
failed or was cut off half-way (the state is cleared before every build), a subset selection,
``tradeflow refresh --force``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from tradeflow.settings import Settings

STATE_TABLE = "meta.build_state"
REPORTS_STAMP = ".tradeflow-build"
#: Build parameters that cannot change what a build computes.
_NOT_RESULTS = {"memory_limit"}
#: Files that cannot change what a build computes.
_IGNORED_DIRS = {"target", "__pycache__", "logs"}  # not dbt_packages: macros and models the build runs


def _code_roots(python_only: bool = False) -> list[Path]:
    """The SQL project, the tradeflow package and the Dagster code location (``pipelines``, which
    decides what is built, checked and rendered; shipped in the wheel beside tradeflow)."""
    import importlib.util

    import tradeflow
    from tradeflow.warehouse.db import sql_dir

    roots = ([] if python_only else [sql_dir()]) + [Path(tradeflow.__file__).parent]
    spec = importlib.util.find_spec("pipelines")
    if spec is not None and spec.submodule_search_locations:
        roots += [Path(p) for p in spec.submodule_search_locations]
    return roots


def _code_digest(roots: list[Path] | None = None) -> str:
    """sha256 over the path and content of every file of the SQL project, the tradeflow package and pipelines."""
    digest = hashlib.sha256()
    for root in _code_roots() if roots is None else roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root)
            if _IGNORED_DIRS & set(rel.parts[:-1]) or path.suffix == ".pyc":
                continue
            digest.update(f"{root.name}/{rel.as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


#: The Python code as this process loaded it (tradeflow and pipelines are imported before a refresh
#: starts): code changed on disk while a refresh runs (a pull during a long fetch) was not what it
#: ran, so its build must not match the next refresh, which loads the new code.
_LOADED_PYTHON = _code_digest(_code_roots(python_only=True))


def _raw_digest(conn: duckdb.DuckDBPyConnection) -> list[list]:
    """Per raw table: name, rows, XOR and sum of the row hashes (order-independent).

    raw.comtrade_records, the one large table, by what its rows are a function of: the bodies it
    holds (``meta.comtrade_bodies``: the load writes it with every change of the table and nothing
    else writes the table), the loader's SQL and record types, and the DuckDB that parsed them, plus
    its row count — one row per body instead of a hash of every record (10⁸ records: seconds).
    """
    from tradeflow.warehouse.comtrade_load import BODIES_TABLE, STATE_TABLE

    have = {f"{sch}.{t}" for sch, t in conn.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('raw', 'meta')").fetchall()}
    tables = sorted(t.split(".", 1)[1] for t in have if t.startswith("raw."))
    if not tables:
        return []
    by_body = {"raw.comtrade_records", BODIES_TABLE, STATE_TABLE} <= have

    def rows_hashed(t: str) -> str:
        if by_body and t == "comtrade_records":
            return (f"SELECT '{t}' AS t, (SELECT count(*) FROM raw.comtrade_records) AS n, "
                    f"(SELECT md5(string_agg(b::VARCHAR, '|' ORDER BY b::VARCHAR)) FROM {BODIES_TABLE} AS b) AS h, "
                    f"(SELECT any_value(fingerprint) FROM {STATE_TABLE}) || ' duckdb ' || version() AS s")
        # hash(*COLUMNS(*)): every column by itself (a row alias would name a column of that name instead)
        return (f"SELECT '{t}' AS t, count(*) AS n, coalesce(bit_xor(r), 0)::VARCHAR AS h, "
                f"coalesce(sum(r >> 12), 0)::VARCHAR AS s FROM (SELECT hash(*COLUMNS(*)) AS r FROM raw.\"{t}\")")

    query = " UNION ALL ".join(rows_hashed(t) for t in tables)
    return [[t, int(n), str(h), str(s)] for t, n, h, s in conn.execute(query + " ORDER BY t").fetchall()]


def _versions() -> dict[str, str]:
    """Python and every library tradeflow requires (pandas computes goal marts, plotly and jinja2 write
    the reports, DuckDB and dbt build), with tradeflow's own version."""
    import platform
    import re
    from importlib import metadata

    names = {"tradeflow", "duckdb", "dbt-core", "dbt-duckdb"}
    for req in metadata.requires("tradeflow") or []:
        if "extra ==" not in req and (m := re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req)):
            names.add(m.group(0).lower())
    out = {"python": platform.python_version()}
    for name in sorted(names):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def fingerprint(conn: duckdb.DuckDBPyConnection, build_vars: dict) -> str:
    """The fingerprint of a build from the raw tables on ``conn`` with the current code and parameters."""
    parts = {
        "raw": _raw_digest(conn),
        "code": _code_digest(),
        "code_loaded": _LOADED_PYTHON,
        "vars": {k: v for k, v in build_vars.items() if k not in _NOT_RESULTS},
        "dbt_env": Settings.dbt_flags(),
        "versions": _versions(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def recorded(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint of the last successful full build of this database (None: none, or cleared)."""
    try:
        row = conn.execute(f"SELECT fingerprint FROM {STATE_TABLE}").fetchone()
    except duckdb.Error:  # no such table: a warehouse from before build states
        return None
    return row[0] if row else None


def failed_checks(conn: duckdb.DuckDBPyConnection) -> list[dict]:
    """The checks the recorded build failed (warnings: a build that fails an error check is not recorded),
    as the run ledger lists them; a refresh that keeps the build reports them again."""
    try:
        row = conn.execute(f"SELECT failed_checks FROM {STATE_TABLE}").fetchone()
    except duckdb.Error:  # no such table or column: a warehouse from before
        return []
    try:
        return json.loads(row[0]) if row and row[0] else []
    except ValueError:
        return []


def forget(conn: duckdb.DuckDBPyConnection) -> None:
    """Clear the state before a build: a build that fails or is cut off leaves none."""
    conn.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (fingerprint VARCHAR NOT NULL, built_at TIMESTAMPTZ NOT NULL)")
    conn.execute(f"ALTER TABLE {STATE_TABLE} ADD COLUMN IF NOT EXISTS failed_checks VARCHAR")
    conn.execute(f"DELETE FROM {STATE_TABLE}")


def record(conn: duckdb.DuckDBPyConnection, fp: str, checks: list[dict] | None = None) -> None:
    """After a successful full build: the warehouse is built from ``fp`` (and failed ``checks``, warnings)."""
    forget(conn)
    conn.execute(f"INSERT INTO {STATE_TABLE} (fingerprint, built_at, failed_checks) VALUES (?, now(), ?)",
                 [fp, json.dumps(checks or [], default=str)])


def of_database(path: Path) -> str | None:
    """The fingerprint a DuckDB file (the warehouse, or the published snapshot) was built from."""
    if not Path(path).is_file():
        return None
    try:
        conn = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        return recorded(conn)
    finally:
        conn.close()


def of_reports(reports_dir: Path) -> str | None:
    """The fingerprint the reports in ``reports_dir`` were rendered from (None: none, or no index page)."""
    stamp = Path(reports_dir) / REPORTS_STAMP
    if not (Path(reports_dir) / "index.html").is_file():
        return None
    try:
        return stamp.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def mark_reports(reports_dir: Path, fp: str | None) -> None:
    """After rendering from a snapshot built from ``fp`` (None: unknown, which means render next time)."""
    stamp = Path(reports_dir) / REPORTS_STAMP
    if fp is None:
        stamp.unlink(missing_ok=True)
        return
    tmp = stamp.with_suffix(".tmp")
    tmp.write_text(fp + "\n", encoding="utf-8")
    tmp.replace(stamp)
