"""What changed since the last run: two archive states (the sample, then a revision and a new period)."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
from dataclasses import replace

import duckdb
import pytest
from click.testing import CliRunner

from tradeflow.archive import RawArchive
from tradeflow.cli import main
from tradeflow.sample.generator import DATASET, generate_sample

REVISED_AT, NEW_AT = "2026-03-01T02:00:00Z", "2026-03-01T02:30:00Z"  # one refresh run: one arrival


def _body(reporter: int, freq: str, period: str):
    return next(r for r in generate_sample() if r.query.reporter == reporter and r.query.freq == freq
                and r.query.period == period and not r.query.by_mode)


@pytest.fixture(scope="module")
def states(sample_home, tmp_path_factory):
    """State 1: the sample. State 2: Pakistan revises 2021 (one export line up, one dropped, one import line down)
    and publishes January 2026, both fetched in one run; then the warehouse is rebuilt from the archive."""
    from pipelines.refresh import run_refresh

    home1, _, _ = sample_home
    base = tmp_path_factory.mktemp("changes")
    home, reports = base / "home", base / "reports"
    shutil.copytree(home1, home)
    archive = RawArchive(home / "raw")

    old = _body(586, "A", "2021")
    doc = json.loads(old.body)
    x = [i for i, r in enumerate(doc["data"]) if r["partnerCode"] == 156 and r["flowCode"] == "X"]
    m = [i for i, r in enumerate(doc["data"]) if r["partnerCode"] == 156 and r["flowCode"] == "M"]
    up, gone, down = doc["data"][x[0]], doc["data"][x[1]], doc["data"][m[0]]
    expected = {
        "X": {"before": sum(doc["data"][i]["primaryValue"] for i in x), "revision": 5_000_000.0 - gone["primaryValue"],
              "dropped": 1, "revised": 1, "top": (gone["cmdCode"], -gone["primaryValue"])},
        "M": {"before": sum(doc["data"][i]["primaryValue"] for i in m), "revision": -2_500_000.0, "dropped": 0, "revised": 1},
    }
    up["primaryValue"] += 5_000_000.0
    down["primaryValue"] -= 2_500_000.0
    doc["data"] = [r for r in doc["data"] if r is not gone]
    doc["count"] = len(doc["data"])
    archive.store(dataset=DATASET, source="sample", url=old.url, params=old.query.params(), status=200,
                  body=json.dumps(doc).encode(), partition=old.query.partition(), release={"vintage": "2026-03-01"},
                  fetched_at=REVISED_AT)

    dec = _body(586, "M", "202512")
    doc = json.loads(dec.body)
    for r in doc["data"]:
        r.update(period="202601", refYear=2026, refMonth=1, refPeriodId=20260101)
    query = replace(dec.query, period="202601")
    archive.store(dataset=DATASET, source="sample", url=dec.url, params=query.params(), status=200,
                  body=json.dumps(doc).encode(), partition=query.partition(), release={"vintage": "2026-03-15"},
                  fetched_at=NEW_AT)
    expected["new_lines"] = len(doc["data"])

    saved = {k: os.environ.get(k) for k in ("TRADEFLOW_HOME", "TRADEFLOW_REPORTS_DIR")}
    os.environ["TRADEFLOW_HOME"], os.environ["TRADEFLOW_REPORTS_DIR"] = str(home), str(reports)
    try:
        outcome = run_refresh("archive")
        assert outcome.success, outcome.error
        yield home1, home, reports, expected
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _db(home):
    return duckdb.connect(str(home / "published" / "tradeflow.duckdb"), read_only=True)


def test_the_latest_arrival_holds_the_revision_and_the_new_period(states):
    _, home, _, expected = states
    with _db(home) as conn:
        latest = conn.execute("SELECT DISTINCT change, source, reporter, freq, period FROM marts.period_changes "
                              "WHERE is_latest_arrival ORDER BY ALL").fetchall()
        assert latest == [("new period", "UN Comtrade", "PAK", "M", "2026-01"), ("revision", "UN Comtrade", "PAK", "A", "2021")]
        rows = {r[0]: r[1:] for r in conn.execute(
            "SELECT flow, previous_vintage::VARCHAR, vintage::VARCHAR, value_usd_before, value_usd, revision_usd, "
            "lines_added, lines_dropped, lines_revised FROM marts.period_changes "
            "WHERE change = 'revision' AND reporter = 'PAK' AND partner = 'CHN' AND period = '2021'").fetchall()}
        assert set(rows) == {"X", "M", "RX"}  # flows are never summed together; re-exports re-released unchanged
        assert rows["RX"][4] == 0 and rows["RX"][5:] == (0, 0, 0)
        for flow, e in expected.items():
            if flow not in ("X", "M"):
                continue
            prev, new, before, after, revision, added, dropped, revised = rows[flow]
            assert (prev, new) == ("2022-06-30", "2026-03-01")
            assert before == pytest.approx(e["before"]) and revision == pytest.approx(e["revision"])
            assert after == pytest.approx(e["before"] + e["revision"])
            assert (added, dropped, revised) == (0, e["dropped"], e["revised"])
        # partners whose lines did not move are re-released unchanged: revision 0
        assert conn.execute("SELECT sum(abs(revision_usd)) FROM marts.period_changes WHERE change = 'revision' "
                            "AND partner = 'WLD'").fetchone()[0] == 0
        # line level: three lines moved; the largest absolute revision ranks first
        lines = conn.execute("SELECT hs6, flow, line_change, revision_usd, rank FROM marts.revisions ORDER BY rank").fetchall()
        assert len(lines) == 3 and [r[4] for r in lines] == [1, 2, 3]
        top_code, top_rev = expected["X"]["top"]
        if abs(top_rev) > 5_000_000:
            assert lines[0][0] == top_code and lines[0][2] == "dropped" and lines[0][3] == pytest.approx(top_rev)
        new = conn.execute("SELECT sum(lines), min(vintage)::VARCHAR FROM marts.period_changes "
                           "WHERE change = 'new period' AND period = '2026-01'").fetchone()
        assert new == (expected["new_lines"], "2026-03-15")
        # history is kept: the 2021 release still shows as the period's first arrival, and both vintages stay in raw
        assert conn.execute("SELECT count(*) FROM marts.period_changes WHERE change = 'new period' AND reporter = 'PAK' "
                            "AND period = '2021' AND source = 'UN Comtrade' AND NOT is_latest_arrival").fetchone()[0] > 0
        # and the marts use the new vintage
        assert conn.execute("SELECT DISTINCT vintage::VARCHAR FROM marts.trade_flows WHERE reporter = 'PAK' AND freq = 'A' "
                            "AND year = 2021").fetchall() == [("2026-03-01",)]


def test_changes_command_before_and_after(states, monkeypatch):
    home1, home, _, expected = states
    monkeypatch.setenv("COLUMNS", "250")  # rich: one table row per line
    monkeypatch.setenv("TRADEFLOW_HOME", str(home1))
    r = CliRunner().invoke(main, ["changes"])
    assert r.exit_code == 0, r.output
    assert "2 new period(s), 0 revised period(s)" in r.output and "2025-12" in r.output

    monkeypatch.setenv("TRADEFLOW_HOME", str(home))
    r = CliRunner().invoke(main, ["changes", "--top", "5"], terminal_width=200)
    assert r.exit_code == 0, r.output
    assert "1 new period(s), 1 revised period(s)" in r.output
    assert "2026-01" in r.output and "2022-06-30 → 2026-03-01" in r.output
    assert f"{expected['X']['revision']:,.0f}" in r.output and f"{expected['M']['revision']:,.0f}" in r.output

    r = CliRunner().invoke(main, ["changes", "--format", "json"])
    found = json.loads(r.output)
    assert [(n["reporter"], n["period"]) for n in found["new"]] == [("PAK", "2026-01")]
    # the body's records, over every partner and flow: named records, not "HS6 lines" (an HS6 traded with CHN and
    # reported for WLD is two of them)
    assert found["new"][0]["records"] == expected["new_lines"] and "lines" not in found["new"][0]
    rev = {(x["partner"], x["flow"]): x for x in found["revised"]}
    assert rev[("CHN", "X")]["revision_usd"] == pytest.approx(expected["X"]["revision"])
    assert rev[("CHN", "X")]["previous_vintage"] == "2022-06-30" and rev[("CHN", "X")]["vintage"] == "2026-03-01"
    assert len(found["lines"]) == 3

    r = CliRunner().invoke(main, ["changes", "--since", "2025-12-01", "--format", "json"])
    assert {n["period"] for n in json.loads(r.output)["new"]} >= {"2025-12", "2026-01"}

    r = CliRunner().invoke(main, ["changes", "--since", "yesterday"])
    assert r.exit_code == 1 and "--since must be a date" in r.output


def test_changes_since_converts_utc_offsets_and_filters_on_each_periods_own_arrival(states, monkeypatch):
    """--since is "what arrived at or after DATE": a UTC offset is converted (it was dropped: 06:30+05:00 read as
    06:30 UTC), and each period counts from when it arrived, not from the start of its 6-hour arrival (the new
    month fetched at 02:30 went missing for --since 02:15, its arrival starting at 02:00)."""
    _, home, _, _ = states
    monkeypatch.setenv("TRADEFLOW_HOME", str(home))

    def since(value):
        r = CliRunner().invoke(main, ["changes", "--since", value, "--format", "json"])
        assert r.exit_code == 0, r.output
        found = json.loads(r.output)
        return (found["since"], {(n["reporter"], n["period"]) for n in found["new"]},
                {(x["reporter"], x["period"]) for x in found["revised"]}, {x["hs6"] for x in found["lines"]})

    at_0130 = since("2026-03-01T01:30")
    assert at_0130[1:3] == ({("PAK", "2026-01")}, {("PAK", "2021")}) and len(at_0130[3]) == 3
    for same in ("2026-03-01T06:30+05:00", "2026-02-28T20:30-05:00", "2026-03-01T01:30Z", "2026-03-01T01:30:00+00:00"):
        assert since(same) == at_0130, same
    assert at_0130[0] == "2026-03-01 01:30:00"  # what was asked, in UTC
    # 02:15: the new month (fetched 02:30) is listed; the revision (fetched 02:00) and its lines are not
    assert since("2026-03-01T02:15")[1:] == ({("PAK", "2026-01")}, set(), set())
    assert since("2026-03-01T02:30")[1] == {("PAK", "2026-01")}  # at or after
    assert since("2026-03-01T02:31")[1:] == (set(), set(), set())


def test_changes_table_piped_is_not_cut_and_small_revisions_do_not_round_to_nothing(states, monkeypatch):
    """Piped (not a terminal), the tables were squeezed to 80 columns: every number cut to '2,5…', '-48,…'."""
    _, home, _, expected = states
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("TRADEFLOW_HOME", str(home))
    r = CliRunner().invoke(main, ["changes"])
    assert r.exit_code == 0, r.output
    assert "…" not in r.output
    x = expected["X"]
    row = next(ln for ln in r.output.splitlines() if "│ CHN" in ln and "│ X " in ln and "2022-06-30 → 2026-03-01" in ln)
    assert f"{x['before']:,.0f}" in row and f"{x['revision']:,.0f}" in row
    assert f"{100 * x['revision'] / x['before']:+.2f}" in row
    assert any(x["top"][0] in ln and f"{x['top'][1]:,.0f}" in ln for ln in r.output.splitlines())
    # a revision too small for two decimals of a percent still shows, never as +0.00
    from tradeflow.cli import _percent

    assert [_percent(v) for v in (0.0, -0.01925419868453567, 1.23e-7, -4e-5, float("nan"))] == \
        ["+0.00", "-1.93", "+1.2e-05", "-0.004", "—"]


def test_changes_json_is_strict_json(states, monkeypatch):
    """A line a revision dropped has no value after it, one it added none before (NULL): they were written as NaN,
    which is not JSON (jq, JSON.parse reject it); now null."""
    _, home, _, expected = states
    monkeypatch.setenv("TRADEFLOW_HOME", str(home))
    r = CliRunner().invoke(main, ["changes", "--format", "json"])
    assert r.exit_code == 0, r.output

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    found = json.loads(r.output, parse_constant=refuse)
    code, revision = expected["X"]["top"]
    dropped = next(x for x in found["lines"] if x["hs6"] == code)
    assert dropped["line_change"] == "dropped" and dropped["value_usd"] is None
    assert dropped["value_usd_before"] == pytest.approx(-revision) and dropped["revision_usd"] == pytest.approx(revision)
    assert found["new"][0]["records"] == expected["new_lines"] and found["since"] == "2026-03-01 02:00:00"


def test_changes_page_lists_the_revision(states):
    from tradeflow.report import render_reports

    _, home, _, expected = states
    out = home.parent / "pages"
    with _db(home) as conn:
        render_reports(conn, out)
    html = (out / "changes.html").read_text()
    assert "Latest arrival, 2026-03-01 02:00 UTC: 1 new period and 1 revised period (PAK 2026-01 new)." in html
    with _db(home) as conn:
        n = conn.execute("SELECT count(*) FROM marts.period_changes WHERE change = 'revision'").fetchone()[0]
    body = re.search(r'<table class="data sortable" id="changes-revised".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    assert n >= 3 and body.count("<tr>") == n  # PAK 2021, every partner and flow
    href = re.search(r'download="changes-revised-SAMPLE.csv" href="data:text/csv;charset=utf-8;base64,([^"]+)"',
                     html).group(1)  # built on the sample: the CSV says so on every row
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(href).decode())))
    assert rows and {r.pop("Data") for r in rows} == {"SAMPLE (synthetic)"}
    x = next(r for r in rows if r["Partner"] == "CHN" and r["Flow"] == "Exports")
    unit = next(k for k in x if k.startswith("Revision (US$"))
    scale = {"US$ bn)": 1e9, "US$ m)": 1e6, "US$ thousand)": 1e3, "US$)": 1}[unit.split("(", 1)[1]]
    assert float(x[unit]) * scale == pytest.approx(expected["X"]["revision"])
    assert x["Previous vintage"] == "2022-06-30" and x["New vintage"] == "2026-03-01"
    lines = re.search(r'id="changes-lines".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    assert lines.count("<tr>") == 3


def test_a_snapshot_without_the_changes_marts_says_what_to_do(tmp_path, monkeypatch):
    db = tmp_path / "home" / "published" / "tradeflow.duckdb"
    db.parent.mkdir(parents=True)
    duckdb.connect(str(db)).execute("CREATE SCHEMA marts; CREATE TABLE marts.trade_flows (x INTEGER)").close()
    monkeypatch.setenv("TRADEFLOW_HOME", str(tmp_path / "home"))
    r = CliRunner().invoke(main, ["changes"])
    assert r.exit_code == 1 and "no marts.period_changes" in r.output and "refresh --source archive" in r.output
    assert r.output.count("\n") == 1  # one line, no traceback
