"""The report suite: every page offline, deterministic, within budget, and drawn in headless Chromium."""

import base64
import csv
import io
import re
import shutil
import urllib.parse
from pathlib import Path

import duckdb
import pytest

from tradeflow.report import render_reports
from tradeflow.report.columns import NULL

PAGES = ["index", "overview", "mirror", "cpfta", "agro", "goals", "changes", "methodology"]
WIDTHS = (1280, 800)
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def rendered(sample_home, tmp_path_factory):
    home, _, _ = sample_home
    out = tmp_path_factory.mktemp("reports")
    conn = duckdb.connect(str(home / "published" / "tradeflow.duckdb"), read_only=True)
    paths = render_reports(conn, out)
    again = render_reports(conn, tmp_path_factory.mktemp("again"))
    solo = render_reports(conn, tmp_path_factory.mktemp("solo"), self_contained=True)
    conn.close()
    return out, paths, again, solo


def test_every_page_is_written_and_identical_on_a_second_render(rendered):
    out, paths, again, _ = rendered
    assert [p.stem for p in paths] == PAGES
    for a, b in zip(paths, again):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_pages_are_offline_bannered_and_within_budget(rendered):
    out, paths, _, solo = rendered
    for p in paths:
        html = p.read_text()
        assert 'id="sample-banner"' in html and "SAMPLE (synthetic data)" in html, p.name
        # nothing is loaded from the network (citation links to sources are fine: they load only when clicked)
        assert not re.search(r"""src=["']https?://|<link[^>]+href=["']https?://""", html), p.name
        assert "cdn.plot.ly" not in html and p.stat().st_size < 5_000_000
        for fig in re.findall(r"<section class=\"chart\">(.*?)</section>", html, re.S):
            if "class=\"plotly-graph-div\"" in fig:
                assert "Units:" in fig and "Source:" in fig and "SAMPLE (synthetic)" in fig
    assert (out / "assets" / "plotly.min.js").exists()
    for p in solo:  # self-contained: plotly.js inside every page that has charts, no shared asset needed
        html = p.read_text()
        assert "assets/plotly.min.js" not in html
        if "class=\"plotly-graph-div\"" in html:
            assert p.stat().st_size > 4_000_000


def _visible_text(html: str) -> str:
    """The page's text as a reader sees it: no scripts, styles, tags or attributes."""
    import html as htmllib

    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", text))


