"""Issue 14, "use the cores": every dbt model runs on every core, and its result cannot depend on it.

Money is summed exactly (sql/macros/exact.sql), ties are broken by a total order and nothing takes
"any" row of a group; a model that runs user SQL (the goal metrics) narrows itself to one thread.
The proof: the sample's staging and marts built on one DuckDB thread and on four, with DuckDB's
``verify_parallelism`` (every operator split into small parallel tasks, so even the sample's small
tables are read by several threads), are the same bytes.
"""
import hashlib
from pathlib import Path

import duckdb
import pytest


def digests(db: Path) -> dict[str, str]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        tables = conn.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                              "WHERE schema_name IN ('staging', 'marts') ORDER BY ALL").fetchall()
        return {f"{s}.{t}": hashlib.sha256(repr(conn.execute(f"SELECT * FROM {s}.{t} ORDER BY ALL").fetchall())
                                           .encode()).hexdigest() for s, t in tables}
    finally:
        conn.close()


@pytest.fixture
def parallel(monkeypatch):
    """dbt's DuckDB on ``n`` threads, every cursor with verify_parallelism when n > 1."""
    from dbt.adapters.duckdb.environments import Environment

    from tradeflow.warehouse import dbt_project

    original = Environment.initialize_cursor.__func__
    pragmas = []

    def initialize_cursor(cls, creds, cursor, *args, **kwargs):
        cursor = original(cls, creds, cursor, *args, **kwargs)
        if pragmas:
            cursor.execute(pragmas[0])
        return cursor

    monkeypatch.setattr(Environment, "initialize_cursor", classmethod(initialize_cursor))

    def use(n: int):
        monkeypatch.setattr(dbt_project, "cores", lambda: n)
        pragmas[:] = ["PRAGMA verify_parallelism"] if n > 1 else []

    return use


def test_staging_and_marts_are_the_same_bytes_on_one_thread_and_on_many(sample_copy, parallel):
    from tradeflow.warehouse import dbt_project

    db = sample_copy / "tradeflow.duckdb"
    parallel(1)
    one = dbt_project.build(sample_copy, full_refresh=True)
    assert one.success, one.error
    single = digests(db)
    assert len(single) > 30 and "marts.trade_flows" in single and "staging.comtrade_flows" in single

    parallel(4)
    many = dbt_project.build(sample_copy, full_refresh=True)
    assert many.success, many.error
    different = sorted(t for t, d in digests(db).items() if single.get(t) != d)
    assert not different, f"built on 4 threads, these tables differ from the 1-thread build: {different}"


def test_the_build_runs_every_query_on_every_core_one_model_at_a_time(monkeypatch):
    """profiles.yml takes DuckDB's threads from tradeflow (var duckdb_threads = its cores) and dbt builds one
    model at a time, so no two models share (and fight over) DuckDB's one global thread count."""
    import yaml

    from tradeflow.warehouse import dbt_project

    profile = yaml.safe_load((dbt_project.project_dir() / "profiles.yml").read_text(encoding="utf-8"))
    assert profile["tradeflow"]["outputs"]["warehouse"]["settings"]["threads"] == "{{ var('duckdb_threads') }}"
    monkeypatch.setattr(dbt_project, "cores", lambda: 3)
    assert dbt_project.dbt_vars()["duckdb_threads"] == 3
    sent = []

    class Runner:
        def invoke(self, args):
            sent.append(args)
            raise RuntimeError("stop")

    monkeypatch.setattr("dbt.cli.main.dbtRunner", Runner)
    monkeypatch.setattr(dbt_project, "prepare_manifest", lambda: None)
    with pytest.raises(RuntimeError, match="stop"):
        dbt_project.build(Path("."))
    assert sent[0][sent[0].index("--threads") + 1] == "1"


def render(call: str) -> str:
    """A call of the exact-sum macros, rendered from sql/macros/exact.sql (plain Jinja, as dbt renders it)."""
    import jinja2

    from tradeflow.warehouse import dbt_project

    macros = (dbt_project.project_dir() / "macros" / "exact.sql").read_text(encoding="utf-8")
    return jinja2.Environment(extensions=["jinja2.ext.do"]).from_string(macros + "{{ " + call + " }}").render().strip()


def test_exact_sums_are_the_same_in_any_order_and_plain_sums_are_not():
    """The macros on a cancelling series: a DOUBLE sum depends on the order rows are added in, these do not."""
    conn = duckdb.connect()
    conn.execute("CREATE TABLE t AS SELECT i, CASE WHEN i < 1000 THEN 1.25 WHEN i < 2000 THEN 1e17 ELSE -1e17 END AS v "
                 "FROM range(3000) r(i)")
    plain = {conn.execute(f"SELECT sum(v ORDER BY i {d}) FROM t").fetchone()[0] for d in ("ASC", "DESC")}
    assert len(plain) == 2  # the hazard is real

    def value(call: str):
        return conn.execute(f"SELECT {render(call)} FROM t").fetchall()

    assert value("exact_sum('v')") == [(1250.0,)]
    assert value("exact_sum('v', filter='i < 1000')") == [(1250.0,)]
    assert value("exact_avg('v')") == [(1250.0 / 3000,)]
    assert set(value("exact_sum('v', over='(PARTITION BY i % 2)')")) == {(625.0,)}
    with pytest.raises(duckdb.ConversionException):  # too large for DECIMAL(38, 6): an error, never a rounded sum
        value("exact_sum('v * 1e20')")
