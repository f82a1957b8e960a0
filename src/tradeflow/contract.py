"""The marts contract: column documentation (dbt schema files, persisted into the database) and docs/sql.md generated from the database."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import duckdb
import yaml

from tradeflow.errors import WarehouseError
from tradeflow.warehouse.db import sql_dir


_DOC = re.compile(r"\{%\s*docs\s+(\w+)\s*%\}(.*?)\{%\s*enddocs\s*%\}", re.S)
_DOC_REF = re.compile(r"^\{\{\s*doc\(['\"](\w+)['\"]\)\s*\}\}$")


@cache
def column_docs() -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """(table → column → description, shared column → description) from the marts schema files.

    The same texts dbt persists into the database (``persist_docs``); ``{{ doc('x') }}`` resolves
    to the docs block ``x`` of ``_docs.md``.
    """
    folder = sql_dir() / "models" / "marts"
    try:
        shared = {k: v.strip() for k, v in _DOC.findall((folder / "_docs.md").read_text(encoding="utf-8"))}
        schema = yaml.safe_load((folder / "_schema.yml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise WarehouseError(f"cannot read the marts schema files in {folder}: {exc}") from exc
    tables = {}
    for model in schema.get("models") or []:
        cols = {}
        for c in model.get("columns") or []:
            text = str(c.get("description") or "")
            ref = _DOC_REF.match(text.strip())
            cols[c["name"]] = shared.get(ref.group(1), "") if ref else text
        tables[model["name"]] = cols
    return tables, shared


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
