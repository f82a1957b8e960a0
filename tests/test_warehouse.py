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
    from dbt_models import build
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
    conn.execute("CREATE TABLE staging.comtrade_flows (hs6 VARCHAR, classification VARCHAR, year INT, freq VARCHAR, "
                 "partner_code INT, mot_code INT, flow VARCHAR, value_usd DOUBLE, is_sample BOOLEAN)")
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


def test_a_published_month_without_a_flow_counts_towards_a_complete_period():
    # Pakistan publishes every month of 2022 (exports each month) but re-exports to China only in January–March:
    # the other nine months are zeros in the re-export sum, not months missing from it.
    from dbt_models import build
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE marts.trade_flows AS
        SELECT 'PAK' reporter, 'CHN' partner, flow, 'M' freq, 2022 AS year, m AS month, make_date(2022, m, 1) period_start,
               '520100' hs6, 'HS2017' hs_version, v AS value_usd, 'v1' AS vintage, false AS is_sample
        FROM (SELECT 'X' flow, range AS m, 100.0 v FROM range(1, 13)
              UNION ALL SELECT 'RX', range, 5.0 FROM range(1, 4))""")
    conn.execute("""CREATE TABLE marts.trade_flows_by_mode (reporter VARCHAR, period_start DATE)""")
    build(conn, "marts.reported_periods")
    build(conn, "marts.trade_by_period")
    rows = conn.execute("""SELECT flow, period_type, period_label, value_usd, months, is_complete FROM marts.trade_by_period
        ORDER BY ALL""").fetchall()
    assert rows == [("RX", "calendar", "2022", 15.0, 12, True),
                    ("RX", "fiscal", "FY2021-22", 15.0, 6, False),  # July 2021–June 2022: January–June are in
                    ("X", "calendar", "2022", 1200.0, 12, True),
                    ("X", "fiscal", "FY2021-22", 600.0, 6, False),
                    ("X", "fiscal", "FY2022-23", 600.0, 6, False)]


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
    from dbt_models import render

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE TABLE raw.reference_hs AS SELECT * FROM (VALUES "
                 "('H6','030211'),('H6','160420'),('H6','230120'),('H6','290544'),('H6','330112'),('H6','520100'),"
                 "('H6','510111'),('H6','382460'),('H6','020130'),('H6','240110')) t(classification, code)")
    conn.execute("ALTER TABLE raw.reference_hs ADD COLUMN description VARCHAR; ALTER TABLE raw.reference_hs ADD COLUMN source VARCHAR")

    rows = dict(conn.execute(render("marts.dim_hs")).df().query("level == 6").set_index("code")["is_agro"].items())
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


# -- reference lists as the real API serves them, and the grain of every table ------------------

def _partner_areas(shared) -> bytes:
    """partnerAreas.json in the API's shape (field names of the real list), from comtradr's copy of it."""
    import csv
    import json

    rows = []
    with open(shared / "data/reference/comtrade_partners_from_comtradr.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows.append({"id": int(r["id"]), "text": r["country"], "PartnerCode": int(r["id"]), "PartnerDesc": r["country"],
                         "partnerNote": r["note"], "PartnerCodeIsoAlpha2": r["iso_2"], "PartnerCodeIsoAlpha3": r["iso_3"],
                         "entryEffectiveDate": "1900-01-01T00:00:00", "isGroup": r["group"] == "True"})
    return json.dumps({"more": False, "results": rows}).encode()


def _archive_reference(raw, name: str, body: bytes):
    from tradeflow.archive import RawArchive

    RawArchive(raw).store(dataset="comtrade.reference", source="live", url=f"https://comtradeapi.un.org/files/v1/app/reference/{name}.json",
                          params={}, status=200, body=body, partition={"list": name})


def _query(db: Path, sql: str):
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_real_reporter_and_partner_lists_never_fan_out(shared, sample_copy):
    """Reporters and partnerAreas both hold 156 and 586: dim_country keeps one row per code, trade_flows stay exact."""
    from pipelines.refresh import run_refresh

    db = sample_copy / "published" / "tradeflow.duckdb"
    cells = "SELECT reporter, partner, flow, freq, count(*), sum(value_usd) FROM marts.trade_flows GROUP BY ALL ORDER BY ALL"
    before = _query(db, cells)
    _archive_reference(sample_copy / "raw", "Reporters", (shared / "data/reference/comtrade_Reporters.json").read_bytes())
    _archive_reference(sample_copy / "raw", "partnerAreas", _partner_areas(shared))
    outcome = run_refresh("archive")
    assert outcome.success, outcome.error
    assert _query(db, "SELECT m49, count(*) FROM marts.dim_country GROUP BY m49 HAVING count(*) > 1") == []
    assert _query(db, "SELECT iso3, source FROM marts.dim_country WHERE m49 IN (0, 156, 586, 899) ORDER BY m49") == [
        ("WLD", "comtrade:partnerAreas"), ("CHN", "comtrade:Reporters"), ("PAK", "comtrade:Reporters"),
        ("_X", "comtrade:partnerAreas")]
    assert _query(db, cells) == before  # every (reporter, partner, flow, freq) cell: same rows, same value


def test_a_duplicate_in_a_reference_list_fails_the_run_naming_table_and_grain(shared, sample_copy):
    import json

    from pipelines.refresh import run_refresh
    from tests.test_refresh import marts_digest

    db = sample_copy / "published" / "tradeflow.duckdb"
    before = marts_digest(db)
    doc = json.loads((shared / "data/reference/comtrade_Reporters.json").read_bytes())
    doc["results"].append(next(r for r in doc["results"] if r["reporterCode"] == 586))
    _archive_reference(sample_copy / "raw", "Reporters", json.dumps(doc).encode())
    outcome = run_refresh("archive")
    assert not outcome.success
    failed = [c for c in outcome.failed_checks if c["check"] == "grain"]
    assert [c["asset"] for c in failed] == ["raw/reference_countries"]
    assert "raw.reference_countries" in failed[0]["description"] and "(list, m49)" in failed[0]["description"]
    assert failed[0]["sample"] == ["list=Reporters, m49=586 ×2"]
    assert marts_digest(db) == before  # nothing published


def test_every_table_declares_its_grain_and_dbt_tests_it():
    import json

    from tradeflow.warehouse.dbt_project import prepare_manifest
    from tradeflow.warehouse.models import GRAIN, RAW_TABLES

    assert set(RAW_TABLES) <= set(GRAIN)  # raw: checked by the loader asset
    manifest = json.loads(prepare_manifest().read_text())
    models = {n["unique_id"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    assert len(models) >= 35
    for uid, m in models.items():
        grain = m["meta"].get("grain")
        assert grain, f"{m['name']} declares no meta.grain in its schema file"
        checks = [t for t in tests if t["attached_node"] == uid and t["test_metadata"]["name"] == "grain"]
        assert [t["test_metadata"]["kwargs"]["columns"] for t in checks] == [grain], m["name"]
        assert checks[0]["test_metadata"]["kwargs"]["not_null"], f"{m['name']}: no grain column declared never-NULL"
        assert all(t["config"]["severity"].lower() == "error" for t in checks)


def test_grain_check_catches_a_fan_out_in_a_raw_table():
    from tradeflow.quality import grain_check

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.execute("CREATE TABLE marts.dim_country AS SELECT * FROM (VALUES (156, 'CHN'), (586, 'PAK'), (586, 'PAK'), (0, 'WLD')) t(m49, iso3)")
    g = grain_check(conn, "marts.dim_country", ["m49"])
    assert not g.passed and g.blocking and g.failed_rows == 1 and g.sample == ["m49=586 ×2"]
    conn.execute("DELETE FROM marts.dim_country WHERE m49 = 586")
    assert grain_check(conn, "marts.dim_country", ["m49"]).passed
    # NULL keys group together: two annual rows (month NULL) of one cell are a duplicate
    conn.execute("CREATE TABLE marts.t AS SELECT * FROM (VALUES (2021, NULL), (2021, NULL), (2021, 1)) t(year, month)")
    assert grain_check(conn, "marts.t", ["year", "month"]).failed_rows == 1


def test_road_basis_takes_road_else_land_never_both():
    """Comtrade motCode 3000 = Land, 3200 = Road (a sub-mode of land: reference/ModeOfTransportCodes.json)."""
    from dbt_models import build, hs2017_as_reported

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE marts.trade_flows_by_mode AS SELECT *, make_date(year, month, 1) AS period_start,
                        'HS2017' AS hs_version, false AS is_sample
                    FROM (VALUES ('PAK', 'CHN', 'X', 2021, 1, '080410', 3000, 'land', 100.0),
                                 ('PAK', 'CHN', 'X', 2021, 1, '080410', 3200, 'road', 100.0),  -- land and its road part
                                 ('PAK', 'CHN', 'X', 2021, 1, '100630', 3000, 'land', 50.0),   -- land only
                                 ('PAK', 'CHN', 'X', 2021, 1, '520512', 3200, 'road', 30.0),   -- road only
                                 ('PAK', 'CHN', 'X', 2021, 1, '520512', 3100, 'rail', 7.0),    -- rail: not road
                                 ('PAK', 'CHN', 'X', 2021, 1, '520512', 2100, 'sea', 9.0))
                         t(reporter, partner, flow, year, month, hs6, mot_code, mode, value_usd)""")
    conn.execute("""CREATE TABLE marts.trade_flows AS SELECT 'PAK' AS reporter, 'CHN' AS partner, 'X' AS flow, 'M' AS freq,
                        DATE '2021-01-01' AS period_start, 'HS2017' AS hs_version, '520512' AS hs6, 500.0 AS value_usd,
                        false AS is_sample""")
    conn.execute("CREATE TABLE marts.dim_hs AS SELECT 'HS2017' AS hs_version, '080410' AS code, true AS is_agro")
    hs2017_as_reported(conn)
    build(conn, "marts.monthly_by_basis")
    got = dict(conn.execute("SELECT basis || '/' || product_group, value_usd FROM marts.monthly_by_basis").fetchall())
    # agro by the code (sql/macros/agro.sql): dates 080410 and rice 100630 are, cotton yarn 520512 is not
    assert got == {"road/all": 180.0, "road/agro": 150.0, "all_modes/all": 500.0}