def _tables(html: str) -> list[dict]:
    """Every table: id, header texts and classes, body cells (class, sort value, text), CSV link."""
    import html as htmllib

    out = []
    for tid, inner in re.findall(r'<table class="data sortable" id="([^"]+)"[^>]*>(.*?)</table>', html, re.S):
        heads = re.findall(r'<th scope="col" class="(\w+)" data-type="(\w+)"[^>]*>(.*?)</th>', inner, re.S)
        rows = [re.findall(r'<td class="([^"]*)" data-v="([^"]*)">(.*?)</td>', tr, re.S)
                for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", inner.split("<tbody>", 1)[1], re.S)]
        href = re.search(rf'download="{re.escape(tid)}(?:-SAMPLE)?.csv" href="data:text/csv;charset=utf-8;base64,([^"]+)"', html)
        out.append({"id": tid, "heads": [(c, t, htmllib.unescape(h)) for c, t, h in heads],
                    "rows": [[(c, htmllib.unescape(v), t) for c, v, t in r] for r in rows],
                    "csv": None if href is None else base64.b64decode(href.group(1)).decode()})
    return out


def test_every_table_goes_through_the_macro_with_a_matching_csv(rendered):
    out, paths, _, _ = rendered
    for p in paths:
        html = p.read_text()
        assert html.count("<table") == len(_tables(html)), f"{p.name}: a table not drawn by the data_table macro"
        for t in _tables(html):
            assert t["csv"] is not None, f"{p.name}#{t['id']}: no CSV link"
            rows = list(csv.reader(io.StringIO(t["csv"])))
            # a page built from the sample: its CSV says so on every row (a downloaded CSV travels without its page)
            assert f'download="{t["id"]}-SAMPLE.csv"' in html, f"{p.name}#{t['id']}: a sample CSV not named as one"
            assert [r[0] for r in rows] == ["Data"] + ["SAMPLE (synthetic)"] * (len(rows) - 1), f"{p.name}#{t['id']}"
            rows = [r[1:] for r in rows]
            assert rows[0] == [h for _, _, h in t["heads"]], f"{p.name}#{t['id']}: CSV header differs from the table"
            assert rows[1:] == [[v for _, v, _ in r] for r in t["rows"]], f"{p.name}#{t['id']}: CSV rows differ"
            for r in t["rows"]:
                assert len(r) == len(t["heads"])
                for (cls, _, _), (hcls, dtype, _) in zip(r, t["heads"]):
                    assert cls.split()[0] == hcls and hcls == ("num" if dtype == "num" else "txt")
                    # numbers right-aligned, text left-aligned (CSS .num / .txt)
    html = (out / "cpfta.html").read_text()
    year = re.search(r"Untapped lines for Pakistan in China in (\d{4}) \(the latest year both Pakistan.{1,6}s exports and "
                     r"China.{1,6}s imports are published; trade and rates of that year\)", html)
    assert year, "the untapped-lines table names its year"
    assert 'download="cpfta-opportunities-SAMPLE.csv"' in html and 'class="data sortable" id="cpfta-opportunities"' in html
    # printed, a long table shows every row (paging hides rows on screen only), without the pager's "rows 1–25 of N"
    assert "table.data tbody tr[hidden] { display: table-row !important; }" in html
    assert "header, .table-tools, .pager { display: none !important; }" in html


def test_no_raw_column_names_or_null_markers_on_any_page(rendered, sample_db):
    out, paths, _, _ = rendered
    names = {r[0] for r in sample_db.execute("SELECT DISTINCT column_name FROM duckdb_columns() "
                                            "WHERE schema_name = 'marts'").fetchall()}
    from tradeflow.report.queries import query

    for q in Path(__file__).resolve().parents[1].joinpath("sql", "reports").glob("*.sql"):
        params = {k: v for k, v in {"since": "1900-01-01", "top": 1}.items() if f"${k}" in q.read_text()}
        names |= set(query(sample_db, q.stem, **params).columns)
    snake = {n for n in names if "_" in n}
    assert {"share_lines_zero", "avg_pref_simple_pct", "lines_zero_next_jan"} <= snake
    for p in paths:
        html = p.read_text()
        text = _visible_text(html)
        for marker in ("<NA>", "NaN", "None", "nan", "NaT", "00:00:00"):
            assert not re.search(rf"(?<![\w<]){re.escape(marker)}(?![\w>])" if marker[0] != "<" else re.escape(marker), text), \
                f"{p.name}: {marker!r} on the page"
        words = set(re.findall(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+", text))
        if p.stem != "methodology":  # the methodology documents the SQL columns by name, on purpose
            assert not words & snake, f"{p.name}: raw column names on the page: {sorted(words & snake)}"
        for t in _tables(html):
            for _, _, head in t["heads"]:
                assert head not in names, f"{p.name}#{t['id']}: raw column name {head!r} as a header"
    goals = (out / "goals.html").read_text()
    assert "Lines at zero duty (%)" in (out / "cpfta.html").read_text() and "Required growth a year (%)" in goals


def chromium():
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it where it may)")
    pytest.importorskip("playwright.sync_api")
    return path


SORTED = """(args) => {
  const [id, i] = args, table = document.getElementById(id);
  return Array.from(table.tBodies[0].rows).map(r => r.cells[i].getAttribute("data-v"));
}"""
ALIGN = """(id) => Array.from(document.getElementById(id).querySelectorAll("tbody tr:first-child td"))
  .map(c => [c.classList.contains("num"), getComputedStyle(c).textAlign])"""
STICKY = """(id) => [document.querySelector("#" + id + " thead th"), document.querySelector("#" + id + " tbody td")]
  .map(c => c ? getComputedStyle(c).position : "sticky")"""
IN_ORDER = """(vals) => vals.every((v, k) => k === 0 || vals[k - 1].localeCompare(v, undefined, {numeric: true}) <= 0)"""


def _check_order(page, tid: str, i: int, numeric: bool, asc: bool, label: str) -> None:
    vals = page.evaluate(SORTED, [tid, i])
    filled = [v for v in vals if v != ""]
    assert vals[: len(filled)] == filled, f"{label}: blanks must sort last"
    if numeric:
        nums = [float(v) for v in filled]
        assert nums == sorted(nums, reverse=not asc), f"{label}: not in {'ascending' if asc else 'descending'} order"
    else:
        seq = filled if asc else filled[::-1]
        assert page.evaluate(IN_ORDER, seq), f"{label}: text not in {'ascending' if asc else 'descending'} order"


def test_every_page_draws_in_headless_chromium_with_no_network(rendered, tmp_path):
    """At 1280 and 800 px: no horizontal page overflow, no console error, every chart drawn, the banner shown;
    every header of every table sorts its rows (both ways, blanks last); every table's CSV matches it;
    print on A4 draws every chart within the page width."""
    exe = chromium()
    from playwright.sync_api import sync_playwright

    out, _, _, _ = rendered
    copy = tmp_path / "reports"
    shutil.copytree(out, copy)
    ARTIFACTS.mkdir(exist_ok=True)
    clicked = exported = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        errors, requests = [], []
        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            for name in PAGES:
                page.goto((copy / f"{name}.html").as_uri())
                page.wait_for_load_state("load")
                charts = page.evaluate("document.querySelectorAll('div.plotly-graph-div').length")
                drawn = page.evaluate("Array.from(document.querySelectorAll('div.plotly-graph-div'))"
                                      ".filter(d => d.querySelector('svg.main-svg')).length")
                assert drawn == charts, f"{name}@{width}: {drawn} of {charts} charts drew"
                assert page.is_visible("#sample-banner"), name
                over = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert over <= 0, f"{name}@{width}: the page is {over} px wider than the window"
                page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
                if width != WIDTHS[0]:
                    continue
                ids = page.evaluate("Array.from(document.querySelectorAll('div.plotly-graph-div')).map(d => d.id)")
                for fid in ids:
                    # the image the modebar's "Download plot as a png" makes says SAMPLE (it travels without the page)
                    url = page.evaluate(f"Plotly.toImage(document.getElementById('{fid}'), "
                                        "{format: 'svg', width: 900, height: 500})")
                    assert "SAMPLE (synthetic data)" in urllib.parse.unquote(url.split(",", 1)[1]), f"{name}#{fid}"
                    exported += 1
                for tid in page.evaluate("Array.from(document.querySelectorAll('table.sortable')).map(t => t.id)"):
                    # numbers right, text left; the header and the first column stay in view when the card scrolls
                    for numeric, align in page.evaluate(ALIGN, tid):
                        assert align == ("right" if numeric else "left"), f"{name}#{tid}: a cell aligned {align}"
                    assert page.evaluate(STICKY, tid) == ["sticky", "sticky"], f"{name}#{tid}: header/first column scroll away"
                    heads = page.locator(f"#{tid} thead th")
                    for i in range(heads.count()):
                        numeric = heads.nth(i).get_attribute("data-type") == "num"
                        label = f"{name}#{tid} column {i + 1} ({heads.nth(i).inner_text()!r})"
                        heads.nth(i).click()
                        _check_order(page, tid, i, numeric, True, label)
                        heads.nth(i).click()
                        _check_order(page, tid, i, numeric, False, label)
                        clicked += 1
                    # the filter box and pager of a long table show the matching rows a page at a time
                    if page.locator(f'input.filter[data-for="{tid}"]').count():
                        assert page.evaluate(f"Array.from(document.getElementById('{tid}').tBodies[0].rows)"
                                             ".filter(r => !r.hidden).length") <= 25
                # printable: A4 (190 mm ≈ 718 CSS px), charts redrawn within the width, navigation hidden
                page.emulate_media(media="print")
                page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
                widest = page.evaluate("Math.max(0, ...Array.from(document.querySelectorAll('div.plotly-graph-div'))"
                                       ".map(d => d.querySelector('svg.main-svg').getBoundingClientRect().width))")
                assert widest <= 718, f"{name}: a chart is {widest} px wide in print"
                assert not page.is_visible("header") and page.is_visible("#sample-banner")
                # every row of every table prints, a long table's later pages too (main printed rows 1–25 only)
                shown = page.evaluate("Array.from(document.querySelectorAll('table.sortable')).map(t => "
                                      "[t.id, t.tBodies[0].rows.length, Array.from(t.tBodies[0].rows)"
                                      ".filter(r => r.getClientRects().length > 0).length])")
                assert all(n == seen for _, n, seen in shown), f"{name}: rows missing in print: {shown}"
                page.pdf(path=str(ARTIFACTS / f"{name}.pdf"), format="A4", print_background=True)
                page.evaluate("window.dispatchEvent(new Event('afterprint'))")
                page.emulate_media(media="screen")
            page.close()
        # filtering narrows the rows and the pager says so
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((copy / "goals.html").as_uri())
        page.fill('input.filter[data-for="goal-progress"]', "Energy basket")
        shown = page.evaluate("Array.from(document.getElementById('goal-progress').tBodies[0].rows)"
                              ".filter(r => !r.hidden).map(r => r.cells[0].textContent)")
        assert shown and all("Energy basket" in s for s in shown)
        assert "matching" in page.inner_text('.pager[data-for="goal-progress"]')
        browser.close()
    assert clicked > 100  # every header of every table on every page
    assert exported >= 17  # every chart
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert any(u.endswith("assets/plotly.min.js") for u in requests)


def test_export_xlsx_has_one_sheet_per_table(sample_home, tmp_path, monkeypatch):
    import openpyxl
    from click.testing import CliRunner

    from tradeflow.cli import main

    home, _, _ = sample_home
    monkeypatch.setenv("TRADEFLOW_HOME", str(home))
    r = CliRunner().invoke(main, ["export", "--format", "xlsx", "--table", "trade_by_period", "--table", "fta_indicators",
                                  "--output", str(tmp_path)])
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(tmp_path / "tradeflow_marts.xlsx", read_only=True)
    assert wb.sheetnames == ["trade_by_period", "fta_indicators"]
    assert wb["fta_indicators"].max_row == 33  # header + 2 importers × 16 years
    r = CliRunner().invoke(main, ["export", "--format", "parquet", "--table", "nope", "--output", str(tmp_path)])
    assert r.exit_code == 1 and "no marts table" in r.output
    r = CliRunner().invoke(main, ["export", "--format", "csv", "--table", "dim_country", "--output", str(tmp_path)])
    assert (tmp_path / "dim_country.csv").read_text().startswith("m49,iso3,name")


def test_goal_trend_is_in_points_for_a_share_and_never_relative_to_a_negative_base():
    """Scorecard trend: a share's change in percentage points (−32.1 % → −27.4 % is +4.7 pp, not −15 %), money's relative."""
    import pandas as pd

    from tradeflow.report.goals import scorecard
    from tradeflow.report.shell import build_table

    series = {"gap": ("share", [-0.321, -0.30, -0.274]), "duty_free": ("share", [0.488, 0.55, 0.637]),
              "exports": ("US$", [2.0e9, 2.2e9, 2.6e9]), "balance": ("US$", [-1.0e9, -0.5e9, 0.5e9])}
    df = pd.DataFrame([{"goal_id": g, "label": g, "section": "s", "paraphrase": "p", "unit": unit, "year": 2022 + i,
                        "latest_year": 2024, "actual": v, "target_path": None, "gap": None, "target_value": None,
                        "target_year": None, "required_cagr": None, "nowcast_12m": None, "status": "no target",
                        "target_source": None, "target_statement": None, "cagr_start_basis": "year 2024",
                        "direction": "reduction" if g == "gap" else None}
                       for g, (unit, values) in series.items() for i, v in enumerate(values)])
    card = scorecard(df)
    t = build_table(card[["goal", "trend", "unit"]], "goals", "Scorecard", source="goal_progress")
    assert t.columns[1].label == "Trend: change over the series (%, or pp for a share)"
    assert [(r[0].text, r[1].text, r[1].sort) for r in t.rows] == [
        ("gap", "+4.7 pp", "4.7"), ("duty_free", "+14.9 pp", "14.9"), ("exports", "+30 %", "30.0"), ("balance", NULL, "")]
    # the status is judged in the target's direction, and the scorecard says which (a reduction is on track below)
    t = build_table(card[["goal", "direction"]], "goals", "Scorecard", source="goal_progress")
    assert t.columns[1].label == "Target direction"
    assert t.rows[0][1].text == "Reduction (on track at or below the path)" and t.rows[1][1].text == NULL


def test_goal_charts_draw_the_marts_target_path(sample_db):
    """One small chart per goal with a target; its dashed path is marts.goal_progress.target_path."""
    import pandas as pd

    from tradeflow.report.goals import goal_figure
    from tradeflow.report.queries import query

    df = query(sample_db, "goals")
    checked = 0
    for goal_id, g in df.groupby("goal_id"):
        if g["target_value"].isna().all():
            continue
        fig = goal_figure(str(goal_id), g.sort_values("year")).figure
        scale = 0.01 if (g["unit"] == "share").all() else 1e9
        path = next(t for t in fig.data if t.name == "target path")
        drawn = dict(zip(path.x, path.y))
        for year, value in zip(g["year"], g["target_path"]):
            if not pd.isna(value) and year in drawn:
                assert drawn[year] * scale == pytest.approx(value, rel=1e-9), (goal_id, year)
                checked += 1
        assert any(t.name.startswith("target (") for t in fig.data)
    assert checked >= 3


def test_agro_heatmap_ranks_the_top_15_on_the_hs2017_basis():
    """Sixteen agro lines export 100 each (2021, HS2017); pine nuts 60 in 2021 as HS2017 080290 and 60 in 2022 as
    HS2022 080292 (HS2017 080290): 120 on the HS2017 basis, the largest line. Main ranked agro_products' reported codes
    (60 and 60: neither in the top 15) and lost the product; the 15 rows are pine nuts and 14 of the sixteen."""
    import duckdb

    from tradeflow.report.queries import query

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    codes = [f"{1001 + i:04d}10" for i in range(16)]
    rows = [(c, c, "HS2017", 2021, 100.0) for c in codes] + [("080290", "080290", "HS2017", 2021, 60.0),
                                                           ("080292", "080290", "HS2022", 2022, 60.0)]
    conn.execute("""CREATE TABLE marts.trade_flows_hs2017 (reporter VARCHAR, partner VARCHAR, flow VARCHAR, freq VARCHAR,
        period_start DATE, hs6_reported VARCHAR, hs6_2017 VARCHAR, value_usd DOUBLE, is_agro BOOLEAN)""")
    conn.executemany("INSERT INTO marts.trade_flows_hs2017 VALUES ('PAK', 'CHN', 'X', 'M', make_date(?, 6, 1), ?, ?, ?, "
                     "true)", [(y, r, c, v) for r, c, _, y, v in rows])
    conn.execute("""CREATE TABLE marts.agro_products AS SELECT * FROM (VALUES """
                 + ", ".join(f"('PAK', 'CHN', 'X', {y}, '{r}', '{h}', 'line {r}', {v})" for r, _, h, y, v in rows)
                 + ") t(reporter, partner, flow, year, hs6, hs_version, description, value_usd)")
    conn.execute("CREATE TABLE marts.dim_hs AS SELECT * FROM (VALUES "
                 + ", ".join(f"('HS2017', '{c}', 6, 'line {c}', true)" for c in [*codes, "080290"])
                 + ", ('HS2022', '080292', 6, 'Pine nuts', true)) t(hs_version, code, level, description, is_agro)")
    heat = query(conn, "agro_heatmap")
    per_line = heat.groupby("hs6")["value_usd"].sum()
    assert len(per_line) == 15 and heat["product"].nunique() == 15
    assert per_line["080290"] == 120.0 and set(per_line.index) - {"080290"} <= set(codes)


def test_agro_heatmap_classes_lines_by_code_even_without_the_hs2017_reference_list():
    """A live refresh whose HS2017 (H5) reference list failed to archive (that only warns): dim_hs has no HS2017
    rows. The heatmap still shows the agro lines, by trade_flows_hs2017.is_agro (classed from the code), named by
    their code; a larger non-agro line (HS 382499, chapter 38) stays out. Main joined dim_hs and drew nothing."""
    import duckdb

    from tradeflow.report.queries import query

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE marts.trade_flows_hs2017 AS SELECT * FROM (VALUES
        ('PAK', 'CHN', 'X', 'M', DATE '2024-01-01', '100630', '100630', 70.0, true),
        ('PAK', 'CHN', 'X', 'M', DATE '2024-02-01', '100630', '100630', 30.0, true),
        ('PAK', 'CHN', 'X', 'M', DATE '2024-01-01', '080292', '080290', 20.0, true),
        ('PAK', 'CHN', 'X', 'M', DATE '2024-01-01', '382499', '382499', 900.0, false))
        t(reporter, partner, flow, freq, period_start, hs6_reported, hs6_2017, value_usd, is_agro)""")
    conn.execute("""CREATE TABLE marts.dim_hs AS SELECT * FROM (VALUES ('HS2022', '080292', 6, 'Pine nuts', true))
        t(hs_version, code, level, description, is_agro)""")
    heat = query(conn, "agro_heatmap")
    assert sorted(heat.groupby("product")["value_usd"].sum().items()) == [
        ("HS 080290", 20.0), ("HS 100630", 100.0)]


def test_the_mirror_page_names_the_periods_only_one_side_has_published(sample_home, tmp_path):
    """China has published December 2025, Pakistan not yet: the page says the month is left out and why (mirror
    rows exist only where both sides published)."""
    import shutil

    import duckdb

    from tradeflow.report.mirror import mirror_page

    db = tmp_path / "w.duckdb"
    shutil.copy(sample_home[0] / "published" / "tradeflow.duckdb", db)
    conn = duckdb.connect(str(db))
    assert not mirror_page(conn, {"is_sample": True, "vintage": ""}).notes  # the sample: both sides every period
    conn.execute("DELETE FROM marts.reported_periods WHERE reporter = 'PAK' AND freq = 'M' AND year = 2025 AND month = 12")
    notes = mirror_page(conn, {"is_sample": True, "vintage": ""}).notes
    assert notes == ["Left out, published so far by one side only (China): 2025-12. "
                     "A mirror gap needs both sides' records of the same period."]


def test_untapped_lines_table_lists_only_lines_with_potential_left(sample_db):
    """A line whose indicative potential is 0 has nothing untapped (China already buys from Pakistan at least the
    smaller of the two markets): the page's table leaves it out; the mart keeps the whole ranking."""
    from tradeflow.report.queries import query

    shown = query(sample_db, "fta_opportunities")
    in_mart = sample_db.execute("SELECT count(*) FILTER (WHERE indicative_potential_usd > 0), count(*) "
                                "FROM marts.fta_opportunities").fetchone()
    assert (shown["indicative_potential_usd"] > 0).all() and len(shown) == in_mart[0] < in_mart[1]


def test_an_empty_untapped_lines_table_says_why(sample_home, tmp_path):
    """China's imports from the World not loaded for any year of Pakistan's (China has 2015–2016 only, Pakistan
    2017–2024): no year has both, the mart is empty, and the table says so with each side's years, not the bare
    "No rows". With a common year but every potential used up, it says that instead."""
    from tradeflow.report.cpfta import cpfta_page

    conn = _snapshot_copy(sample_home, tmp_path)
    conn.execute("DELETE FROM marts.trade_flows_hs2017 WHERE freq = 'A' AND partner = 'WLD' AND "
                 "(reporter = 'CHN' AND year > 2016 OR reporter = 'PAK' AND year <= 2016)")
    conn.execute("DELETE FROM marts.fta_opportunities")
    table = cpfta_page(conn, {"is_sample": True, "vintage": ""}).tables[-1]
    assert table.id == "cpfta-opportunities" and not table.rows
    assert table.note == ("No rows: no year has both sides' annual trade with the World, so no line can be ranked. "
                          "Loaded: Pakistan's exports to the World for 2017, 2018, 2019, 2020, 2021, 2022, 2023, "
                          "2024; China's imports from the World for 2015, 2016.")
    conn.execute("INSERT INTO marts.fta_opportunities BY NAME SELECT 2024 AS year, '080450' AS hs6, 1 AS rank, "
                 "0 AS indicative_potential_usd")
    table = cpfta_page(conn, {"is_sample": True, "vintage": ""}).tables[-1]
    assert not table.rows and "no line has trade potential left in 2024" in table.note
    # both sides' years back, the mart empty: with the schedule loaded, no line qualified (it was said not loaded)
    snapshot = sample_home[0] / "published" / "tradeflow.duckdb"
    conn.execute(f"ATTACH '{snapshot}' AS orig (READ_ONLY)")
    conn.execute("INSERT INTO marts.trade_flows_hs2017 SELECT * FROM orig.marts.trade_flows_hs2017 WHERE freq = 'A' "
                 "AND partner = 'WLD' AND (reporter = 'CHN' AND year > 2016 OR reporter = 'PAK' AND year <= 2016)")
    conn.execute("DELETE FROM marts.fta_opportunities")
    table = cpfta_page(conn, {"is_sample": True, "vintage": ""}).tables[-1]
    assert table.note == ("No rows: no HS6 line that Pakistan exports and China imports has all its Chinese tariff lines "
                          "at zero or falling by 2035.")
    # a range ending before the schedules start: no preferential rate in the year (it blamed the lines)
    conn.execute("DELETE FROM marts.trade_flows_hs2017 WHERE partner = 'WLD' AND year >= 2020")
    table = cpfta_page(conn, {"is_sample": True, "vintage": ""}).tables[-1]
    assert table.note == ("No rows: the latest year both sides published, 2019, is before China's Phase-II schedule "
                          "starts (2020): it has no preferential rates for that year.")
    conn.execute("DELETE FROM raw.fta_schedule WHERE party = 'CHN'")
    table = cpfta_page(conn, {"is_sample": True, "vintage": ""}).tables[-1]
    assert table.note == "No rows: China's Phase-II schedule has no tariff line loaded (`tradeflow schedule import`)."
    # a first live run before either side's annual data (a NULL list crashed the page: 'NAType' is not iterable)
    conn.execute("DELETE FROM marts.trade_flows_hs2017 WHERE partner = 'WLD'")
    conn.execute("DELETE FROM marts.fta_opportunities")
    table = cpfta_page(conn, {"is_sample": True, "vintage": ""}).tables[-1]
    assert table.note.endswith("Loaded: Pakistan's exports to the World for no year; China's imports from the World for "
                               "no year.")


def _figures(html: str) -> dict[str, dict]:
    """Every Plotly figure of a page, by div id: its data and layout as the page hands them to Plotly.newPlot."""
    import json

    dec, out = json.JSONDecoder(), {}
    for m in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', html):
        data, j = dec.raw_decode(html, m.end())
        layout, _ = dec.raw_decode(html, html.index("{", j))
        out[m.group(1)] = {"data": data, "layout": layout}
    return out


def _sample_marks(fig: dict) -> list[dict]:
    return [a for a in fig["layout"].get("annotations", [])
            if "SAMPLE (synthetic data)" in a.get("text", "") and a.get("xref") == "paper" and a.get("yref") == "paper"]


def _snapshot_copy(sample_home, tmp_path) -> duckdb.DuckDBPyConnection:
    """A writable copy of the sample snapshot, for hand-made variants of its marts."""
    db = tmp_path / "w.duckdb"
    shutil.copy(sample_home[0] / "published" / "tradeflow.duckdb", db)
    return duckdb.connect(str(db))


def _all_real(conn) -> None:
    """As a live build with official schedules would be: no input synthetic, in every table carrying the flag."""
    for schema, table in conn.execute("SELECT DISTINCT schema_name, table_name FROM duckdb_columns() WHERE "
                                      "column_name = 'is_sample' AND schema_name IN ('raw', 'staging', 'marts')"
                                      ).fetchall():
        conn.execute(f"UPDATE {schema}.{table} SET is_sample = false")


def test_every_chart_of_a_sample_page_carries_the_sample_mark_in_the_figure_itself(rendered):
    """The modebar's 'Download plot as a png' exports the figure, not the page: the SAMPLE mark must be in the figure
    (a paper-anchored annotation), not only in the HTML footnote under it."""
    out, paths, _, _ = rendered
    charts = 0
    for p in paths:
        for fid, fig in _figures(p.read_text()).items():
            assert len(_sample_marks(fig)) == 1, f"{p.name}#{fid}: no SAMPLE mark in the figure"
            charts += 1
    assert charts >= 17


def test_every_chart_names_its_unit_on_hover(rendered):
    """A hovered value says what it counts (US$ billion, % of lines, ...): the value axis' title, else the chart's
    units; a heatmap's cells the chart's units."""
    out, paths, _, _ = rendered
    traces = 0
    for p in paths:
        for fid, fig in _figures(p.read_text()).items():
            layout = fig["layout"]
            for trace in fig["data"]:
                horizontal = trace.get("orientation") == "h"
                value = "z" if trace["type"] == "heatmap" else "x" if horizontal else "y"
                hover = trace.get("hovertemplate", "")
                assert f"%{{{value}}} " in hover, f"{p.name}#{fid}: {trace.get('name')!r} hover {hover!r}"
                if value != "z":
                    title = layout["xaxis" if horizontal else "yaxis"].get("title", {}).get("text")
                    assert title and f"%{{{value}}} {title}<extra>" in hover, f"{p.name}#{fid}: {hover!r}"
                else:
                    assert hover.split(f"%{{z}} ", 1)[1].split("<extra>")[0], f"{p.name}#{fid}: no unit {hover!r}"
                traces += 1
    assert traces >= 30


def test_goals_computed_from_a_sample_input_are_bannered_and_marked(sample_home, tmp_path):
    """Real trade, but the bundled SAMPLE CPFTA schedules (no `tradeflow schedule import` yet): the goal on zero-duty
    lines is computed from the sample (marts.goal_progress.is_sample) while marts.trade_flows is real. The goals page
    is a SAMPLE page, its banner says which rows, and those rows and charts -- only those -- carry the mark."""
    from tradeflow.report.goals import goals_page
    from tradeflow.report.queries import data_status
    from tradeflow.report.shell import render_page

    conn = _snapshot_copy(sample_home, tmp_path)
    _all_real(conn)
    sample = {"duty_free_share", "pak_exports_to_china"}  # the second has a target, so a chart of its own
    conn.execute(f"UPDATE marts.goal_progress SET is_sample = goal_id IN {tuple(sorted(sample))}")
    status = data_status(conn)
    assert not status["is_sample"]
    labels = dict(conn.execute("SELECT DISTINCT goal_id, label FROM marts.goal_progress").fetchall())
    page = goals_page(conn, status)
    assert page.is_sample
    html = render_page(page, [], tmp_path).read_text()
    conn.close()
    assert 'id="sample-banner"' in html and "marked SAMPLE" in html
    assert "every number on this page is generated" not in html  # most of the page is real
    for t in _tables(html):
        rows = list(csv.reader(io.StringIO(t["csv"])))
        assert rows[0][0] == "Data", t["id"]
        marked = {r[1] for r in rows[1:] if r[0] == "SAMPLE (synthetic)"}
        assert marked == {labels[g] for g in sample}, t["id"]
        assert {r[0] for r in rows[1:]} == {"SAMPLE (synthetic)", ""}, t["id"]
        tagged = {labels[g] for g in labels for r in t["rows"] if "SAMPLE" in r[0][2] and r[0][1] == labels[g]}
        assert tagged == {labels[g] for g in sample}, t["id"]
    figs = _figures(html)
    assert _sample_marks(figs["goal-pak-exports-to-china"])
    assert not _sample_marks(figs["goal-bilateral-trade-2015-target"])
    foot = re.search(r'id="goal-bilateral-trade-2015-target".*?<p class="foot">(.*?)</p>', html, re.S).group(1)
    assert "SAMPLE" not in foot
    foot = re.search(r'id="goal-pak-exports-to-china".*?<p class="foot">(.*?)</p>', html, re.S).group(1)
    assert "SAMPLE (synthetic)" in foot


# each page, and the marts (or inputs) it shows beside marts.trade_flows
SHOWN = {
    "overview": ["marts.basket_flows", "marts.trade_by_period"],
    "mirror": ["marts.mirror_flows", "marts.mirror_gap_by_chapter"],
    "cpfta": ["raw.fta_schedule", "marts.fta_indicators", "marts.fta_opportunities"],
    "agro": ["marts.trade_flows_hs2017", "marts.khunjerab_before_after", "marts.seasonality_index",
             "marts.gacc_event_study", "marts.agro_indicators"],
    "goals": ["marts.goal_progress"],
    "changes": ["marts.period_changes"],
    "index": ["staging.tariffs"],  # the freshness table
}


def test_each_page_is_bannered_when_any_mart_it_shows_is_from_a_sample_input(sample_home, tmp_path):
    """A page's banner is decided by every mart it shows, not by marts.trade_flows alone: with one sample input behind
    one mart, that page (and the index, which lists it) is bannered, and no other page."""
    conn = _snapshot_copy(sample_home, tmp_path)
    _all_real(conn)
    out = tmp_path / "r"
    banner = lambda: {p.stem for p in render_reports(conn, out) if 'id="sample-banner"' in p.read_text()}  # noqa: E731
    assert banner() == set()
    for page, tables in SHOWN.items():
        for table in tables:
            n = conn.execute(f"UPDATE {table} SET is_sample = true").fetchone()[0]
            assert n, table
            assert banner() == {page, "index"}, table
            conn.execute(f"UPDATE {table} SET is_sample = false")
    conn.execute("UPDATE marts.trade_flows SET is_sample = true")
    assert banner() == set(PAGES)
    conn.close()


def test_the_overview_leaves_out_a_year_one_side_has_not_published(sample_home, tmp_path):
    """China has published its latest year, Pakistan not yet (the usual order): Pakistan's-records balance has no bar
    for that year (main drew 0.0, 'balanced trade'), the page names the year, and the chapter chart is of the latest
    year both sides published (main drew that year with China's exports alone)."""
    import pandas as pd

    from tradeflow.report.overview import overview_page
    from tradeflow.report.queries import data_status

    conn = _snapshot_copy(sample_home, tmp_path)
    last = conn.execute("SELECT max(year) FROM marts.reported_periods WHERE freq = 'A'").fetchone()[0]
    for table in ("marts.trade_flows", "marts.reported_periods"):
        conn.execute(f"DELETE FROM {table} WHERE reporter = 'PAK' AND freq = 'A' AND year = {last}")
    page = overview_page(conn, data_status(conn))
    conn.close()
    figs = {f.id: f.figure for f in page.figures}
    bars = {t.name: dict(zip(map(int, t.x), t.y)) for t in figs["overview-balance"].data}
    pak = bars["Pakistan's balance with China, Pakistan's records"]
    assert last not in pak and last - 1 in pak and not any(pd.isna(v) for v in pak.values())
    assert last in bars["Pakistan's balance with China, China's records"]
    assert f"Published so far by one side only (China): {last}." in " ".join(page.notes)
    chapters = figs["overview-chapters"]
    assert f"Exports by HS chapter, {last - 1} " in chapters.layout.title.text
    assert {t.name for t in chapters.data} == {"China → Pakistan", "Pakistan → China"}


def test_the_agro_page_without_monthly_data_draws_no_empty_chart_and_says_why(sample_home, tmp_path):
    """Annual data only (a live refresh before any monthly period is out): marts.gacc_event_study still holds its
    37-month windows, every month outside the data. Main drew seven product lines without a value on axes around 0
    (read as zero exports) and an empty table, and said nothing; the page now says monthly data are needed."""
    from tradeflow.report.agro import agro_page
    from tradeflow.report.queries import data_status

    conn = _snapshot_copy(sample_home, tmp_path)
    # one event window outside the data: its product is not drawn, the others are
    conn.execute("UPDATE marts.gacc_event_study SET in_data = false, exports_usd = NULL, index_pre_mean_100 = NULL "
                 "WHERE event_id = 4")
    names = {t.name for f in agro_page(conn, data_status(conn)).figures if f.id == "agro-events" for t in f.figure.data}
    assert "Dried chillies" not in names and len(names) == 6
    for table in ("marts.trade_flows", "marts.trade_flows_hs2017", "marts.reported_periods"):
        conn.execute(f"DELETE FROM {table} WHERE freq = 'M'")
    for table in ("marts.khunjerab_before_after", "marts.seasonality_index", "marts.agro_indicators"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute("UPDATE marts.gacc_event_study SET in_data = false, exports_usd = NULL, index_pre_mean_100 = NULL")
    page = agro_page(conn, data_status(conn))
    conn.close()
    assert page.figures == []
    assert any(n.startswith("No monthly UN Comtrade data from Pakistan are loaded") for n in page.notes), page.notes
    assert [t.note for t in page.tables] and all("monthly" in t.note for t in page.tables)


def test_a_chart_with_no_value_is_not_drawn_and_the_page_says_so(tmp_path):
    """Any page: a chart whose every value is missing would be empty axes (around 0: read as zero); it is left out
    and a note names it."""
    import plotly.graph_objects as go

    from tradeflow.report.shell import Figure, Page, render_page

    empty = go.Figure(go.Scatter(x=[2020, 2021], y=[None, None], name="a")).update_layout(title="Nothing here")
    full = go.Figure(go.Bar(y=["HS 01"], x=[1.5], orientation="h")).update_layout(title="Something")
    page = Page(slug="t", title="t", intro="",
                figures=[Figure("empty", empty, "u", "s"), Figure("full", full, "u", "s")])
    html = render_page(page, [], tmp_path).read_text()
    assert list(_figures(html)) == ["full"]
    assert "Not drawn, no data loaded: Nothing here." in html


def _old_suite(out: Path) -> dict[str, bytes]:
    """Stand-ins for the previous build's pages (and plotly.js), as they are on disk."""
    (out / "assets").mkdir(parents=True)
    for name in [f"{p}.html" for p in PAGES] + ["assets/plotly.min.js"]:
        (out / name).write_text(f"<html>OLD {name}</html>")
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _on_disk(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_a_full_disk_mid_render_keeps_every_old_page_and_names_the_file(sample_home, tmp_path, monkeypatch):
    """The pages are replaced all at once: a write that fails half-way (ENOSPC on the goals page) leaves the whole
    previous suite, no half-written page and no build folder, and the one-line error names the page."""
    from tradeflow.errors import TradeflowError

    out = tmp_path / "reports"
    before = _old_suite(out)
    real = Path.write_text

    def full_disk(self, *args, **kwargs):
        if self.name == "goals.html":
            real(self, "<html>trunc", encoding="utf-8")
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    conn = duckdb.connect(str(sample_home[0] / "published" / "tradeflow.duckdb"), read_only=True)
    try:
        with pytest.raises(TradeflowError, match=r"previous pages are kept.*No space left on device: .*goals\.html"):
            render_reports(conn, out)
        assert _on_disk(out) == before
        assert sorted(p.name for p in out.iterdir()) == sorted(["assets"] + [f"{p}.html" for p in PAGES])  # no build folder
        monkeypatch.setattr(Path, "write_text", real)
        render_reports(conn, out)  # the next rendering replaces them all
    finally:
        conn.close()
    after = _on_disk(out)
    assert set(after) == set(before) and all(after[k] != before[k] for k in before)
    assert not list(out.glob(".tradeflow-build-*"))


def test_a_rendering_killed_half_way_leaves_the_old_pages_and_the_next_clears_its_build_folder(sample_home, tmp_path,
                                                                                              monkeypatch):
    """Killed after some pages (KeyboardInterrupt stands in for the signal): every page is still the old one. A build
    folder a killed process left behind (its pid gone) is removed by the next rendering."""
    import subprocess
    import sys

    import tradeflow.report.suite as suite

    out = tmp_path / "reports"
    before = _old_suite(out)
    real, written = suite.render_page, []

    def killed(page, *args, **kwargs):
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(page.slug)
        return real(page, *args, **kwargs)

    monkeypatch.setattr(suite, "render_page", killed)
    conn = duckdb.connect(str(sample_home[0] / "published" / "tradeflow.duckdb"), read_only=True)
    try:
        with pytest.raises(KeyboardInterrupt):
            render_reports(conn, out)
        assert len(written) == 3 and _on_disk(out) == before
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        left = out / f".tradeflow-build-{int(dead.stdout)}-x"
        left.mkdir()
        (left / "index.html").write_text("half")
        monkeypatch.setattr(suite, "render_page", real)
        render_reports(conn, out)
    finally:
        conn.close()
    assert not left.exists() and not list(out.glob(".tradeflow-build-*"))
    after = _on_disk(out)
    assert set(after) == set(before) and all(after[k] != before[k] for k in before)
