"""The dbt project in sql/: one asset per model, subset rebuilds, grain tests that block publishing."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import duckdb
import pytest

from tests.test_refresh import marts_digest


MARK = "untouched since the test marked it"


def _mark_tables(db) -> set[str]:
    """Comment every staging and marts table; a rebuilt table comes back without the mark."""
    conn = duckdb.connect(str(db))
    try:
        tables = conn.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                              "WHERE schema_name IN ('staging', 'marts')").fetchall()
        for s, t in tables:
            conn.execute(f"COMMENT ON TABLE {s}.{t} IS '{MARK}'")
        return {f"{s}/{t}" for s, t in tables}
    finally:
        conn.close()


def _marked(db) -> set[str]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return {f"{s}/{t}" for s, t in conn.execute(
            f"SELECT schema_name, table_name FROM duckdb_tables() WHERE comment = '{MARK}'").fetchall()}
    finally:
        conn.close()


def test_every_model_is_its_own_asset_with_lineage_from_ref():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {"/".join(k.path) for k in graph.get_all_asset_keys()}
    assert {"staging/comtrade_flows", "staging/quality_gates", "marts/trade_flows", "marts/goal_progress",
            "marts/goals", "raw/comtrade_records"} <= keys
    parents = lambda key: {"/".join(p.path) for p in graph.get(dg.AssetKey(key.split("/"))).parent_keys}  # noqa: E731
    # the dependencies the hand-written lists got wrong (issue 13) now come from ref()/source()
    assert "marts/trade_flows" in parents("marts/gacc_event_study") or "marts/trade_flows_hs2017" in parents(
        "marts/gacc_event_study")
    assert "staging/countries" in parents("marts/trade_complementarity")
    assert {"marts/goals", "marts/goal_actuals", "marts/goal_actuals_monthly"} <= parents("marts/goal_progress")
    assert "staging/quality_gates" in parents("marts/trade_flows")  # the gates block the flows
    checks = {(("/".join(k.asset_key.path)), k.name) for k in graph.asset_check_keys}
    assert any(a == "marts/dim_country" and n == "grain" for a, n in checks)
    assert ("staging/quality_gates", "blocking_gates_passed") in checks


def test_one_mart_rebuilds_alone_with_its_downstreams(sample_copy):
    from pipelines.definitions import all_assets, all_checks
    from pipelines.resources import TradeflowResource

    db = sample_copy / "tradeflow.duckdb"
    tables = _mark_tables(db)
    result = dg.materialize([*all_assets, *all_checks], selection="key:marts/agro_monthly+",
                            resources={"tradeflow": TradeflowResource(source="archive")})
    assert result.success
    ran = {"/".join(e.asset_key.path) for e in result.get_asset_materialization_events()}
    assert ran == {"marts/agro_monthly", "marts/agro_indicators", "published/snapshot", "reports/html_suite"}
    assert tables - _marked(db) == {"marts/agro_monthly", "marts/agro_indicators"}  # nothing upstream or beside touched
    checked = {"/".join(e.asset_key.path) for e in result.get_asset_check_evaluations()}
    assert checked == {"marts/agro_monthly", "marts/agro_indicators"}


def test_a_fan_out_in_a_dimension_fails_the_grain_test_and_publishes_nothing(sample_copy, tmp_path, monkeypatch):
    """A chapter listed twice in the chapters seed fans dim_hs out: its unique test fails, nothing is published."""
    from pipelines.refresh import run_refresh
    from tradeflow.warehouse import dbt_project

    ref = tmp_path / "reference"
    shutil.copytree(dbt_project.dbt_vars()["reference_dir"], ref)
    chapters = ref / "hs_chapters.csv"
    line = next(x for x in chapters.read_text().splitlines() if x.startswith("08,"))
    chapters.write_text(chapters.read_text() + line + "\n")
    real = dbt_project.dbt_vars
    monkeypatch.setattr(dbt_project, "dbt_vars", lambda: {**real(), "reference_dir": str(ref)})

    snapshot = sample_copy / "published" / "tradeflow.duckdb"
    before = marts_digest(snapshot)
    outcome = run_refresh("archive")
    assert not outcome.success and "dbt build failed" in outcome.error
    failed = [c for c in outcome.failed_checks if c["asset"] == "marts/dim_hs"]
    assert [c["check"].split("_dim_hs")[0] for c in failed] == ["grain"]
    assert failed[0]["severity"] == "ERROR" and failed[0]["failed_rows"] > 0
    assert any("problem=key occurs 2 times" in s and "code=08" in s for s in failed[0]["sample"])
    assert marts_digest(snapshot) == before  # the published snapshot is unchanged
    runs = [json.loads(x) for x in (sample_copy / "runs.jsonl").read_text().splitlines()]
    assert runs[-1]["success"] is False
    from tradeflow.warehouse import build_state

    assert build_state.of_database(sample_copy / "tradeflow.duckdb") is None  # the next refresh builds again


def test_a_broken_schema_file_is_named_with_its_line(tmp_path, monkeypatch):
    from tradeflow.errors import WarehouseError
    from tradeflow.warehouse import dbt_project

    sql = tmp_path / "sql"
    shutil.copytree(dbt_project.project_dir(), sql, ignore=shutil.ignore_patterns("target"))
    with (sql / "models" / "marts" / "_schema.yml").open("a") as f:
        f.write("\n  - name: broken\n    columns: [oops\n")
    monkeypatch.setenv("TRADEFLOW_SQL_DIR", str(sql))
    with pytest.raises(WarehouseError, match=r"(?s)could not parse.*marts/_schema.yml.*line"):
        dbt_project.prepare_manifest()


def test_a_half_written_parse_stamp_means_parse_again():
    from tradeflow.warehouse import dbt_project

    path = dbt_project.prepare_manifest()
    stamp = dbt_project.target_dir() / "tradeflow_vars.json"
    stamp.write_text('{"reference_dir": ')  # a crash mid-write
    before = path.stat().st_mtime_ns
    assert dbt_project.prepare_manifest() == path and path.stat().st_mtime_ns > before
    assert json.loads(stamp.read_text()) == dbt_project.dbt_vars()


def test_the_grain_test_returns_repeated_keys_and_keys_with_a_null():
    """sql/macros/grain.sql on a hand-made table: NULLs compare equal in a key; only `not_null` columns must be set."""
    import re

    import duckdb
    import jinja2

    from tradeflow.warehouse.dbt_project import project_dir

    text = (project_dir() / "macros" / "grain.sql").read_text(encoding="utf-8")
    macros = re.sub(r"\{%\s*test\s+(\w+)", r"{% macro test_\1", text).replace("{% endtest %}", "{% endmacro %}")
    sql = jinja2.Environment().from_string(macros + "{{ test_grain('t', ['k', 'm'], not_null=['k', 'v']) }}").render()
    conn = duckdb.connect()
    conn.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, NULL, 'a'), (1, NULL, 'b'), (2, 1, NULL), (NULL, 2, 'c'),"
                 " (3, NULL, 'd'), (3, 1, 'e')) AS x(k, m, v)")
    assert sorted(conn.execute(sql).fetchall(), key=str) == sorted([
        ("key occurs 2 times", 1, None),  # (1, NULL) twice: a fan-out, though m may be NULL
        ("NULL in v", 2, 1),
        ("NULL in k", None, 2),
    ], key=str)
    conn.execute("DELETE FROM t WHERE v IN ('b') OR v IS NULL OR k IS NULL")
    assert conn.execute(sql).fetchall() == []


def test_a_code_of_no_known_hs_version_fails_hs2017_mapped():
    """marts.trade_flows_hs2017 on hand-made rows, then sql/macros/hs2017_mapped.sql: an HS2017 code passes, an HS2022
    code with its pair passes, and a code whose version is unknown (NULL: a classification no reference names) is not
    concorded and fails the test, named (main: is_concorded NULL, which `NOT is_concorded` let through)."""
    import re

    import duckdb
    import jinja2

    from dbt_models import build
    from tradeflow.warehouse.dbt_project import project_dir

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE marts.trade_flows AS SELECT reporter, 'CHN' partner, 'X' flow, 'A' freq, 2023 AS year,
        NULL::INT AS month, DATE '2023-01-01' period_start, hs6, hs_version, 1.0 value_usd, NULL::DOUBLE net_weight_kg,
        false net_weight_estimated, NULL::DOUBLE cif_usd, 1.0 fob_usd, DATE '2024-06-01' vintage, false is_sample
        FROM (VALUES ('PAK', '100630', 'HS2017'), ('PAK', '240412', 'HS2022'), ('CHN', '999001', NULL))
        t(reporter, hs6, hs_version)""")
    conn.execute("""CREATE TABLE marts.hs_concordance AS SELECT 'HS2022' from_version, '240412' from_code,
                    'HS2017' to_version, '382499' to_code, 1.0 weight, false is_ambiguous""")
    build(conn, "marts.trade_flows_hs2017")
    assert conn.execute("SELECT hs6_reported, is_concorded FROM marts.trade_flows_hs2017 ORDER BY 1").fetchall() == [
        ("100630", True), ("240412", True), ("999001", False)]
    text = (project_dir() / "macros" / "hs2017_mapped.sql").read_text(encoding="utf-8")
    macros = re.sub(r"\{%\s*test\s+(\w+)", r"{% macro test_\1", text).replace("{% endtest %}", "{% endmacro %}")
    sql = jinja2.Environment().from_string(macros + "{{ test_hs2017_mapped('marts.trade_flows_hs2017') }}").render()
    [(problem, *_)] = conn.execute(sql).fetchall()
    assert problem.startswith("unknown HS version code 999001 has no HS2017 mapping"), problem


