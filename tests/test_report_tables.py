"""The one table builder: labels, units and formats from the contract registry; nulls, dates, sort values, CSV."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from tradeflow.report.columns import NULL, ReportError, build_table, column_spec


def _csv(table) -> list[list[str]]:
    return list(csv.reader(io.StringIO(base64.b64decode(table.csv_href.split(",", 1)[1]).decode())))


def test_labels_units_and_formats_come_from_the_contract():
    df = pd.DataFrame({
        "importer": ["CHN", "PAK", None],
        "year": pd.array([2020, 2021, None], dtype="Int64"),
        "share_lines_zero": [0.45, np.nan, 0.6],
        "avg_pref_simple_pct": [4.46038, 5.2, None],
        "value_usd": [2.1e9, 1.4e10, pd.NA],
        "vintage": [date(2025, 6, 30), None, date(2026, 2, 15)],
        "nowcast_period_end": pd.to_datetime(["2025-12-01", None, "2024-01-01"]),
        "is_sample": [True, False, None],
        "flow": ["X", "M", "RX"],
    })
    t = build_table(df, "t", "caption", source="fta_indicators")
    assert [c.label for c in t.columns] == [
        "Importer", "Year", "Lines at zero duty (%)", "Preferential rate (simple avg) (%)", "Value (US$ bn)",
        "Data vintage", "Nowcast to", "Synthetic sample", "Flow"]
    assert [c.numeric for c in t.columns] == [False, True, True, True, True, False, False, False, False]
    assert "lines_zero / lines_total" in t.columns[2].doc  # the header tooltip is the contract text
    texts = [[c.text for c in row] for row in t.rows]
    assert texts[0] == ["CHN", "2020", "45.0", "4.5", "2.10", "2025-06-30", "2025-12", "Yes", "Exports"]
    assert texts[1] == ["PAK", "2021", NULL, "5.2", "14.00", NULL, NULL, "No", "Imports"]
    assert texts[2] == [NULL, NULL, "60.0", NULL, NULL, "2026-02-15", "2024-01", NULL, "Re-exports"]
    # sort values: full precision in the column's unit, blank for nulls; the CSV carries them under the same header
    assert [c.sort for c in t.rows[0]] == ["CHN", "2020", "45", "4.46038", "2.1", "2025-06-30", "2025-12", "1", "Exports"]
    rows = _csv(t)
    assert rows[0] == [c.label for c in t.columns] and rows[1:] == [[c.sort for c in r] for r in t.rows]
    assert t.rows[1][2].sort == ""


def test_a_column_without_a_label_stops_the_render_naming_it():
    with pytest.raises(ReportError, match="column 'mystery_col' of report table 'fta_indicators' has no label"):
        build_table(pd.DataFrame({"mystery_col": [1]}), "t", "c", source="fta_indicators")
    # a report query's own columns are looked up under display.reports.<query> first
    assert column_spec("vintage", "changes").label == "New vintage"
    assert column_spec("vintage", "fiscal_totals").label == "Data vintage"


def test_per_row_units_and_small_money_columns():
    df = pd.DataFrame({"unit": ["US$", "share"], "actual": [5.08e9, 0.637]})
    t = build_table(df, "g", "goals", source="goal_progress")
    assert [r[1].text for r in t.rows] == ["US$ 5.08 bn", "63.7 %"] and [r[1].sort for r in t.rows] == ["5080000000", "63.7"]
    # one US$ unit per table, unless a column is too small to read in it
    df = pd.DataFrame({"value_usd_before": [2.54e9, 1.8e10], "value_usd": [2.49e9, 1.8e10], "revision_usd": [-4.89e7, -2.5e6]})
    t = build_table(df, "r", "revisions", source="changes")
    assert [c.label for c in t.columns] == ["Before (US$ bn)", "After (US$ bn)", "Revision (US$ m)"]
    assert t.rows[0][2].text == "-48.9"


def test_a_share_goal_csv_is_in_percent_as_its_unit_says():
    # the Unit column reads "share (%)": the CSV carries 63.7 (as the page and the share columns' CSVs do), not 0.637
    df = pd.DataFrame({"unit": ["share", "US$"], "actual": [0.637, 5.08e9], "gap": [0.0369, -1.2e8]})
    rows = _csv(build_table(df, "g", "goals", source="goal_progress"))
    assert rows[1] == ["share (%)", "63.7", "3.69"] and rows[2] == ["US$", "5080000000", "-120000000"]


def test_a_share_goal_gap_is_in_percentage_points():
    df = pd.DataFrame({"unit": ["share", "US$"], "gap": [0.0369, -1.2e8]})
    assert [r[1].text for r in build_table(df, "g", "goals", source="goal_progress").rows] == ["+3.7 pp", "US$ -120.0 m"]


def test_long_tables_are_paged():
    t = build_table(pd.DataFrame({"year": range(2000, 2030)}), "y", "years")
    assert t.paged and len(t.rows) == 30
    assert not build_table(pd.DataFrame({"year": range(2000, 2010)}), "y", "years").paged


def test_a_table_renders_through_the_macro_escaped():
    t = build_table(pd.DataFrame({"description": ["<b>rice</b> & co"], "year": [2020]}), "esc", "Caption <x>")
    html = str(t.html())
    assert 'id="esc"' in html and "&lt;b&gt;rice&lt;/b&gt; &amp; co" in html and "<b>" not in html
    assert 'download="esc.csv"' in html and "Caption &lt;x&gt;" in html


def test_a_table_marks_the_rows_computed_from_sample_inputs_and_only_those():
    """A page mixing real rows with rows from a synthetic input (a goal on the bundled SAMPLE schedules beside goals on
    real trade): the CSV marks those rows in its first column and leaves the others blank; on the page each such row
    carries a SAMPLE tag, and the download says the CSV holds SAMPLE rows."""
    df = pd.DataFrame({"description": ["real", "from the sample schedule", "real"], "year": [2020, 2021, 2022]})
    t = build_table(df, "mix", "Mixed", sample_rows=[False, True, False])
    assert t.sample  # a table with any sample row is a sample table, whatever the page says
    assert [r[0] for r in _csv(t)] == ["Data", "", "SAMPLE (synthetic)", ""]
    assert [r[1:] for r in _csv(t)][1:] == [["real", "2020"], ["from the sample schedule", "2021"], ["real", "2022"]]
    html = str(t.html())
    assert html.count('class="sample-tag"') == 1 and 'download="mix-SAMPLE.csv"' in html
    assert re.search(r'<tr class="sample-row"><td[^>]*>from the sample schedule <span class="sample-tag">SAMPLE</span>', html)
    # every row from the sample: every row marked, no tag repeated on each row (the page's banner says it)
    t = build_table(df, "all", "All", sample_rows=[True, True, True])
    assert [r[0] for r in _csv(t)] == ["Data"] + ["SAMPLE (synthetic)"] * 3 and "sample-tag" not in str(t.html())
    # no row flags: a table on a sample page is sample throughout (the page shell sets .sample)
    t = build_table(df, "page", "Page")
    assert not t.sample and _csv(t)[0] == ["Description", "Year"]
    t.sample = True
    assert [r[0] for r in _csv(t)] == ["Data"] + ["SAMPLE (synthetic)"] * 3
    with pytest.raises(ReportError, match="3 rows but 2 sample flags"):
        build_table(df, "bad", "Bad", sample_rows=[True, False])


def test_an_empty_table_says_so():
    """A table with no rows is never just an empty grid and a 'Download CSV (0 rows)': it says it has none."""
    t = build_table(pd.DataFrame({"year": pd.Series([], dtype="Int64")}), "none", "Nothing")
    assert t.rows == [] and "No rows" in t.note and "No rows" in str(t.html())
    assert build_table(pd.DataFrame({"year": []}), "own", "Own", note="No monthly data are loaded.").note == \
        "No monthly data are loaded."


@pytest.mark.parametrize("old,new,expected", [
    # a key given twice: the second won silently (China's imports shown as 'Value (%) 210,000,000,001.0')
    ("    value_usd: {label: Value, format: usd}\n",
     "    value_usd: {label: Value, format: usd}\n    value_usd: {label: Value, format: share}\n",
     "not valid YAML: line 27, column 5: key 'value_usd' appears twice in one mapping (first at line 26)"),
    # a misspelt key was ignored (a share shown as 0.3283… instead of 32.8 %)
    ("    value_usd: {label: Value, format: usd}\n", "    value_usd: {label: Value, fromat: usd}\n",
     "display.columns.value_usd: fromat: unknown key"),
    ("    value_usd: {label: Value, format: usd}\n", "    value_usd: {label: Value, format: dollars}\n",
     "display.columns.value_usd: format: Input should be"),
])
def test_a_broken_display_registry_is_refused_naming_file_entry_and_field(tmp_path, old, new, expected):
    from pathlib import Path

    from tradeflow.report.columns import ReportError, _load_display

    text = (Path(__file__).parents[1] / "src/tradeflow/report/display.yaml").read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / "display.yaml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ReportError) as err:
        _load_display(broken)
    assert str(err.value).startswith(f"{broken}: {expected}"), err.value
