"""The report suite: every page offline, deterministic, within budget, and drawn in headless Chromium."""

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from tradeflow.report import render_reports

PAGES = ["index", "overview", "mirror", "cpfta", "agro", "goals", "methodology"]
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
            if "plotly-graph-div" in fig:
                assert "Units:" in fig and "Source:" in fig and "SAMPLE (synthetic)" in fig
    assert (out / "assets" / "plotly.min.js").exists()
    for p in solo:  # self-contained: plotly.js inside every page that has charts, no shared asset needed
        html = p.read_text()
        assert "assets/plotly.min.js" not in html
        if "plotly-graph-div" in html:
            assert p.stat().st_size > 4_000_000


def test_tables_sort_and_download(rendered):
    out, _, _, _ = rendered
    html = (out / "cpfta.html").read_text()
    assert 'class="sortable"' in html and 'download="cpfta-opportunities.csv"' in html and "data:text/csv;base64," in html


def chromium():
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it where it may)")
    pytest.importorskip("playwright.sync_api")
    return path


def test_every_page_draws_in_headless_chromium_with_no_network(rendered, tmp_path):
    exe = chromium()
    from playwright.sync_api import sync_playwright

    out, _, _, _ = rendered
    copy = tmp_path / "reports"
    shutil.copytree(out, copy)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors, requests = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        for name in PAGES:
            page.goto((copy / f"{name}.html").as_uri())
            page.wait_for_load_state("load")
            charts = page.evaluate("document.querySelectorAll('.plotly-graph-div').length")
            drawn = page.evaluate("Array.from(document.querySelectorAll('.plotly-graph-div'))"
                                  ".filter(d => d.querySelector('svg.main-svg')).length")
            assert drawn == charts, f"{name}: {drawn} of {charts} charts drew"
            assert page.is_visible("#sample-banner"), name
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        # sorting works: clicking the rank header reverses the opportunities table
        page.goto((copy / "cpfta.html").as_uri())
        first = page.inner_text("#cpfta-opportunities tbody tr:first-child td:first-child")
        page.click("#cpfta-opportunities th:first-child")
        page.click("#cpfta-opportunities th:first-child")
        assert page.inner_text("#cpfta-opportunities tbody tr:first-child td:first-child") != first
        browser.close()
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
