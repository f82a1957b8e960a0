"""Build one SQL model on hand-made tables, for tests that check a model's arithmetic.

``build(conn, "marts.fta_indicators", base_year=2019)`` renders the dbt model's Jinja the way dbt
would for this project — ``ref('x')`` → ``<schema>.x`` (the folder the model lives in),
``source('raw', 'x')`` → ``raw.x``, ``var()`` from dbt_project.yml, tradeflow's run-time vars
and the keyword arguments, the project's macros — and runs ``CREATE OR REPLACE TABLE`` on an
in-memory DuckDB holding only the inputs the test made. The pipeline itself always runs dbt
(``tradeflow.warehouse.dbt_project``); this only lets a test pin a model down in milliseconds.
Raw loader models (``raw.*``) build as the pipeline builds them.
"""

from __future__ import annotations

import re
from functools import cache

import duckdb
import jinja2
import yaml

from tradeflow.warehouse import db
from tradeflow.warehouse.dbt_project import dbt_vars, project_dir

#: dbt-only blocks (generic tests, materializations) that plain Jinja cannot parse and a model never calls.
_TEST_BLOCK = re.compile(r"\{%\s*(test|materialization)\b.*?\{%\s*end\1\s*%\}", re.S)


@cache
def _schemas() -> dict[str, str]:
    return {p.stem: p.parent.name for p in (project_dir() / "models").rglob("*.*") if p.suffix in (".sql", ".py")}


@cache
def _macros() -> str:
    return "\n".join(_TEST_BLOCK.sub("", p.read_text(encoding="utf-8"))
                     for p in sorted((project_dir() / "macros").glob("*.sql")))


def render(name: str, **vars_) -> str:
    """The SQL of staging/marts model ``schema.table``, rendered for a plain DuckDB connection."""
    schema, _, table = name.partition(".")
    return render_sql((project_dir() / "models" / schema / f"{table}.sql").read_text(encoding="utf-8"), name, **vars_)


def render_sql(text: str, name: str = "query", **vars_) -> str:
    """Any SQL text using the project's Jinja (macros, ref, source, var), rendered the same way."""
    defaults = yaml.safe_load((project_dir() / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    values = {**defaults, **dbt_vars(), **vars_}

    def var(key, default=None):
        if key in values:
            return values[key]
        if default is None:
            raise KeyError(f"model {name} needs var {key!r}")
        return default

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.globals.update(
        ref=lambda model: f"{_schemas()[model]}.{model}", source=lambda src, t: f"{src}.{t}", var=var,
        config=lambda **_: "", model={"language": "sql"}, target={"schema": "main"},
    )
    return env.from_string(_macros() + "\n" + text).render()


def build(conn: duckdb.DuckDBPyConnection, name: str, **vars_) -> int:
    """(Re)build ``name`` on ``conn``; returns its row count."""
    if name.startswith("raw."):
        return db.build(conn, name, **vars_)
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {name.split('.')[0]}")
    conn.execute(f"CREATE OR REPLACE TABLE {name} AS\n{render(name, **vars_)}")
    return conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]


def hs2017_as_reported(conn: duckdb.DuckDBPyConnection) -> None:
    """``marts.trade_flows_hs2017`` (with an empty ``marts.hs_concordance``) for a test whose ``marts.trade_flows``
    holds HS2017 rows only: a view, so rows inserted later are in it too."""
    conn.execute(render_sql("CREATE VIEW marts.trade_flows_hs2017 AS SELECT *, hs6 AS hs6_2017, {{ is_agro('hs6') }} "
                            "AS is_agro, {{ is_perishable('hs6') }} AS is_perishable FROM marts.trade_flows"))
    conn.execute("""CREATE TABLE IF NOT EXISTS marts.hs_concordance (from_version VARCHAR, from_code VARCHAR,
                    to_version VARCHAR, to_code VARCHAR, weight DOUBLE, is_ambiguous BOOLEAN)""")
