"""The no-op refresh (issue 14, tradeflow.warehouse.build_state): each test is a way the skip could
keep staging, marts, the snapshot or the reports while something they are made from changed."""

from __future__ import annotations

import importlib.metadata as metadata
from pathlib import Path

import duckdb

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
