"""The no-op refresh (issue 14, tradeflow.warehouse.build_state): each test is a way the skip could
keep staging, marts, the snapshot or the reports while something they are made from changed."""

from __future__ import annotations

import importlib.metadata as metadata
import os
import shutil
from pathlib import Path

import duckdb
from click.testing import CliRunner

from tradeflow.warehouse import build_state

OTHER = "0" * 64  # the fingerprint of some other build


def _set_state(db: Path, fp: str) -> None:
    conn = duckdb.connect(str(db))
    try:
        build_state.record(conn, fp)
    finally:
        conn.close()


def test_the_raw_digest_reads_every_column_even_one_named_like_its_row_alias(tmp_path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute("CREATE SCHEMA raw")
    conn.execute("CREATE TABLE raw.points AS SELECT 1 AS x, 10.0 AS value_usd UNION ALL SELECT 2, 20.0")
    before = build_state._raw_digest(conn)
    conn.execute("UPDATE raw.points SET value_usd = 99.0 WHERE x = 1")
    assert build_state._raw_digest(conn) != before
    conn.execute("UPDATE raw.points SET value_usd = 10.0 WHERE x = 1")
    assert build_state._raw_digest(conn) == before  # same rows, same digest
    conn.close()


def test_a_changed_file_of_the_pipelines_package_changes_the_fingerprint():
    """pipelines/ (shipped in the wheel too) decides what is built and rendered: the report asset's
    arguments, the dbt selection, the checks."""
    import pipelines

    probe = Path(pipelines.__file__).parent / "_build_state_probe.py"
    before = build_state._code_digest()
    try:
        probe.write_text("# a change to the code location\n", encoding="utf-8")
        assert build_state._code_digest() != before
    finally:
        probe.unlink(missing_ok=True)
    assert build_state._code_digest() == before


def test_an_upgraded_library_the_build_or_the_reports_run_changes_the_fingerprint(tmp_path, monkeypatch):
    """pandas computes the goal marts (dbt Python models), plotly and jinja2 write the report pages."""
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    real = metadata.version
    before = build_state.fingerprint(conn, {})
    for lib in ("pandas", "plotly", "jinja2"):
        monkeypatch.setattr(metadata, "version", lambda name, lib=lib: "0.0.1" if name.lower() == lib else real(name))
        assert build_state.fingerprint(conn, {}) != before, lib
    monkeypatch.setattr(metadata, "version", real)
    assert build_state.fingerprint(conn, {}) == before
    conn.close()


def _other_home(s, tmp_path: Path) -> Path:
    """A second home whose snapshot holds other numbers (e.g. the sample home beside the live one)."""
    other = tmp_path / "other"
    (other / "published").mkdir(parents=True)
    shutil.copyfile(s.snapshot, other / "published" / "tradeflow.duckdb")
    conn = duckdb.connect(str(other / "published" / "tradeflow.duckdb"))
    conn.execute("UPDATE marts.trade_flows SET value_usd = value_usd * 2")
    build_state.record(conn, OTHER)
    conn.close()
    return other


def test_tradeflow_report_stamps_the_reports_with_the_build_it_rendered(sample_copy, tmp_path, monkeypatch):
    """The reports folder does not depend on TRADEFLOW_HOME (default ./reports): `tradeflow report` from
    another home puts that home's numbers there; the next no-op refresh of this home must render again."""
    from tradeflow.cli import main
    from tradeflow.settings import Settings

    s = Settings.from_env()
    fp = build_state.of_database(s.snapshot)
    assert fp and build_state.of_reports(s.reports_dir) == fp
    monkeypatch.setenv("TRADEFLOW_HOME", str(_other_home(s, tmp_path)))
    r = CliRunner().invoke(main, ["report"])
    assert r.exit_code == 0, r.output
    assert build_state.of_reports(s.reports_dir) == OTHER  # not this home's fp: its refresh renders again


def test_a_tradeflow_report_cut_off_half_way_leaves_no_stamp(sample_copy, tmp_path, monkeypatch):
    import tradeflow.report.suite as suite
    from tradeflow.cli import main
    from tradeflow.settings import Settings

    s = Settings.from_env()
    assert build_state.of_reports(s.reports_dir)
    real, written = suite.render_page, []

    def render_page(page, *args, **kwargs):
        if written:
            raise KeyboardInterrupt  # killed after the index page
        written.append(page.slug)
        return real(page, *args, **kwargs)

    monkeypatch.setattr(suite, "render_page", render_page)
    monkeypatch.setenv("TRADEFLOW_HOME", str(_other_home(s, tmp_path)))
    CliRunner().invoke(main, ["report"])
    assert written == ["index"]
    assert build_state.of_reports(s.reports_dir) is None  # half this home's pages, half the other's: render again


def test_the_reports_are_stamped_with_the_snapshot_they_were_rendered_from(sample_copy, monkeypatch):
    """Another refresh may publish while the reports render (publish holds the writer lock, rendering
    does not): the stamp names the snapshot the pages were read from, not the one on disk afterwards."""
    import tradeflow.report.suite as suite
    from pipelines.assets import reports as report_assets
    from pipelines.resources import TradeflowResource
    from tradeflow.settings import Settings

    s = Settings.from_env()
    fp = build_state.of_database(s.snapshot)
    real = suite.render_reports

    def render_while_another_refresh_publishes(conn, out_dir, **kwargs):
        paths = real(conn, out_dir, **kwargs)
        newer = s.snapshot.with_name(".publish-newer.duckdb")
        shutil.copyfile(s.snapshot, newer)
        _set_state(newer, OTHER)
        os.replace(newer, s.snapshot)
        return paths

    monkeypatch.setattr(suite, "render_reports", render_while_another_refresh_publishes)
    monkeypatch.setattr(report_assets, "render_reports", render_while_another_refresh_publishes, raising=False)
    report_assets.report_suite(tradeflow=TradeflowResource())
    assert build_state.of_database(s.snapshot) == OTHER
    assert build_state.of_reports(s.reports_dir) == fp  # rendered from fp: the next refresh sees OTHER ≠ fp


def test_dbt_settings_from_the_environment_change_the_fingerprint(tmp_path, monkeypatch):
    """dbt reads flags from DBT_* variables: DBT_EMPTY builds every model from zero source rows, DBT_SAMPLE
    from a time sample. Such a build must not be kept by the next refresh run without them."""
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    before = build_state.fingerprint(conn, {})
    for var, value in (("DBT_EMPTY", "1"), ("DBT_SAMPLE", "3 days")):
        monkeypatch.setenv(var, value)
        assert build_state.fingerprint(conn, {}) != before, var
        monkeypatch.delenv(var)
    assert build_state.fingerprint(conn, {}) == before
    conn.close()


def test_code_changed_under_a_running_refresh_is_not_recorded_as_the_code_it_ran(tmp_path):
    """A pull while a long refresh fetches: the process still runs the Python it loaded, the files on
    disk are new. Its build must not match the next refresh, which loads (and builds with) the new code."""
    import importlib

    import pipelines

    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    probe = Path(pipelines.__file__).parent / "_build_state_probe.py"
    try:
        probe.write_text("# pulled while the refresh ran\n", encoding="utf-8")
        during = build_state.fingerprint(conn, {})  # old code loaded, new code on disk
        importlib.reload(build_state)  # the next refresh: a new process loads the new code
        assert build_state.fingerprint(conn, {}) != during
    finally:
        probe.unlink(missing_ok=True)
        importlib.reload(build_state)
        conn.close()


def test_a_refresh_that_keeps_a_build_still_reports_the_checks_that_build_failed(sample_copy, monkeypatch):
    """Warning checks (months not summing to the year, tenfold jumps) are about the data, which a no-op
    refresh keeps: the refresh and `tradeflow status` (the ledger) must still list them."""
    import tradeflow.quality as quality
    from pipelines.refresh import run_refresh
    from tradeflow import runlog
    from tradeflow.settings import Settings

    real = quality.gate_table

    def a_warning_gate_fails(conn):
        df = real(conn)
        df.loc[df.index[~df["blocking"]][:1], "passed"] = False
        return df

    monkeypatch.setattr(quality, "gate_table", a_warning_gate_fails)
    built = run_refresh("sample", force=True)
    assert built.success, built.error
    warned = [c for c in built.failed_checks if c["check"] == "warning_gates_passed"]
    assert warned and warned[0]["severity"] == "WARN"

    kept = run_refresh("sample")
    assert kept.success and kept.unchanged
    assert [c for c in kept.failed_checks if c["check"] == "warning_gates_passed"] == warned
    # every check reports the kept build's verdict (Dagster warned each night that blocking checks emitted no result)
    from dagster import DagsterEventType

    from pipelines.instance import open_instance

    with open_instance(Settings.from_env()) as instance:
        verdicts = [e.dagster_event.event_specific_data for run_id in kept.run_ids
                    for e in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)]
    dbt_checks = [v for v in verdicts if "unchanged" in v.metadata]
    assert len(dbt_checks) > 40
    assert {v.check_name for v in dbt_checks if not v.passed} == {"warning_gates_passed"}
    last = runlog.last_run(Settings.from_env().home)
    assert [c for c in last.failed_checks if c["check"] == "warning_gates_passed"] == warned


def test_a_changed_dbt_package_changes_the_fingerprint(tmp_path, monkeypatch):
    """dbt_packages/ (what `dbt deps` installs) holds macros and models the build runs."""
    from tradeflow.warehouse.db import sql_dir

    project = tmp_path / "sql"
    shutil.copytree(sql_dir(), project, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setenv("TRADEFLOW_SQL_DIR", str(project))
    macro = project / "dbt_packages" / "utils" / "macros" / "cents.sql"
    macro.parent.mkdir(parents=True)
    macro.write_text("{% macro cents(x) %}round({{ x }} * 100){% endmacro %}\n", encoding="utf-8")
    before = build_state._code_digest()
    macro.write_text("{% macro cents(x) %}floor({{ x }} * 100){% endmacro %}\n", encoding="utf-8")  # a `dbt deps` upgrade
    assert build_state._code_digest() != before