def test_no_model_hook_or_macro_sets_duckdbs_thread_count():
    """Every query of the build runs on the threads the profile gives (tradeflow's cores,
    tests/test_parallel_build.py); DuckDB's thread count is global, so no model, hook or macro may
    set it in SQL (a Python model narrows it only through duckdb_threads, which restores it)."""
    import re

    from tradeflow.warehouse import dbt_project

    manifest = json.loads(dbt_project.prepare_manifest().read_text(encoding="utf-8"))
    for node in manifest["nodes"].values():
        hooks = node.get("config", {}).get("pre-hook", []) + node.get("config", {}).get("post-hook", [])
        code = " ".join([node.get("raw_code", "")] + [h["sql"] for h in hooks]).lower()
        assert not re.search(r"\bset\s+(global\s+|session\s+)?threads\b|pragma\s+threads|all_cores", code), node["unique_id"]
    for macro in manifest["macros"].values():
        if macro["package_name"] == "tradeflow":
            assert not re.search(r"\bset\s+(global\s+|session\s+)?threads\b", macro["macro_sql"].lower()), macro["name"]


def test_the_memory_limit_reaches_dbts_duckdb_and_not_the_build_fingerprint(monkeypatch):
    """TRADEFLOW_MEMORY_LIMIT caps DuckDB in the dbt build too (profiles.yml reads the var); it changes no result,
    so a refresh after changing it alone still finds nothing to rebuild."""
    import duckdb
    import yaml

    from tradeflow.settings import Settings
    from tradeflow.warehouse import build_state, dbt_project

    profile = yaml.safe_load((dbt_project.project_dir() / "profiles.yml").read_text(encoding="utf-8"))
    assert profile["tradeflow"]["outputs"]["warehouse"]["settings"]["memory_limit"] == "{{ var('memory_limit') }}"
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE TABLE raw.t AS SELECT 1 AS x")
    monkeypatch.delenv("TRADEFLOW_MEMORY_LIMIT", raising=False)
    default, derived = dbt_project.dbt_vars(), Settings.from_env().memory_limit
    monkeypatch.setenv("TRADEFLOW_MEMORY_LIMIT", "700MB")
    capped = dbt_project.dbt_vars()
    assert capped["memory_limit"] == "700MB"
    assert default["memory_limit"] == derived != "80%"  # bounded by default (issue 14)
    assert build_state.fingerprint(conn, default) == build_state.fingerprint(conn, capped)
    assert build_state.fingerprint(conn, default) != build_state.fingerprint(conn, {**default, "cif_fob_factors": [1.2]})


