"""The marts contract: column documentation applied to the database, and docs/sql.md generated from it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from tradeflow.errors import WarehouseError
from tradeflow.warehouse.db import model_description, sql_dir


def load_contract() -> dict:
    path = sql_dir() / "marts" / "_contract.yaml"
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise WarehouseError(f"cannot read the marts contract {path}: {exc}") from exc


def apply_comments(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """COMMENT ON every marts table and column; returns the columns left undocumented."""
    contract = load_contract()
    missing = []
    cols = conn.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                        "ORDER BY table_name, column_index").fetchall()
    for table in sorted({t for t, _ in cols}):
        conn.execute(f"COMMENT ON TABLE marts.{table} IS {_literal(model_description(f'marts.{table}'))}")
    for table, column in cols:
        text = contract.get("tables", {}).get(table, {}).get(column) or contract.get("common", {}).get(column)
        if text is None:
            missing.append(f"marts.{table}.{column}")
            continue
        conn.execute(f'COMMENT ON COLUMN marts.{table}."{column}" IS {_literal(text)}')
    return missing


def _literal(text: str) -> str:
    """A SQL string literal (COMMENT ON takes no parameters)."""
    return "'" + str(text).replace("'", "''") + "'"


def render_markdown(conn: duckdb.DuckDBPyConnection) -> str:
    """docs/sql.md: every marts table and column with its type and meaning, read from the database."""
    out = [
        "# The SQL contract: `marts`",
        "",
        "Generated from the database by `tradeflow docs` — do not edit by hand (a test fails when it drifts).",
        "Open the published snapshot read-only: `tradeflow sql \"…\"` or "
        "`duckdb -readonly $TRADEFLOW_HOME/published/tradeflow.duckdb`. Curated queries: `sql/examples/`.",
        "",
    ]
    tables = conn.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").fetchall()
    for table, comment in tables:
        out += [f"## `marts.{table}`", "", comment or "", "", "| column | type | meaning, unit, source |", "|---|---|---|"]
        for name, dtype, ccomment in conn.execute(
            "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = ? "
            "ORDER BY column_index", [table]).fetchall():
            out.append(f"| `{name}` | {dtype} | {(ccomment or '').replace('|', '/')} |")
        out.append("")
    return "\n".join(out)


def write_docs(conn: duckdb.DuckDBPyConnection, path: Path) -> Path:
    path.write_text(render_markdown(conn), encoding="utf-8")
    return path
