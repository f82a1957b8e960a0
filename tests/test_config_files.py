"""Curated YAML files (goals, baskets, GACC events, Khunjerab, CPFTA categories) are pydantic models:
a broken file fails with one line naming the file, the entry and the field; the built-in files load."""

from __future__ import annotations

from importlib import resources

import pytest

from tradeflow.errors import ConfigError
from tradeflow.fta.schedule import load_categories, load_conventions
from tradeflow.green_channel import config


def builtin(package: str, name: str) -> str:
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


GOALS = builtin("tradeflow.green_channel", "goals.yaml")
CATEGORIES = builtin("tradeflow.fta", "categories.yaml")
KHUNJERAB = builtin("tradeflow.green_channel", "khunjerab.yaml")
GACC = builtin("tradeflow.green_channel", "gacc_events.yaml")
BASKETS = builtin("tradeflow.green_channel", "baskets.yaml")


def broken(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def message(loader, path) -> str:
    with pytest.raises(ConfigError) as err:
        loader(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(str(path) + ": "), msg
    return msg.removeprefix(str(path) + ": ")


# --- goals.yaml: entry = goals[i] (id=…) ---------------------------------------------------------------

@pytest.mark.parametrize("old,new,expected", [
    # wrong type, in the third goal
    ("baseline_year: 2020", "baseline_year: twenty-twenty",
     "goals[2] (id=duty_free_share): baseline_year: Input should be a valid integer, got 'twenty-twenty'"),
    # wrong type inside a nested field
    ("target: {value: 60000000000, year: 2029,", "target: {value: sixty billion, year: 2029,",
     "goals[5] (id=pak_total_exports_uraan): target.value: Input should be a valid number"),
    # missing field
    ("  label: Share of China's imports from Pakistan on zero-duty CPFTA lines\n", "",
     "goals[2] (id=duty_free_share): label: missing (required)"),
    # unknown (misspelt) key
    ("  baseline_year: 2023\n", "  baseline_yaer: 2023\n",
     "goals[3] (id=khunjerab_winter_share): baseline_year: missing (required)"),
    ("  unit: share\n  metric: >\n    SELECT year, winter_share", "  unit: share\n  units: share\n  metric: >\n    SELECT year, winter_share",
     "goals[3] (id=khunjerab_winter_share): units: unknown key"),
    # a target with neither value nor multiple, or both (the value silently won: the goal read as a reduction)
    ("target: {multiple_of_baseline: 2.0, year: 2026,", "target: {year: 2026,",
     "goals[0] (id=pak_exports_to_china): target: a target needs exactly one of value and multiple_of_baseline"),
    ("target: {multiple_of_baseline: 2.0, year: 2026,", "target: {multiple_of_baseline: 2.0, value: 1000, year: 2026,",
     "goals[0] (id=pak_exports_to_china): target: a target needs exactly one of value and multiple_of_baseline"),
    # years that were read as numbers: true as year 1, a typo 20229 (required growth 0.0036 % a year), before the
    # baseline (published as 'missed'), far outside Comtrade's years
    ("baseline_year: 2021", "baseline_year: true",
     "goals[0] (id=pak_exports_to_china): baseline_year: Input should be a valid integer, got True"),
    ("value: 60000000000, year: 2029,", "value: 60000000000, year: 20229,",
     "goals[5] (id=pak_total_exports_uraan): target.year: Input should be less than or equal to 2100, got 20229"),
    ("value: 60000000000, year: 2029,", "value: 60000000000, year: 2024.0,",
     "goals[5] (id=pak_total_exports_uraan): target.year: Input should be a valid integer, got 2024.0"),
    ("multiple_of_baseline: 2.0, year: 2026,", "multiple_of_baseline: 2.0, year: 2019,",
     "goals[0] (id=pak_exports_to_china): target.year 2019 must come after baseline_year 2021"),
    ("baseline_year: 2021", "baseline_year: 1900",
     "goals[0] (id=pak_exports_to_china): baseline_year: Input should be greater than or equal to 1988, got 1900"),
    # not a number: .nan read as 'no target', .inf as an infinite required growth
    ("value: 60000000000, year: 2029,", "value: .nan, year: 2029,",
     "goals[5] (id=pak_total_exports_uraan): target.value: Input should be a finite number, got nan"),
    ("value: 60000000000, year: 2029,", "value: .inf, year: 2029,",
     "goals[5] (id=pak_total_exports_uraan): target.value: Input should be a finite number, got inf"),
])
def test_a_broken_goal_names_file_entry_and_field(tmp_path, old, new, expected):
    assert old in GOALS
    msg = message(config.goals, broken(tmp_path, "goals.yaml", GOALS.replace(old, new, 1)))
    assert msg.startswith(expected), msg


def test_an_empty_goals_file_is_refused_not_read_as_no_goals(tmp_path):
    assert message(config.goals, broken(tmp_path, "goals.yaml", "# all goals commented out\n")).startswith(
        "the file holds no goals (it is empty)")


def test_duplicate_goal_ids_are_named(tmp_path):
    text = GOALS.replace("id: agro_exports_to_china", "id: pak_exports_to_china")
    assert "pak_exports_to_china appear(s) more than once" in message(config.goals, broken(tmp_path, "goals.yaml", text))


# --- gacc_events.yaml: entry = events[i] (product=…) -------------------------------------------------------

@pytest.mark.parametrize("old,new,expected", [
    ("date: 2023-08-10", "date: 2023-13-10", "events[3] (product=Dried chillies): date: '2023-13-10' is not a date (YYYY-MM-DD)"),
    ("date: 2023-08-10", "date: 10/08/2023", "events[3] (product=Dried chillies): date: '10/08/2023' is not a date"),
    # a year typo: the event fell outside the charts and was dropped silently
    ("date: 2023-08-10", "date: 2203-08-10",
     "events[3] (product=Dried chillies): date 2203-08-10 is outside 2000-01-01 to 2030-12 (a year typo?)"),
    ('hs: ["090421"]', 'hs: ["090421", "090421"]', "events[3] (product=Dried chillies): hs: 090421 listed twice"),
    ('hs: ["090421"]', "hs: [90421]", "events[3] (product=Dried chillies): hs[0]: 90421 is not an HS code (2, 4 or 6 digits, quoted)"),
    ("event_type: protocol_signed,\n   source: \"https://tdminews", "kind: protocol_signed,\n   source: \"https://tdminews",
     "events[3] (product=Dried chillies): event_type: missing (required)"),
])
def test_a_broken_gacc_event_names_file_entry_and_field(tmp_path, old, new, expected):
    assert old in GACC
    msg = message(config.gacc_events, broken(tmp_path, "gacc_events.yaml", GACC.replace(old, new, 1)))
    assert msg.startswith(expected), msg


def test_an_event_listed_twice_is_refused_not_drawn_twice(tmp_path):
    first = GACC.splitlines(keepends=True)[3:5]
    assert first[0].startswith("- {date: 2022-12-16")
    msg = message(config.gacc_events, broken(tmp_path, "gacc_events.yaml", GACC + "".join(first)))
    assert msg.endswith("repeats events[0] (same date, type and codes): it would be drawn twice"), msg


def test_an_unquoted_comma_in_a_flow_mapping_is_an_unknown_key_not_a_silently_cut_name(tmp_path):
    """The built-in sesame entry used to lose half its product name this way (now quoted)."""
    text = GACC.replace('product: "Sesame seeds (new registered exporters, Phase-II zero duty)"',
                        "product: Sesame seeds (new registered exporters, Phase-II zero duty)")
    msg = message(config.gacc_events, broken(tmp_path, "gacc_events.yaml", text))
    assert msg.startswith("events[6] (product=Sesame seeds (new registered exporters): Phase-II zero duty): unknown key"), msg
    assert "Sesame seeds (new registered exporters, Phase-II zero duty)" in set(config.gacc_events()["product"])


# --- baskets.yaml: entry = the basket key; khunjerab.yaml: events[i] (type=…) or the section ------------------

def test_a_broken_basket_names_file_entry_and_field(tmp_path):
    text = BASKETS.replace('hs: ["26", "7402", "7403"]', 'hs: ["26", "74O2", "7403"]')
    assert message(config.baskets, broken(tmp_path, "baskets.yaml", text)).startswith(
        "mining_minerals: hs[1]: '74O2' is not an HS code")
    text = BASKETS.replace("  label: Energy\n", "  label: Energy\n  lable: Energy\n")
    assert message(config.baskets, broken(tmp_path, "baskets.yaml", text)).startswith("energy: lable: unknown key")


@pytest.mark.parametrize("codes,expected", [('"26", "2603", "7403"', "'2603' overlaps '26'"),
                                            ('"7403", "26", "7403"', "'7403' overlaps '7403'")])
def test_a_basket_whose_codes_overlap_is_refused(tmp_path, codes, expected):
    """A line under two of a basket's codes would be added twice to marts.basket_flows."""
    text = BASKETS.replace('hs: ["26", "7402", "7403"]', f"hs: [{codes}]")
    msg = message(config.baskets, broken(tmp_path, "baskets.yaml", text))
    assert msg.startswith("mining_minerals: ") and expected in msg, msg


@pytest.mark.parametrize("old,new,expected", [
    ("start: 2023-01-19, end: 2023-01-20", "start: 2023-01-19, end: 2023-02-30",
     "events[1] (type=adhoc_opening): end: '2023-02-30' is not a date (YYYY-MM-DD)"),
    ("start: 2023-01-19, end: 2023-01-20", "start: 2023-01-19, end: 2023-01-10",
     "events[1] (type=adhoc_opening): end 2023-01-10 is before start 2023-01-19"),
    ("until: 2024-11-30", "until: end of November", "seasonal_closure.until: 'end of November' is not a date"),
    ("months: [12, 1, 2, 3]", "months: [12, 1, 2, 13]", "seasonal_closure.months[3]: Input should be less than or equal to 12"),
    ("{type: suspension,", "{type: closure,", "events[3] (type=closure): type: Input should be 'adhoc_opening' or 'suspension'"),
    # year typos that moved every winter to another regime (the headline winter share 8.23 % instead of 2.58 %)
    ("from: 2024-12-02", "from: 2042-12-02", "year_round.from 2042-12-02 is outside the calendar 2010-01-01 to 2030-12-01"),
    ("from: 2024-12-02", "from: 2022-12-02", "year_round.from 2022-12-02 must come after seasonal_closure.until 2024-11-30"),
    ("until: 2024-11-30", "until: 2014-11-30",
     "year_round.from 2024-12-02 is over a year after seasonal_closure.until 2014-11-30: the winters between would read open"),
    ("start: 2025-07-01, end: 2025-09-29", "start: 2025-07-01, end: 2052-09-29",
     "events[3] (suspension): end 2052-09-29 is outside the calendar 2010-01-01 to 2030-12-01"),
])
def test_a_broken_khunjerab_calendar_names_file_entry_and_field(tmp_path, old, new, expected):
    assert old in KHUNJERAB
    msg = message(config.khunjerab_months, broken(tmp_path, "khunjerab.yaml", KHUNJERAB.replace(old, new, 1)))
    assert msg.startswith(expected), msg


# --- categories.yaml: entry = PARTY.CODE or conventions ------------------------------------------------------

@pytest.mark.parametrize("old,new,expected", [
    ("A5: {kind: linear, years: 5,", "A5: {kind: linear, years: five,", "CHN.A5: years: Input should be a valid integer"),
    ("C3: {kind: linear, years: 15,", "C3: {kind: linear,", "PAK.C3: a linear category needs years >= 1"),
    ("P: {kind: partial, cut: 0.20, lines: 350,", "P: {kind: partial, cut: 20, lines: 350,", "PAK.P: a partial category needs 0 < cut < 1"),
    ("E: {kind: excluded, share: 0.20,", "E: {kind: excluded, shares: 0.20,", "CHN.E: shares: unknown key"),
    # a parameter its kind ignores: meant linear over 5 years, typed immediate (read duty-free at once)
    ("A0: {kind: immediate, share: 0.45,", "A0: {kind: immediate, years: 5, share: 0.45,",
     "CHN.A0: years: kind immediate takes no years"),
    ("A5: {kind: linear, years: 5,", "A5: {kind: linear, years: 5, cut: 0.2,", "CHN.A5: cut: kind linear takes no cut"),
])
def test_a_broken_category_names_file_entry_and_field(tmp_path, old, new, expected):
    assert old in CATEGORIES
    msg = message(load_categories, broken(tmp_path, "categories.yaml", CATEGORIES.replace(old, new, 1)))
    assert msg.startswith(expected), msg


def test_broken_conventions_name_the_field(tmp_path):
    p = broken(tmp_path, "categories.yaml", CATEGORIES.replace("base_rate_year: 2019", "base_rate_year: last year"))
    assert message(load_conventions, p).startswith("conventions: base_rate_year: Input should be a valid integer")
    p = broken(tmp_path, "categories.yaml", CATEGORIES.replace("  status: assumption\n", "  status: assumption\n  note: x\n"))
    assert message(load_conventions, p).startswith("conventions: note: unknown key")


def test_a_convention_given_as_true_is_refused_not_read_as_1(tmp_path):
    """first_cut_offset: true was read as 1 and moved every linear line's path a year (40,151 tariff-line rows)."""
    p = broken(tmp_path, "categories.yaml", CATEGORIES.replace("first_cut_offset: 0", "first_cut_offset: true"))
    assert message(load_conventions, p).startswith("conventions: first_cut_offset: Input should be a valid integer, got True")


def test_invalid_yaml_is_one_line_with_its_position(tmp_path):
    msg = message(config.baskets, broken(tmp_path, "baskets.yaml", "energy: {label: Energy, hs: [\"8507\"\n"))
    assert msg.startswith("not valid YAML: line ") and "column" in msg, msg


def test_the_built_in_files_load():
    assert len(config.goals()) == GOALS.count("\n- id: ")
    assert config.gacc_events()["event_id"].max() == GACC.count("\n- {")
    assert set(config.baskets()["basket"]) == {"agricultural_modernisation", "mining_minerals", "marine_economy",
                                               "innovation_corridor", "energy", "textile_value_chain"}
    assert str(config.khunjerab_year_round()[0]) == "2024-12-02"
    cats = load_categories()
    assert set(cats) == {"CHN", "PAK"} and cats["CHN"]["A10"].years == 10 and cats["PAK"]["P"].cut == 0.2
    assert load_conventions()["base_rate_year"] == 2019


def test_a_key_given_twice_in_a_yaml_mapping_is_refused_by_name(tmp_path):
    """Plain YAML keeps the last of two equal keys: a category defined twice (A10 as linear, then as immediate)
    priced every A10 line at 0 with exit 0. Refused, naming the file, line and key; a merge key may still be
    overridden."""
    from tradeflow.configfile import read_yaml
    from tradeflow.fta.schedule import load_categories

    p = tmp_path / "categories.yaml"
    p.write_text("CHN:\n  A10: {kind: linear, years: 10}\n  E: {kind: excluded}\n  A10: {kind: immediate}\n")
    with pytest.raises(ConfigError, match=r"categories\.yaml: not valid YAML: line 4, column 3: key 'A10' appears twice"
                                          r" in one mapping \(first at line 2\)"):
        load_categories(p)
    merged = tmp_path / "merged.yaml"
    merged.write_text("base: &b {kind: linear, years: 5}\nA: {<<: *b, years: 10}\n")
    assert read_yaml("merged.yaml", path=merged)["A"] == {"kind": "linear", "years": 10}
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("A: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.yaml: not UTF-8 text"):
        read_yaml("latin1.yaml", path=bad)


@pytest.mark.parametrize("metric", ["DELETE FROM marts.trade_flows WHERE year = 2019; SELECT 2019 AS year, 1.0 AS value",
                                    "COPY (SELECT 1) TO 'x.csv'",
                                    "WITH d AS (DELETE FROM marts.trade_flows RETURNING *) SELECT 2019 AS year, 1.0 AS value"])
def test_a_goal_metric_that_is_not_one_select_is_refused_and_changes_nothing(metric):
    """A goal's metric runs on the build's connection: a DELETE before its SELECT emptied a year of marts.trade_flows
    with exit 0. Only one SELECT statement is run."""
    import duckdb

    from tradeflow.green_channel.goals import goal_frames

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts; CREATE TABLE marts.trade_flows AS SELECT 2019 AS year, 5.0 AS value_usd")
    goal = {"id": "g", "label": "g", "section": "s", "paraphrase": "p", "baseline_year": 2019, "metric": metric}
    with pytest.raises(ConfigError, match="goal g: its metric must (be one SELECT statement|only read; it writes)"):
        goal_frames(conn, [goal], ("goal_series_frame",))
    assert conn.execute("SELECT count(*) FROM marts.trade_flows").fetchone() == (1,)


def test_a_goal_metric_returning_text_is_refused_naming_the_goal():
    import duckdb

    from tradeflow.green_channel.goals import goal_frames

    goal = {"id": "g", "label": "g", "section": "s", "paraphrase": "p", "baseline_year": 2019,
            "metric": "SELECT 2019 AS year, 'n/a' AS value"}
    with pytest.raises(ConfigError, match=r"goal g: its metric's value must be a number, got 'n/a'"):
        goal_frames(duckdb.connect(), [goal], ("goal_series_frame",))
    dated = {**goal, "metric": "SELECT 2019 AS year, DATE '2020-01-01' AS value"}  # was silently 1577836800000000
    with pytest.raises(ConfigError, match=r"goal g: its metric's value must be a number, got Timestamp"):
        goal_frames(duckdb.connect(), [dated], ("goal_series_frame",))