def test_a_basket_or_event_code_that_is_no_hs2017_code_fails_the_build():
    """sql/macros/in_hs2017_list.sql on a whole UN Comtrade H5 list (live; its 5,387 subheadings stood in for by 5,000
    made-up ones): baskets.yaml's 842481 (HS2012's sprayers, split into 842441/842449 in HS2017) and a typo 9901 match
    no HS2017 code and are named; 26 and 8424 are prefixes of real codes and pass. On the sample's list, or a short
    one, there is nothing to check against, and nothing fails."""
    import re

    import duckdb
    import jinja2

    from tradeflow.warehouse.dbt_project import project_dir

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw")
    conn.execute("""CREATE TABLE raw.reference_hs AS SELECT * FROM (VALUES ('H5', '260111', 'comtrade'),
        ('H5', '842441', 'comtrade'), ('H5', '842449', 'comtrade'), ('H4', '842481', 'comtrade'))
        t(classification, code, source)
        UNION ALL SELECT 'H5', (500000 + i)::VARCHAR, 'comtrade' FROM range(5000) t(i)""")
    conn.execute("""CREATE TABLE raw.plan_baskets AS SELECT * FROM (VALUES ('mining', '26'), ('agri', '8424'),
        ('agri2', '842481'), ('x', '9901')) t(basket, hs_prefix)""")
    text = (project_dir() / "macros" / "in_hs2017_list.sql").read_text(encoding="utf-8")
    macros = re.sub(r"\{%\s*test\s+(\w+)", r"{% macro test_\1", text).replace("{% endtest %}", "{% endmacro %}")
    env = jinja2.Environment()
    env.globals["source"] = lambda schema, table: f"{schema}.{table}"
    sql = env.from_string(macros + "{{ test_in_hs2017_list('m', 'plan_baskets', 'hs_prefix', 'baskets.yaml') }}").render()
    assert sorted(conn.execute(sql).fetchall()) == [
        ("842481", "baskets.yaml: 842481 is no HS2017 code nor the start of one (UN Comtrade H5 list)"),
        ("9901", "baskets.yaml: 9901 is no HS2017 code nor the start of one (UN Comtrade H5 list)")]
    conn.execute("DELETE FROM raw.reference_hs WHERE code >= '500100' AND code < '600000'")  # a short list
    assert conn.execute(sql).fetchall() == []
    conn.execute("UPDATE raw.reference_hs SET source = 'sample'")
    assert conn.execute(sql).fetchall() == []


