"""Ad-hoc read-only SQL against the published snapshot (never the live warehouse file).

The sandbox is structural, not a list of forbidden words: the snapshot is opened read-only
with DuckDB's external access switched off (no file, URL, ATTACH, COPY, EXPORT, INSTALL or
LOAD can reach the file system or the network), extensions are neither auto-installed nor
auto-loaded, spilling to disk is off, and the configuration is locked before any user SQL
runs, so no ``SET``/``PRAGMA`` (``log_query_path``, ``profiling_output``, ``enable_external_access``…)
can re-open a door. Reading an analyst's own files is therefore not possible here either:
open the snapshot in the DuckDB CLI (``duckdb -readonly``) for that. One statement per call.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from tradeflow.errors import TradeflowError, WarehouseError
from tradeflow.settings import Settings

#: Fixed at connect time; ``lock_configuration`` is set last, before any user SQL.
SANDBOX = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,  # never scan Python variables by name
    "temp_directory": "",  # never spill query state to disk
}

#: Statement types an analyst may run (friendlier message; the sandbox above is what enforces it).
READ_ONLY = {"SELECT", "EXPLAIN", "PRAGMA", "SET", "VARIABLE_SET"}


def sandbox_connect(path: Path) -> duckdb.DuckDBPyConnection:
    """Open ``path`` read-only in the sandbox, configuration locked."""
    try:
        conn = duckdb.connect(str(path), read_only=True, config=dict(SANDBOX))
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open {path}: {str(exc).splitlines()[0]}") from exc
    try:
        conn.execute("SET enable_progress_bar = false")
        conn.execute("SET lock_configuration = true")
    except BaseException:
        conn.close()
        raise
    return conn


def _explain(exc: duckdb.Error) -> str:
    first = str(exc).splitlines()[0]
    if isinstance(exc, duckdb.PermissionException):
        return (f"refused: `tradeflow sql` cannot read or write files, URLs or extensions ({first}); "
                "it queries the published snapshot only")
    if "configuration has been locked" in first:
        return f"refused: `tradeflow sql` settings are locked ({first})"
    return f"SQL error: {first}"


def run_readonly(settings: Settings, query: str) -> tuple[list[str], list[tuple]]:
    """Run one statement ``query`` on the snapshot; returns (column names, rows)."""
    path = settings.snapshot
    if not path.exists():
        raise WarehouseError(f"no published snapshot at {path}: run `tradeflow refresh` first")
    conn = sandbox_connect(path)
    try:
        try:
            statements = conn.extract_statements(query)
        except duckdb.Error as exc:
            raise TradeflowError(_explain(exc)) from exc
        if not statements:
            raise TradeflowError("no SQL statement given")
        if len(statements) > 1:
            raise TradeflowError(f"refused: {len(statements)} statements given; `tradeflow sql` runs one statement "
                                 "at a time (split them into separate calls)")
        kind = statements[0].type.name
        if kind not in READ_ONLY:
            raise TradeflowError(
                f"refused: `tradeflow sql` is read-only and this is a {kind} statement; "
                "the warehouse changes only through `tradeflow refresh`"
            )
        try:
            rel = conn.execute(statements[0].query)
            columns = [d[0] for d in rel.description or []]
            return columns, rel.fetchall()
        except duckdb.Error as exc:
            raise TradeflowError(_explain(exc)) from exc
    finally:
        conn.close()
