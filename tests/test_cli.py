"""The command line: read-only SQL, status, clear one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tradeflow.cli import main


@pytest.fixture
def on_sample(sample_home, monkeypatch):
    home, reports, _ = sample_home
    monkeypatch.setenv("TRADEFLOW_HOME", str(home))
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(reports))
    return home


def test_sql_formats(on_sample):
    r = CliRunner().invoke(main, ["sql", "SELECT reporter, count(*) AS n FROM marts.trade_flows GROUP BY 1 ORDER BY 1", "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [x["reporter"] for x in rows] == ["CHN", "PAK"] and all(x["n"] > 0 for x in rows)
    r = CliRunner().invoke(main, ["sql", "SELECT 1 AS a, 'x' AS b", "--format", "csv"])
    assert r.output.splitlines() == ["a,b", "1,x"]


def _table_rows(output: str) -> list[list[str]]:
    """The cells of each body row of a rich table (box-drawn, one line per row)."""
    lines = [ln for ln in output.splitlines() if ln.startswith("│")]
    return [[c.strip() for c in ln.strip().strip("│").split("│")] for ln in lines]


def test_sql_table_shows_every_value_in_full(on_sample):
    """The table format rounded every DOUBLE to 2 decimals (a share of 0.0053 showed 0.01, 1e-9 showed 0.00), read
    cell text as rich markup ('Other [n.e.s.]' showed 'Other '), showed NULL as '' and, piped, squeezed the table to
    80 columns (values cut to '239,…'). Now: shortest round-trip digits, text as is, NULL apart, nothing cut."""
    import csv
    import io

    q = ("SELECT share_of_exports_to_partner AS share, 1e-9::DOUBLE AS tiny, 239123456789.125::DOUBLE AS big, "
         "0.10::DECIMAL(4,2) AS d, 'a[b]c' AS txt, 'Other [n.e.s.]' AS descr, NULL AS nothing, '' AS blank, "
         "repeat('x', 150) AS long, 2021 AS yr, 1 AS \"w[x]\" FROM marts.trade_intensity ORDER BY 1 LIMIT 1")
    r = CliRunner().invoke(main, ["sql", q])  # not a terminal: as if piped
    assert r.exit_code == 0, r.output
    header = [ln for ln in r.output.splitlines() if ln.startswith("┃")][0]
    assert [c.strip() for c in header.strip("┃").split("┃")][-1] == "w[x]"
    [shown] = _table_rows(r.output)
    true = next(csv.DictReader(io.StringIO(CliRunner().invoke(main, ["sql", "--format", "csv", q]).output)))
    assert 0 < float(true["share"]) < 1
    assert float(shown[0].replace(",", "")) == float(true["share"])  # the same double, not rounded
    assert shown[1:4] == ["1e-09", "239,123,456,789.125", "0.10"]
    assert shown[4:] == ["a[b]c", "Other [n.e.s.]", "NULL", "", "x" * 150, "2021", "1"]


def test_error_message_text_is_not_read_as_markup(on_sample):
    r = CliRunner().invoke(main, ["sql", "SELECT error('no such line [n.e.s.] in a[b]c')"])
    assert r.exit_code == 1 and "no such line [n.e.s.] in a[b]c" in r.output


def strict_json(text):
    """json.loads that refuses NaN/Infinity (not JSON: jq and JSON.parse reject them) and keeps numbers exact."""
    from decimal import Decimal

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse, parse_float=Decimal)


def test_sql_json_is_strict_json_with_exact_decimals(on_sample):
    """NaN and ±Infinity were written as such (not JSON), a DECIMAL as a string; now null, null and the exact number."""
    from decimal import Decimal

    r = CliRunner().invoke(main, ["sql", "--format", "json",
                                  "SELECT 1/0 AS inf, -1/0 AS ninf, 'nan'::DOUBLE AS nan, NULL::DOUBLE AS nothing, "
                                  "0.1::DECIMAL(4,2) AS d, 123456789012345678.901::DECIMAL(38,3) AS big, "
                                  "0.1::DOUBLE AS f, 7 AS i, [1.5, 'inf'::DOUBLE] AS l, {'x': 2.50::DECIMAL(5,2)} AS s, "
                                  "DATE '2026-03-01' AS day, 'a\"b' AS t"])
    assert r.exit_code == 0, r.output
    [row] = strict_json(r.output)
    assert row == {"inf": None, "ninf": None, "nan": None, "nothing": None, "d": Decimal("0.10"),
                   "big": Decimal("123456789012345678.901"), "f": Decimal("0.1"), "i": 7, "l": [Decimal("1.5"), None],
                   "s": {"x": Decimal("2.50")}, "day": "2026-03-01", "t": 'a"b'}
    r = CliRunner().invoke(main, ["sql", "--format", "json", "SELECT 1 AS a WHERE false"])
    assert (r.exit_code, strict_json(r.output)) == (0, [])


def test_sql_takes_a_query_that_begins_with_a_comment(on_sample):
    """`tradeflow sql "$(cat sql/examples/01_….sql)"`: every example begins with a `-- comment` line, which click
    took for an option (exit 2, "No such option"); a mistyped option still fails as one."""
    example = (Path(__file__).parents[1] / "sql" / "examples" / "05_bilateral_balance.sql").read_text(encoding="utf-8")
    assert example.startswith("--")
    r = CliRunner().invoke(main, ["sql", example, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)
    r = CliRunner().invoke(main, ["sql", "-- one comment\nSELECT 41 + 1 AS n", "--format", "csv"])
    assert (r.exit_code, r.output.splitlines()) == (0, ["n", "42"])
    r = CliRunner().invoke(main, ["sql", "--formatt", "csv", "SELECT 1"])
    assert r.exit_code == 2 and "unexpected extra arguments" in r.output


@pytest.mark.parametrize("stmt", ["DELETE FROM marts.trade_flows", "CREATE TABLE t AS SELECT 1", "DROP TABLE marts.trade_flows"])
def test_sql_refuses_writes(on_sample, stmt):
    r = CliRunner().invoke(main, ["sql", stmt])
    assert r.exit_code == 1
    assert "read-only" in r.output


def test_sql_error_is_one_line(on_sample):
    r = CliRunner().invoke(main, ["sql", "SELECT nope FROM marts.trade_flows"])
    assert r.exit_code == 1 and "SQL error" in r.output and "Traceback" not in r.output


def test_status_lists_tables_and_last_run(on_sample):
    r = CliRunner().invoke(main, ["status"])
    assert r.exit_code == 0, r.output
    assert "marts.trade_flows" in r.output and "succeeded" in r.output


def test_refresh_rejects_bad_years_without_traceback(tf_env):
    res = subprocess.run([str(Path(sys.executable).parent / "tradeflow"), "refresh", "--years", "20x"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    assert "--years must look like" in res.stderr and "Traceback" not in res.stderr


def test_sql_without_snapshot_says_what_to_do(tf_env):
    r = CliRunner().invoke(main, ["sql", "SELECT 1"])
    assert r.exit_code == 1 and "run `tradeflow refresh` first" in r.output


# -- clear errors: TRADEFLOW_HOME, verify, schedules --------------------------------------------


def test_home_that_is_a_file_fails_fast_in_one_line(tmp_path):
    import os
    import time

    home = tmp_path / "not-a-folder"
    home.write_text("x")
    env = {**os.environ, "TRADEFLOW_HOME": str(home)}
    for args in (["refresh", "--source", "sample"], ["sql", "SELECT 1"], ["status"], ["verify"]):
        started = time.monotonic()
        res = subprocess.run([str(Path(sys.executable).parent / "tradeflow"), *args], capture_output=True, text=True,
                             timeout=120, env=env)
        assert res.returncode == 1, res.stderr
        assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
        assert f"TRADEFLOW_HOME={home} is a file" in res.stderr
        assert time.monotonic() - started < 8  # checked before the code location is imported
    assert home.read_text() == "x"


def test_a_reports_folder_that_is_a_file_fails_fast_in_one_line(tf_env):
    """TRADEFLOW_REPORTS_DIR is checked before any work: a refresh fetched, built and published, then failed at its
    last step ("refresh incomplete (published what arrived): … Not a directory"); `tradeflow report` gave a traceback."""
    import os
    import time

    home, reports = tf_env
    reports.parent.mkdir(parents=True, exist_ok=True)
    reports.write_text("not a dir")
    for args in (["refresh", "--source", "sample"], ["report"]):
        started = time.monotonic()
        res = subprocess.run([str(Path(sys.executable).parent / "tradeflow"), *args], capture_output=True, text=True,
                             timeout=120, env=dict(os.environ))
        assert res.returncode == 1, res.stderr
        assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert f"TRADEFLOW_REPORTS_DIR={reports} is a file, not a folder" in res.stderr
        assert time.monotonic() - started < 8  # before the code location is imported, before any fetch
    assert not (home / "raw").exists() and reports.read_text() == "not a dir"


def test_a_reports_folder_that_cannot_be_written_or_created_is_named(tf_env, monkeypatch):
    import os

    from pipelines.refresh import run_refresh
    from tradeflow.errors import ConfigError

    home, reports = tf_env
    reports.mkdir(parents=True)
    real = os.access  # root writes anywhere: report the folder as the non-root analyst would see it
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == reports and mode & os.W_OK
                        else real(p, mode, **kw))
    r = CliRunner().invoke(main, ["report"])
    assert r.exit_code == 1 and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert f"TRADEFLOW_REPORTS_DIR={reports} is read-only for this account" in r.output
    (reports / "x").write_text("")
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(reports / "x" / "sub"))
    with pytest.raises(ConfigError, match=r"TRADEFLOW_REPORTS_DIR=\S*/reports/x/sub: \S*/reports/x is a file"):
        run_refresh("sample")  # the library entry point checks too
    assert not (home / "raw").exists()


def test_read_only_home_fails_fast_for_writers_only(tmp_path, monkeypatch, sample_home):
    import os
    import shutil

    src, _, _ = sample_home
    home = tmp_path / "ro"
    (home / "published").mkdir(parents=True)
    shutil.copyfile(src / "published" / "tradeflow.duckdb", home / "published" / "tradeflow.duckdb")
    home.chmod(0o555)
    monkeypatch.setenv("TRADEFLOW_HOME", str(home))
    if os.geteuid() == 0:  # root writes anywhere; report the folder as the non-root analyst would see it
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == home and mode & os.W_OK
                            else real(p, mode, **kw))
    try:
        r = CliRunner().invoke(main, ["refresh", "--source", "sample"])
        assert r.exit_code == 1 and "Traceback" not in r.output
        assert f"TRADEFLOW_HOME={home} is read-only" in r.output and len(r.output.strip().splitlines()) == 1
        sched = tmp_path / "x.csv"
        sched.write_text("tariff_line,description,base_rate,category\n52051200,yarn,5,A0\n")
        r = CliRunner().invoke(main, ["schedule", "import", str(sched), "--party", "CHN"])
        assert r.exit_code == 1 and f"TRADEFLOW_HOME={home} is read-only" in r.output
        r = CliRunner().invoke(main, ["sql", "SELECT count(*) AS n FROM marts.dim_country", "--format", "csv"])
        assert r.exit_code == 0 and r.output.splitlines()[0] == "n"  # reading needs no write access
    finally:
        home.chmod(0o755)


def test_verify_and_status_report_archive_and_last_publish(on_sample):
    r = CliRunner().invoke(main, ["verify"])
    assert r.exit_code == 0, r.output
    assert "re-hashed and intact" in r.output
    r = CliRunner().invoke(main, ["status", "--verify"])
    assert r.exit_code == 0, r.output
    assert "Last publish" in r.output and "wits.trains" in r.output and "re-hashed and intact" in r.output


@pytest.fixture
def schedule_home(sample_home, tmp_path, monkeypatch):
    import shutil

    home, _, _ = sample_home
    work = tmp_path / "home"
    shutil.copytree(home / "published", work / "published")
    monkeypatch.setenv("TRADEFLOW_HOME", str(work))
    return work


def _workbook(path, sheets: dict[str, list[list]]):
    """An XLSX written like a spreadsheet program would: formula cells as ("=…", the result stored with it)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if isinstance(v, tuple):
                    ws.write_formula(i, j, v[0], None, v[1])
                elif isinstance(v, str):
                    ws.write_string(i, j, v)
                else:
                    ws.write_number(i, j, v)
    wb.close()
    return path


