"""The warehouse model: contract docs, curated queries, concordance, periods, mirror arithmetic, flags, snapshot, crash safety."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.test_refresh import marts_digest
from tradeflow.contract import render_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_docs_sql_md_matches_the_database(sample_db):
    assert (ROOT / "docs" / "sql.md").read_text() == render_markdown(sample_db), "run `tradeflow docs` and commit docs/sql.md"


def test_every_marts_column_is_documented(sample_db):
    undocumented = sample_db.execute("SELECT table_name || '.' || column_name FROM duckdb_columns() "
                              "WHERE schema_name = 'marts' AND (comment IS NULL OR comment = '')").fetchall()
    assert undocumented == []


@pytest.mark.parametrize("path", sorted((ROOT / "sql" / "examples").glob("*.sql")), ids=lambda p: p.name)
def test_curated_query_runs_and_answers(sample_db, path):
    rows = sample_db.execute(path.read_text()).fetchall()
    assert rows, f"{path.name} returned nothing on the sample"


def test_at_least_ten_curated_queries():
    assert len(list((ROOT / "sql" / "examples").glob("*.sql"))) >= 10


def test_concordance_weights_sum_to_one_on_the_sample(sample_db):
    bad = sample_db.execute("SELECT from_version, from_code, sum(weight) FROM marts.hs_concordance GROUP BY 1, 2 "
                     "HAVING abs(sum(weight) - 1) > 1e-9").fetchall()
    assert bad == []
    # the split of 854140 (solar cells) follows 2022 trade: all of it went to modules, 854143
    rows = dict(sample_db.execute("SELECT to_code, weight FROM marts.hs_concordance WHERE from_code = '854140' "
                           "AND from_version = 'HS2017'").fetchall())
    assert rows["854143"] == 1.0 and rows["854142"] == 0.0


def test_concordance_from_the_full_unsd_table(shared, tmp_path):
    """Build the concordance from the real UNSD tables (as an archived workbook): weights sum to 1 everywhere."""
    import csv

    import openpyxl

    from tradeflow.archive import RawArchive
    from tradeflow.sources.unsd import DATASET
    from tradeflow.warehouse.db import build
    from tradeflow.warehouse.reference_load import concordance_pairs

    wb = openpyxl.Workbook()
    conv = wb.active
    conv.title = "Conversion"
    conv.append(["From HS 2022", "To HS 2017"])
    for r in csv.DictReader(open(shared / "data/hs/unstats_HS2022_to_HS2017_conversion.csv")):
        conv.append([r["hs2022"], r["hs2017"]])
    corr = wb.create_sheet("Correlation")
    corr.append(["HS 2022", "HS 2017", "Relationship"])
    for r in csv.DictReader(open(shared / "data/hs/unstats_HS2022_HS2017_correlation.csv")):
        corr.append([r["hs2022"], r["hs2017"], r["relationship"]])
    path = tmp_path / "t.xlsx"
    wb.save(path)
    archive = RawArchive(tmp_path / "raw")
    archive.store(dataset=DATASET, source="live", url="http://127.0.0.1/hs.xlsx", params={}, status=200, body=path.read_bytes())
    pairs = concordance_pairs(archive)
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA staging; CREATE SCHEMA marts")
    conn.execute("CREATE TABLE staging.comtrade_flows (hs6 VARCHAR, year INT, freq VARCHAR, partner_code INT, "
                 "mot_code INT, flow VARCHAR, value_usd DOUBLE, is_sample BOOLEAN)")
    conn.register("hs_concordance_frame", pairs)
    build(conn, "raw.hs_concordance")
    build(conn, "marts.hs_concordance")
    n, bad = conn.execute("""SELECT count(DISTINCT (from_version, from_code)),
        count(*) FILTER (WHERE s IS NULL OR abs(s - 1) > 1e-9) FROM (
        SELECT from_version, from_code, sum(weight) s FROM marts.hs_concordance GROUP BY 1, 2)""").fetchall()[0]
    assert bad == 0 and n > 10_000  # 5,613 HS2022 codes and 5,362 HS2017 targets
    assert conn.execute("SELECT count(DISTINCT from_code) FROM marts.hs_concordance WHERE from_version='HS2022'").fetchall()[0][0] == 5613
    amb = conn.execute("SELECT is_ambiguous FROM marts.hs_concordance WHERE from_version='HS2022' AND from_code='852411'").fetchall()
    assert amb == [(True,)]


def test_fiscal_years_run_july_to_june(sample_db):
    rows = sample_db.execute("""SELECT period_label, period_start::VARCHAR, period_end::VARCHAR, months, is_complete, value_usd
        FROM marts.trade_by_period WHERE reporter='PAK' AND partner='CHN' AND flow='X' AND period_type='fiscal'
        ORDER BY period_start""").fetchall()
    labels = [r[0] for r in rows]
    assert labels[0] == "FY2018-19" and labels[1] == "FY2019-20" and labels[-1] == "FY2025-26"
    fy = {r[0]: r for r in rows}
    assert fy["FY2023-24"][1:5] == ("2023-07-01", "2024-06-30", 12, True)
    assert fy["FY2018-19"][3:5] == (6, False)  # monthly data start in January 2019
    by_hand = sample_db.execute("""SELECT sum(value_usd) FROM marts.trade_flows WHERE reporter='PAK' AND partner='CHN' AND flow='X'
        AND freq='M' AND period_start BETWEEN '2023-07-01' AND '2024-06-01'""").fetchall()[0][0]
    assert fy["FY2023-24"][5] == pytest.approx(by_hand)


def test_mirror_arithmetic_by_hand(sample_db):
    row = sample_db.execute("""SELECT exporter_fob_usd, importer_cif_usd, cif_fob_factor, importer_fob_usd, gap_usd, gap_ratio
        FROM marts.mirror_flows WHERE direction='CHN→PAK' AND freq='A' AND year=2021 AND hs6='850440' AND is_default_factor""").fetchall()[0]
    x, m, f, mf, gap, ratio = row
    assert f == 1.06 and mf == pytest.approx(m / 1.06) and gap == pytest.approx(m / 1.06 - x) and ratio == pytest.approx(gap / x)
    assert sample_db.execute("SELECT DISTINCT cif_fob_factor FROM marts.mirror_flows ORDER BY 1").fetchall() == [(1.06,), (1.10,)]
    regimes = dict(sample_db.execute("SELECT year, any_value(regime) FROM marts.mirror_flows WHERE freq='A' GROUP BY 1").fetchall())
    assert (regimes[2017], regimes[2019], regimes[2020]) == ("before EDE", "EDE, before Phase II", "Phase II")
    shares = sample_db.execute("""SELECT sum(share_of_total_gap) FROM marts.mirror_gap_by_chapter
        WHERE direction='CHN→PAK' AND year=2022 AND is_default_factor""").fetchall()[0][0]
    assert shares == pytest.approx(1.0)


@pytest.mark.parametrize("code,agro,perishable", [
    ("100630", True, False), ("080929", True, True), ("030617", False, True), ("520512", False, False),
    ("160250", True, False), ("040221", True, False), ("410390", True, False), ("740311", False, False),
])
def test_agro_and_perishable_flags(sample_db, code, agro, perishable):
    assert sample_db.execute("SELECT is_agro, is_perishable FROM marts.dim_hs WHERE hs_version='HS2017' AND code=?",
                      [code]).fetchall() == [(agro, perishable)]


def test_agro_flag_rules_on_codes_outside_the_sample():
    from tradeflow.warehouse.db import model_sql

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE TABLE raw.reference_hs AS SELECT * FROM (VALUES "
                 "('H6','030211'),('H6','160420'),('H6','230120'),('H6','290544'),('H6','330112'),('H6','520100'),"
                 "('H6','510111'),('H6','382460'),('H6','020130'),('H6','240110')) t(classification, code)")
    conn.execute("ALTER TABLE raw.reference_hs ADD COLUMN description VARCHAR; ALTER TABLE raw.reference_hs ADD COLUMN source VARCHAR")
    from tradeflow.warehouse.models import params

    p = params()
    rows = dict(conn.execute(model_sql("marts.dim_hs").replace("$chapters_csv", f"'{p['chapters_csv']}'")
                             .replace("$sections_csv", f"'{p['sections_csv']}'")).df()
                .query("level == 6").set_index("code")["is_agro"].items())
    assert rows == {"030211": False, "160420": False, "230120": False, "290544": True, "330112": True, "520100": True,
                    "510111": True, "382460": True, "020130": True, "240110": True}


def test_an_open_analyst_session_neither_blocks_nor_breaks_the_refresh(sample_home, tmp_path, monkeypatch):
    import shutil

    from pipelines.refresh import run_refresh

    home, _, _ = sample_home
    work = tmp_path / "home"
    shutil.copytree(home, work)
    monkeypatch.setenv("TRADEFLOW_HOME", str(work))
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(tmp_path / "reports"))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
        "c.execute('SELECT count(*) FROM marts.trade_flows').fetchall(); print('open', flush=True); time.sleep(120)"),
        str(work / "published" / "tradeflow.duckdb")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        started = time.monotonic()
        outcome = run_refresh("sample")
        assert outcome.success, outcome.error
        assert time.monotonic() - started < 90  # no lock wait (DuckDB's own retry would take ~100 s)
        assert holder.poll() is None  # the analyst's session is still there
    finally:
        holder.kill()


@pytest.mark.slow
def test_sigkill_mid_load_then_rerun_converges(sample_home, tmp_path):
    """Kill a refresh at several points; the next run leaves no partial partition and equals a clean run."""
    home, _, _ = sample_home
    clean = marts_digest(home / "published" / "tradeflow.duckdb")
    env = {**os.environ, "TRADEFLOW_HOME": str(tmp_path / "home"), "TRADEFLOW_REPORTS_DIR": str(tmp_path / "reports")}
    exe = str(Path(sys.executable).parent / "tradeflow")
    for delay in (4.0, 7.0, 9.5):
        proc = subprocess.Popen([exe, "refresh", "--source", "sample"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    res = subprocess.run([exe, "refresh", "--source", "sample"], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert marts_digest(tmp_path / "home" / "published" / "tradeflow.duckdb") == clean