#: dbt's exception when a build dies on a full disk (no node result: dbtRunner raised), as in a refresh's output.
DISK_FULL = ('Runtime Error\n  TransactionContext Error: Failed to commit: Could not write file '
             '"/data/home/tradeflow.duckdb.wal": No space left on device')


def _python_model_failure() -> str:
    """A Python model's error as dbt-duckdb raises it (the traceback under "Python model failed:"), in dbt's own text."""
    import traceback
    from types import SimpleNamespace

    from dbt.exceptions import DbtRuntimeError  # dbt-core's name for dbt_common's class

    from tradeflow.errors import ConfigError

    try:
        raise ConfigError("goals.yaml: targets[2].baseline: must be a number, got 'n/a'")
    except ConfigError as exc:
        tb = "".join(traceback.format_exception(exc))
    node = SimpleNamespace(resource_type="model", name="goals", original_file_path="models/marts/goals.py")
    return str(DbtRuntimeError(f"Python model failed:\n{tb}", node=node))


def test_a_build_dbt_raised_on_says_the_cause_not_just_runtime_error():
    """A full disk during dbt build: no node failed (dbt raised), and the error, the ledger and `tradeflow status`
    said only "dbt build failed (0 problem(s)): Runtime Error"."""
    from pipelines.assets.warehouse import failure_message
    from tradeflow.warehouse.dbt_project import error_summary

    summary = error_summary(DISK_FULL)
    assert summary.startswith("TransactionContext Error: Failed to commit") and summary.endswith("No space left on device")
    msg = failure_message([], summary)
    assert msg == f"dbt build failed: {summary}" and "0 problem" not in msg
    assert error_summary("Runtime Error\n  Database Error\n    IO Error: disk I/O\n\n  > in model x") == \
        "Database Error IO Error: disk I/O"
    assert error_summary("Encountered an error\n") == "Encountered an error"


def test_a_python_models_failure_names_its_exception_not_the_traceback_heading():
    """The clear error (a ConfigError naming the file and key) is a traceback's last line, not its first."""
    from dbt.contracts.results import NodeStatus

    from pipelines.assets.warehouse import _what, failure_message
    from tradeflow.warehouse.dbt_project import NodeResult

    text = _python_model_failure()
    assert text.startswith("Runtime Error in model goals") and "Traceback (most recent call last):" in text
    node = NodeResult(unique_id="model.tradeflow.goals", resource_type="model", status=str(NodeStatus.Error), message=text)
    what = _what(node)
    assert what == ("Python model failed: tradeflow.errors.ConfigError: goals.yaml: targets[2].baseline: must be a "
                    "number, got 'n/a'")
    assert failure_message([node], None) == f"dbt build failed (1 problem(s)): goals: {what}"
    sql = NodeResult(unique_id="model.tradeflow.x", resource_type="model", status="error",
                     message='Runtime Error in model x (models/x.sql)\n  Binder Error: column "y" not found\n  LINE 3: y')
    assert _what(sql) == 'Binder Error: column "y" not found LINE 3: y'  # SQL errors as before


def test_a_full_disk_under_dbt_is_named_in_the_refresh_error_and_the_ledger(sample_copy, monkeypatch):
    """End to end: dbt raises (a commit failed on a full disk) with no node result; the step's error, the
    outcome and the ledger line name the cause."""
    from dbt.cli.main import dbtRunner, dbtRunnerResult
    from dbt.exceptions import DbtRuntimeError  # dbt-core's name for dbt_common's class

    from pipelines.refresh import run_refresh
    from tradeflow import runlog

    real = dbtRunner.invoke
    cause = DISK_FULL.split("\n", 1)[1].strip()

    def invoke(self, args, **kwargs):
        if "build" not in args:
            return real(self, args, **kwargs)
        return dbtRunnerResult(success=False, exception=DbtRuntimeError(cause))

    monkeypatch.setattr(dbtRunner, "invoke", invoke)
    outcome = run_refresh("archive", select="key:marts/agro_monthly")
    assert not outcome.success
    assert "dbt build failed: TransactionContext Error" in outcome.error and "No space left on device" in outcome.error
    assert "No space left on device" in runlog.runs(sample_copy)[-1].error