def test_a_body_above_16_mib_checks_and_loads(tmp_path):
    """DuckDB's default maximum_object_size (16 MiB) rejects a keyed body of ~17k+ records; sized from the manifest it loads."""
    import importlib.util

    from tradeflow.archive import RawArchive
    from tradeflow.warehouse.comtrade_load import check_entries, load_raw

    spec = importlib.util.spec_from_file_location("big_body", ROOT / "benchmarks" / "big_body.py")
    big = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(big)
    body = big.keyed_body(20_000)
    assert len(body) > 16 * 1024 * 1024  # DuckDB's default maximum_object_size
    archive = RawArchive(tmp_path / "raw")
    small = archive.store(dataset="comtrade.final", source="live", url="http://127.0.0.1/small", params={"n": "small"},
                          status=200, body=big.keyed_body(3), release={"vintage": "2024-06-30"})
    large = archive.store(dataset="comtrade.final", source="live", url="http://127.0.0.1/large", params={"n": "large"},
                          status=200, body=body, release={"vintage": "2024-06-30"})
    assert check_entries(archive, [small, large]) == []
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw")
    assert load_raw(conn, archive, [small, large]) == 20_003
    got = conn.execute("SELECT request_id = ?, count(*), count(DISTINCT (partnerCode, flowCode, cmdCode)), sum(primaryValue) "
                       "FROM raw.comtrade_records GROUP BY ALL ORDER BY 1", [large.request_id]).fetchall()
    assert got == [(False, 3, 3, 3003.0), (True, 20_000, 20_000, sum(1000.0 + i for i in range(20_000)))]
