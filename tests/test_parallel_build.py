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


def test_the_build_runs_as_many_models_as_cores_over_one_pool_of_as_many_threads(monkeypatch):
    """profiles.yml sets DuckDB's threads once, when the database opens (config_options, not the per-cursor
    settings, which would reset the count whenever a model opens a cursor), from tradeflow's cores; dbt
    builds as many models at once."""
    import yaml

    from tradeflow.warehouse import dbt_project

    profile = yaml.safe_load((dbt_project.project_dir() / "profiles.yml").read_text(encoding="utf-8"))
    output = profile["tradeflow"]["outputs"]["warehouse"]
    assert output["config_options"]["threads"] == "{{ var('duckdb_threads') }}"
    assert "threads" not in output["settings"]
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
    assert sent[0][sent[0].index("--threads") + 1] == "3"


def test_goal_metrics_run_on_one_thread_while_models_are_built_beside_them(sample_copy, monkeypatch):
    """Three goal models run user SQL (free to sum DOUBLE) while dbt builds two models at a time: each
    sees one DuckDB thread from the start of its metrics to their end."""
    from tradeflow.green_channel import goals
    from tradeflow.warehouse import dbt_project

    seen, original = [], goals.goal_frames

    def goal_frames(conn, *args, **kwargs):
        seen.append(conn.execute("SELECT current_setting('threads')").fetchone()[0])
        frames = original(conn, *args, **kwargs)
        seen.append(conn.execute("SELECT current_setting('threads')").fetchone()[0])
        return frames

    monkeypatch.setattr(goals, "goal_frames", goal_frames)
    monkeypatch.setattr(dbt_project, "cores", lambda: 2)
    result = dbt_project.build(sample_copy, full_refresh=True)
    assert result.success, result.error
    assert len(seen) == 6 and set(seen) == {1}, seen


def test_narrowed_blocks_on_two_threads_do_not_restore_each_others_count():
    """duckdb_threads holds a process-wide lock: a second block waits, so it never sees (and later restores) the
    first block's narrowed count, and the database ends with the count it had."""
    import threading
    import time

    from tradeflow.warehouse.db import duckdb_threads

    conn = duckdb.connect(config={"threads": 4})
    seen = []

    def narrow(pause: float):
        cur = conn.cursor()
        with duckdb_threads(cur, 1):
            seen.append(cur.execute("SELECT current_setting('threads')").fetchone()[0])
            time.sleep(pause)
            seen.append(cur.execute("SELECT current_setting('threads')").fetchone()[0])

    first = threading.Thread(target=narrow, args=(0.1,))
    first.start()
    time.sleep(0.03)
    second = threading.Thread(target=narrow, args=(0.3,))  # unlocked, it would outlive the first's restore
    second.start()
    first.join()
    second.join()
    assert seen == [1, 1, 1, 1]
    assert conn.execute("SELECT current_setting('threads')").fetchone()[0] == 4


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