HEADER = ["tariff_line", "description", "base_rate", "category"]


def test_schedule_over_two_sheets_is_refused_or_read_by_name(schedule_home, tmp_path):
    book = _workbook(tmp_path / "two.xlsx", {
        "Chapters 01-49": [HEADER, ["52051200", "yarn", 5, "A0"]],
        "Chapters 50-97": [HEADER, ["10063010", "rice", 65, "E"]],
    })
    r = CliRunner().invoke(main, ["schedule", "import", str(book), "--party", "CHN"])
    assert r.exit_code == 1 and "Chapters 01-49" in r.output and "Chapters 50-97" in r.output and "--sheet" in r.output
    assert not (schedule_home / "schedules" / "CHN.csv").exists()
    r = CliRunner().invoke(main, ["schedule", "import", str(book), "--party", "CHN", "--sheet", "Chapters 50-97"])
    assert r.exit_code == 0, r.output
    assert "10063010" in (schedule_home / "schedules" / "CHN.csv").read_text()
    r = CliRunner().invoke(main, ["schedule", "import", str(book), "--party", "CHN", "--sheet", "nope"])
    assert r.exit_code == 1 and "no sheet 'nope'" in r.output


def test_schedule_formula_cells_and_lost_leading_zeros_say_what_happened(schedule_home, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()  # a program that writes formulas without computing them (no stored result)
    wb.active.append(HEADER)
    wb.active.append(["52051200", "yarn", "=2+3", "A0"])
    no_result = tmp_path / "f1.xlsx"
    wb.save(no_result)
    r = CliRunner().invoke(main, ["schedule", "import", str(no_result), "--party", "CHN"])
    assert r.exit_code == 1 and "row 2, field base_rate: =2+3 is a formula with no stored result" in r.output
    cached = _workbook(tmp_path / "f2.xlsx", {"S": [HEADER, ["52051200", "yarn", ("=2+3", 5), "A0"]]})
    r = CliRunner().invoke(main, ["schedule", "import", str(cached), "--party", "CHN"])
    assert r.exit_code == 0, r.output
    assert "formula cell(s) read as the results stored with them" in r.output
    assert "52051200,yarn,A0,5," in (schedule_home / "schedules" / "CHN.csv").read_text()
    numeric = _workbook(tmp_path / "n.xlsx", {"S": [HEADER, [52051200, "yarn", 5, "A0"], [1063010, "rice", 65, "E"]]})
    r = CliRunner().invoke(main, ["schedule", "import", str(numeric), "--party", "CHN"])
    assert r.exit_code == 1 and "row 3, field tariff_line" in r.output and "lost its leading zero" in r.output


def test_a_schedule_csv_with_lines_written_as_decimals_is_refused_not_read_as_other_lines(schedule_home, tmp_path):
    """A database export writes coffee's 09011100 as 9011100.0: with every dot stripped it read as 90111000 (HS
    901110, stereoscopic microscopes), a real HS2017 line, exit 0. Dots count only in the HS layout (0901.11.00)."""
    bad = tmp_path / "floats.csv"
    bad.write_text("tariff_line,description,base_rate,category\n9011100.0,coffee,15,A0\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["schedule", "import", str(bad), "--party", "CHN"])
    assert r.exit_code == 1 and "row 2, field tariff_line: '9011100.0' is a number written with a decimal point" in r.output
    assert not (schedule_home / "schedules" / "CHN.csv").exists()
    dotted = tmp_path / "dotted.csv"
    dotted.write_text("tariff_line,description,base_rate,category\n5205.12.00,yarn,15,A0\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["schedule", "import", str(dotted), "--party", "CHN"])
    assert r.exit_code == 0, r.output
    assert "52051200,yarn,A0,15," in (schedule_home / "schedules" / "CHN.csv").read_text()


def test_schedule_rates_that_look_like_fractions_warn(schedule_home, tmp_path):
    import os
    import stat

    f = tmp_path / "frac.csv"
    f.write_text("tariff_line,description,base_rate,category\n52051200,yarn,0.05,A0\n10063010,rice,0.65,E\n")
    old = os.umask(0o022)
    try:
        r = CliRunner().invoke(main, ["schedule", "import", str(f), "--party", "CHN"])
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    assert "warning:" in r.output and "look like fractions" in r.output
    assert stat.S_IMODE((schedule_home / "schedules" / "CHN.csv").stat().st_mode) == 0o644
    f.write_text("tariff_line,description,base_rate,category\n52051200,yarn,5,A0\n10063010,rice,0,E\n")
    r = CliRunner().invoke(main, ["schedule", "import", str(f), "--party", "CHN"])
    assert r.exit_code == 0 and "fractions" not in r.output


@pytest.mark.slow
def test_xlsx_export_of_every_mart_is_streamed_fast_and_complete(sample_home, tmp_path):
    """Every mart in one workbook within the budget (60 s, 500 MB on the sample; some slack for a loaded box),
    each sheet holding exactly its table's rows, and nothing but the workbook left in the folder."""
    import os
    import re
    import time
    import zipfile

    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to measure peak memory")

    import duckdb

    home, _, _ = sample_home
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from tradeflow.cli import main\n"
        "r = CliRunner().invoke(main, ['export', '--format', 'xlsx', '--output', sys.argv[1]])\n"
        "print(r.output)\n"
        # VmHWM: this process image's peak (ru_maxrss would carry the forking pytest's size across exec)
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0].split()[1]\n"
        "print('maxrss_kb', hwm)\n"
        "sys.exit(r.exit_code)\n"
    )
    started = time.monotonic()
    res = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "TRADEFLOW_HOME": str(home)})
    elapsed = time.monotonic() - started
    assert res.returncode == 0, res.stdout + res.stderr
    assert elapsed < 90, f"{elapsed:.0f} s"
    rss_mb = int(res.stdout.split("maxrss_kb")[1]) / 1024
    assert rss_mb < 500, f"{rss_mb:.0f} MB"
    conn = duckdb.connect(str(home / "published" / "tradeflow.duckdb"), read_only=True)
    counts = dict(conn.execute("SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = 'marts'")
                  .fetchall())
    conn.close()
    for t, n in counts.items():
        assert f"  {t}: {n:,} rows" in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tradeflow_marts.xlsx"]
    with zipfile.ZipFile(tmp_path / "tradeflow_marts.xlsx") as z:
        dims = [re.search(rb'<dimension ref="A1(?::[A-Z]+(\d+))?"', z.read(f"xl/worksheets/sheet{i}.xml")[:2000])
                for i in range(1, len(counts) + 1)]
    assert sorted(int(d.group(1) or 1) - 1 for d in dims) == sorted(counts.values())


def test_csv_schedule_with_formula_text_says_so(schedule_home, tmp_path):
    f = tmp_path / "formula.csv"
    f.write_text("tariff_line,description,base_rate,category\n52051200,yarn,=B1*2,A0\n")
    r = CliRunner().invoke(main, ["schedule", "import", str(f), "--party", "CHN"])
    assert r.exit_code == 1 and "row 2, field base_rate: '=B1*2' is a spreadsheet formula" in r.output
