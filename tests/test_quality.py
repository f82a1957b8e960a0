"""Quality gates: each fails on the bad data it exists for, and a blocking failure stops the run."""

import json
import re

import duckdb
import pytest
from click.testing import CliRunner

from tests.test_refresh import marts_digest
from tradeflow.archive import RawArchive
from tradeflow.cli import main
from tradeflow.quality import staging_gates
from tradeflow.sample.generator import DATASET, generate_sample


def staged(rows):
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA staging; CREATE SCHEMA raw")
    conn.execute("""CREATE TABLE staging.comtrade_flows (reporter_code INT, partner_code INT, flow VARCHAR, freq VARCHAR,
        year INT, month INT, hs6 VARCHAR, classification VARCHAR, mot_code INT, value_usd DOUBLE, net_weight_kg DOUBLE,
        quantity DOUBLE)""")
    conn.executemany("INSERT INTO staging.comtrade_flows VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("CREATE TABLE raw.reference_hs AS SELECT * FROM (VALUES ('H5','100630'),('H5','520512')) t(classification, code)")
    conn.execute("CREATE TABLE staging.countries AS SELECT * FROM (VALUES (0),(156),(586)) t(m49)")
    return conn


GOOD = [(586, 156, "X", "A", 2021, None, "100630", "H5", 0, 100.0, 10.0, 10.0),
        (586, 156, "X", "A", 2020, None, "100630", "H5", 0, 90.0, 9.0, 9.0)]


def results(rows):
    return {g.name: g for g in staging_gates(staged(rows))}


def test_good_data_pass_every_gate():
    assert all(g.passed for g in results(GOOD).values())


@pytest.mark.parametrize("bad,gate", [
    ((586, 156, "X", "A", 2019, None, "100630", "H5", 0, -5.0, 1.0, 1.0), "negative_values"),
    ((586, 156, "X", "A", 2019, None, "999999", "H5", 0, 5.0, 1.0, 1.0), "unknown_hs_codes"),
    ((586, 156, "X", "A", 2019, None, "520512", "H6", 0, 5.0, 1.0, 1.0), "unknown_hs_codes"),  # code of the wrong version
    ((586, 999, "X", "A", 2019, None, "100630", "H5", 0, 5.0, 1.0, 1.0), "unknown_country_codes"),
    ((None, 156, "X", "A", 2019, None, "100630", "H5", 0, 5.0, 1.0, 1.0), "null_keys"),
    (GOOD[0], "duplicate_keys"),
])
def test_each_blocking_gate_catches_its_case(bad, gate):
    r = results(GOOD + [bad])
    assert not r[gate].passed and r[gate].blocking and r[gate].failed_rows >= 1
    assert [g for g, x in r.items() if not x.passed] == [gate]


def test_warnings_months_and_jumps():
    months = [(586, 156, "X", "M", 2021, m, "100630", "H5", 0, 10.0, 1.0, 1.0) for m in range(1, 13)]  # 120 ≠ 100
    jump = (586, 156, "X", "A", 2022, None, "100630", "H5", 0, 50_000_000.0, 1.0, 1.0)  # ×500 vs 2021
    r = results(GOOD + months + [jump])
    assert not r["months_sum_to_annual"].passed and not r["months_sum_to_annual"].blocking
    assert not r["tenfold_jump"].passed and r["tenfold_jump"].failed_rows == 1
    assert all(r[g].passed for g in ("negative_values", "null_keys", "duplicate_keys"))


def test_injected_bad_partition_stops_marts_and_reports(sample_copy, tmp_path):
    from pipelines.refresh import run_refresh

    work = sample_copy
    before = marts_digest(work / "published" / "tradeflow.duckdb")
    page = (tmp_path / "reports" / "overview.html").read_bytes()

    # a revised release of Pakistan's 2021 annual data arrives with a negative value and an unknown code
    resp = next(r for r in generate_sample() if r.query.reporter == 586 and r.query.freq == "A" and r.query.period == "2021")
    doc = json.loads(resp.body)
    doc["data"][0]["primaryValue"] = -1234.0
    doc["data"][1]["cmdCode"] = "999999"
    RawArchive(work / "raw").store(dataset=DATASET, source="sample", url=resp.url, params=resp.query.params(), status=200,
                                  body=json.dumps(doc).encode(), partition=resp.query.partition(),
                                  release={"vintage": "2023-01-31"})
    outcome = run_refresh("archive")
    assert not outcome.success
    failed = {c["check"]: c for c in outcome.failed_checks}
    # the blocking gates' dbt test on staging.quality_gates fails with the two gates that failed
    assert {name for name, c in failed.items() if c["severity"] == "ERROR"} == {"blocking_gates_passed"}
    gates = failed["blocking_gates_passed"]
    assert gates["asset"] == "staging/quality_gates" and gates["failed_rows"] == 2
    [neg] = [s for s in gates["sample"] if "gate=negative_values" in s]
    [hs] = [s for s in gates["sample"] if "gate=unknown_hs_codes" in s]
    assert "failed_rows=1" in neg and "H5:999999" in hs
    assert marts_digest(work / "published" / "tradeflow.duckdb") == before  # nothing published
    assert (tmp_path / "reports" / "overview.html").read_bytes() == page  # no report regenerated

    r = CliRunner().invoke(main, ["status"])
    assert "negative_values" in r.output and "unknown_hs_codes" in r.output and "2 row(s)" in r.output


def test_a_version_without_reference_list_is_named_not_listed_code_by_code():
    rows = GOOD + [(586, 156, "X", "A", 2016, None, "440110", "H4", 0, 5.0, 1.0, 1.0)]
    r = results(rows)
    assert not r["unknown_hs_codes"].passed and r["unknown_hs_codes"].failed_rows == 1
    assert r["unknown_hs_codes"].sample == ["H4: no reference list (comtradeapi.un.org/files/v1/app/reference/H4.json) "
                                            "archived or readable"]


def test_gates_count_every_bad_row_but_fetch_only_a_sample():
    """The gates run inside DuckDB: 20,000 planted negative values are counted exactly, ten are fetched."""
    conn = staged(GOOD)
    conn.execute("""INSERT INTO staging.comtrade_flows
        SELECT 586, 156, 'M', 'A', 1990 + i // 1000, NULL, '100630', 'H5', i % 1000, -1.0, 1.0, 1.0
        FROM range(20000) t(i)""")
    r = {g.name: g for g in staging_gates(conn)}
    assert r["negative_values"].failed_rows == 20_000 and len(r["negative_values"].sample) == 10
    assert r["negative_values"].sample[0]["value_usd"] == -1.0
    assert r["negative_values"].statistics == {"evaluated_rows": 20_002, "evaluated_expectations": 3,
                                               "successful_expectations": 2}
    assert [g for g, x in r.items() if not x.passed] == ["negative_values"]


def test_the_gates_model_leaves_duckdbs_thread_count_as_it_found_it(monkeypatch):
    """staging.quality_gates runs inside dbt, whose profile sets DuckDB's (global) thread count for every
    model: the model keeps it. Outside dbt the gates switch to every core and give back the count the
    connection had, even when a gate fails."""
    from tradeflow import quality
    from tradeflow.warehouse import db

    monkeypatch.setattr(db, "cores", lambda: 2)
    conn = staged(GOOD)
    conn.execute("SET threads = 3")
    table = quality.gate_table(conn)
    assert table["passed"].all() and len(table) >= 5
    assert conn.execute("SELECT current_setting('threads')").fetchone()[0] == 3

    def broken(_conn):
        assert _conn.execute("SELECT current_setting('threads')").fetchone()[0] == 2
        raise RuntimeError("gate failed")

    monkeypatch.setattr(quality, "_staging_gates", broken)
    with pytest.raises(RuntimeError, match="gate failed"):
        quality.staging_gates(conn)  # outside dbt: on every core (here 2), then the count it had
    assert conn.execute("SELECT current_setting('threads')").fetchone()[0] == 3


def test_duplicate_keys_counts_every_row_of_a_repeated_key_nulls_and_missing_month_included():
    """Duplicates are found by a hash of the key, then checked by its columns: a missing month and month 0 are one
    period, a NULL key column matches a NULL, and every row of a repeated key counts."""
    twice_null_partner = (586, None, "X", "A", 2019, None, "100630", "H5", 0, 5.0, 1.0, 1.0)
    month0 = (586, 156, "M", "M", 2021, 0, "100630", "H5", 0, 5.0, 1.0, 1.0)
    no_month = (586, 156, "M", "M", 2021, None, "100630", "H5", 0, 6.0, 1.0, 1.0)
    r = results(GOOD + [GOOD[0], GOOD[0], twice_null_partner, twice_null_partner, month0, no_month,
                        (586, 156, "M", "M", 2021, 1, "100630", "H5", 0, 5.0, 1.0, 1.0)])  # month 1: not a duplicate
    assert r["duplicate_keys"].failed_rows == 3 + 2 + 2 and not r["duplicate_keys"].passed
    assert r["duplicate_keys"].statistics["evaluated_rows"] == 2 + 2 + 2 + 2 + 1
    sample = r["duplicate_keys"].sample
    assert len(sample) == 7 and sample[0] == {"reporter_code": 586, "partner_code": 156, "flow": "M", "freq": "M",
                                              "year": 2021, "month": 0, "hs6": "100630", "mot_code": 0}
    assert [s["month"] for s in sample[:2]] == [0, None] and sample[-1]["partner_code"] is None
    assert not r["null_keys"].passed and r["null_keys"].failed_rows == 2


def test_tenfold_jump_sees_every_pair_with_one_side_at_the_floor():
    """The jump window runs only over lines holding a value at the floor: a fall from above the floor to far below
    counts, a small line's ×100 does not, a gap year is no pair, and every pair of a big line is evaluated."""
    line = lambda partner, hs6, year, v: (586, partner, "X", "A", year, None, hs6, "H5", 0, v, 1.0, 1.0)
    rows = GOOD + [line(0, "100630", 2018, 2_000_000.0), line(0, "100630", 2019, 50_000.0),   # ÷40 from the floor
                   line(0, "100630", 2020, 40_000.0),                                           # both small: no pair
                   line(0, "520512", 2018, 5_000.0), line(0, "520512", 2019, 500_000.0),      # ×100, both small
                   line(156, "520512", 2017, 30_000_000.0), line(156, "520512", 2019, 1.0),   # gap year: no pair
                   line(156, "520512", 2020, 2_000_000.0)]                                     # ×2e6 from below
    r = results(rows)
    jump = r["tenfold_jump"]
    assert jump.statistics["evaluated_rows"] == 2 and jump.failed_rows == 2 and not jump.passed
    assert jump.sample == [{"reporter_code": 586, "flow": "X", "hs6": "100630", "year": 2019, "ratio": 0.025},
                           {"reporter_code": 586, "flow": "X", "hs6": "520512", "year": 2020, "ratio": 2_000_000.0}]
    assert [g for g, x in r.items() if not x.passed] == ["tenfold_jump"]


def test_the_months_gate_adds_the_months_exactly_whatever_order_the_rows_are_stored_in():
    """staging.comtrade_flows is kept incrementally (rebuilt batches are appended), so the months gate
    must not depend on row order: 1e17 + 1 − 1e17 is 1 in any order (a DOUBLE sum gives 0 or 1)."""
    values = [1e17, 1.0, -1e17] + [0.0] * 9
    annual = (586, 156, "X", "A", 2021, None, "100630", "H5", 0, 1.0, 1.0, 1.0)
    for order in (values, values[::-1], [1e17, -1e17, 1.0] + [0.0] * 9):
        months = [(586, 156, "X", "M", 2021, m + 1, "100630", "H5", 0, v, 1.0, 1.0) for m, v in enumerate(order)]
        g = results([annual] + months)["months_sum_to_annual"]
        assert g.passed and g.failed_rows == 0, g.sample  # the months add up to the annual 1.0 exactly


# ---- counts kept per batch of staging.comtrade_flows (issue 14: a nightly run counts what it rebuilt)

def batched(rows):
    """staged(rows) with the batch state batch_incremental keeps for staging.comtrade_flows: one batch per
    (reporter_code, freq, year, month), its fingerprint (n, h) made from its rows."""
    conn = staged(rows)
    conn.execute("CREATE SCHEMA meta")
    conn.execute("""CREATE TABLE meta."staging__comtrade_flows__build" AS
        SELECT 'digest-1' AS inputs, 'incremental' AS mode, 'changed batches only' AS reason, now() AS built_at""")
    fingerprint(conn)
    return conn


def fingerprint(conn):
    conn.execute("""CREATE OR REPLACE TABLE meta."staging__comtrade_flows__batches" AS
        SELECT reporter_code AS _b1, freq AS _b2, year::VARCHAR AS _b3, count(*) AS n,
               sum(hash(*COLUMNS(*))::HUGEINT) AS h, 1 AS keys,
               reporter_code AS _k1, freq AS _k2, year AS _k3, month AS _k4
        FROM staging.comtrade_flows GROUP BY reporter_code, freq, year, month""")


def gates_of(conn):
    return {g.name: g for g in staging_gates(conn)}


def counted_batches(conn):
    """(year, rows, counted before 2001) per batch counted"""
    return conn.execute("SELECT year, n_rows, counted_at < '2001-01-01' FROM meta.quality_gate_counts ORDER BY year").fetchall()


def mark_counted_long_ago(conn, where="TRUE"):
    conn.execute(f"UPDATE meta.quality_gate_counts SET counted_at = '2000-01-01' WHERE {where}")


def test_the_flows_gates_count_only_batches_whose_rows_changed():
    conn = batched(GOOD)
    assert all(g.passed for g in gates_of(conn).values())
    assert counted_batches(conn) == [(2020, 1, False), (2021, 1, False)]
    # a revised 2021 arrives with a negative value: only its batch is counted again, and it fails
    conn.execute("UPDATE staging.comtrade_flows SET value_usd = -1 WHERE year = 2021")
    fingerprint(conn)
    mark_counted_long_ago(conn)
    r = gates_of(conn)
    assert not r["negative_values"].passed and r["negative_values"].failed_rows == 1
    assert r["negative_values"].sample[0]["year"] == 2021
    assert counted_batches(conn) == [(2020, 1, True), (2021, 1, False)]  # 2020 was not counted again


def test_a_batch_counted_bad_stays_bad_until_its_rows_change():
    """The next run must not pass because nothing changed since a failed one (the counts are kept, not the verdict)."""
    conn = batched(GOOD + [(586, 156, "X", "A", 2019, None, "999999", "H5", 0, 5.0, 1.0, 1.0)])
    assert not gates_of(conn)["unknown_hs_codes"].passed
    assert not gates_of(conn)["unknown_hs_codes"].passed  # nothing changed: counted from the kept counts, still failing
    conn.execute("DELETE FROM staging.comtrade_flows WHERE year = 2019")  # the batch is gone
    fingerprint(conn)
    assert gates_of(conn)["unknown_hs_codes"].passed
    assert [b[:2] for b in counted_batches(conn)] == [(2020, 1), (2021, 1)]


@pytest.mark.parametrize("change", [
    "DELETE FROM raw.reference_hs WHERE code = '100630'",  # the list the codes are checked against
    "DELETE FROM staging.countries WHERE m49 = 156",  # the country codes
    """UPDATE meta."staging__comtrade_flows__build" SET inputs = 'digest-2'""",  # staging rebuilt by other SQL
])
def test_a_change_of_what_the_rows_are_checked_against_counts_every_batch_again(change):
    conn = batched(GOOD)
    assert all(g.passed for g in gates_of(conn).values())
    mark_counted_long_ago(conn)
    gates_of(conn)
    assert counted_batches(conn) == [(2020, 1, True), (2021, 1, True)]  # nothing changed: nothing counted
    conn.execute(change)
    gates_of(conn)
    assert counted_batches(conn) == [(2020, 1, False), (2021, 1, False)]


def test_staged_rows_outside_every_batch_are_counted_too():
    conn = batched(GOOD)
    gates_of(conn)
    conn.execute("INSERT INTO staging.comtrade_flows VALUES (586, 156, 'X', 'A', 2019, NULL, '100630', 'H5', 0, -5.0, 1.0, 1.0)")
    r = gates_of(conn)  # the batch state was not updated: no batch holds the 2019 row
    assert not r["negative_values"].passed and r["negative_values"].failed_rows == 1
    assert r["negative_values"].statistics["evaluated_rows"] == 3


def jump_counts(conn):
    return conn.execute("SELECT year, evaluated, unexpected, counted_at < '2001-01-01' FROM meta.quality_jump_counts "
                        "ORDER BY year").fetchall()


def test_tenfold_jumps_are_counted_again_for_a_changed_year_and_the_year_after_it():
    """A pair (year − 1, year) belongs to its later year's batch: a revised year changes its own pair and the next
    one, so both batches are counted again; the verdict equals an evaluation of every row."""
    from tradeflow.quality import _evaluate

    years = [(586, 156, "X", "A", y, None, "100630", "H5", 0, v, 1.0, 1.0)
             for y, v in ((2019, 2e6), (2020, 2.1e6), (2021, 2.2e6), (2022, 2.3e6))]
    conn = batched(years)
    assert gates_of(conn)["tenfold_jump"].passed
    assert [j[:3] for j in jump_counts(conn)] == [(2019, 0, 0), (2020, 1, 0), (2021, 1, 0), (2022, 1, 0)]
    conn.execute("UPDATE meta.quality_jump_counts SET counted_at = '2000-01-01'")
    # 2021 revised to 40 m: 2020 → 2021 jumps (×19), 2021 → 2022 falls (×0.06)
    conn.execute("UPDATE staging.comtrade_flows SET value_usd = 4e7 WHERE year = 2021")
    fingerprint(conn)
    r = gates_of(conn)["tenfold_jump"]
    assert not r.passed and r.failed_rows == 2 and [s["year"] for s in r.sample] == [2021, 2022]
    assert [(y, old) for y, _, _, old in jump_counts(conn)] == [(2019, True), (2020, True), (2021, False), (2022, False)]
    full = _evaluate(conn, "jumps")
    assert (r.statistics["evaluated_rows"], [r.failed_rows], r.sample) == (full[0], full[1]["tenfold_jump"],
                                                                             full[2]["tenfold_jump"])
    # the year 2020 goes: its pair and 2021's change (2021 has no year before it any more)
    conn.execute("DELETE FROM staging.comtrade_flows WHERE year = 2020")
    fingerprint(conn)
    r = gates_of(conn)["tenfold_jump"]
    assert r.failed_rows == 1 and [s["year"] for s in r.sample] == [2022]
    assert [j[:3] for j in jump_counts(conn)] == [(2019, 0, 0), (2021, 0, 0), (2022, 1, 1)]


def test_months_are_counted_again_for_a_year_whose_annual_or_monthly_batch_changed():
    from tradeflow.quality import _evaluate

    def month_rows(year, values):
        return [(586, 156, "X", "M", year, m, "100630", "H5", 0, v, 1.0, 1.0) for m, v in enumerate(values, 1)]

    rows = GOOD + month_rows(2021, [10.0] * 12) + month_rows(2020, [7.5] * 12)  # 120 against 100; 90 against 90
    conn = batched(rows)
    r = gates_of(conn)["months_sum_to_annual"]
    assert not r.passed and r.failed_rows == 1 and r.sample[0]["year"] == 2021
    conn.execute("UPDATE meta.quality_month_counts SET counted_at = '2000-01-01'")
    conn.execute("UPDATE staging.comtrade_flows SET value_usd = -10.0 WHERE freq = 'M' AND year = 2021 AND month = 12")
    fingerprint(conn)  # December 2021 revised: the twelve months now sum to 100
    r = gates_of(conn)["months_sum_to_annual"]
    assert r.passed and r.statistics["evaluated_rows"] == 2
    assert conn.execute("SELECT year, counted_at < '2001-01-01' FROM meta.quality_month_counts ORDER BY year"
                        ).fetchall() == [(2020, True), (2021, False)]
    assert (r.statistics["evaluated_rows"], [r.failed_rows]) == (_evaluate(conn, "months")[0],
                                                                _evaluate(conn, "months")[1]["months_sum_to_annual"])


def test_a_duplicate_spanning_a_missing_month_and_month_0_fails_every_time():
    """The duplicate-keys gate takes a missing month and month 0 for one key, the batches do not: such batches
    cannot be counted apart, so every row is read (found by a hostile review: the kept counts passed it)."""
    month = [(586, 156, "X", "M", 2021, None, "100630", "H5", 0, 5.0, 1.0, 1.0)]
    conn = batched(GOOD + month)
    assert gates_of(conn)["duplicate_keys"].passed
    conn.execute("INSERT INTO staging.comtrade_flows VALUES (586, 156, 'X', 'M', 2021, 0, '100630', 'H5', 0, 5.0, 1.0, 1.0)")
    fingerprint(conn)
    for _ in range(2):
        r = gates_of(conn)["duplicate_keys"]
        assert not r.passed and r.failed_rows == 2


def test_staged_rows_outside_every_batch_reach_the_year_gates_too():
    conn = batched(GOOD)
    gates_of(conn)
    conn.execute("INSERT INTO staging.comtrade_flows VALUES (586, 156, 'X', 'A', 2019, NULL, '100630', 'H5', 0, 5e7, 1.0, 1.0)")
    r = gates_of(conn)  # the batch state was not updated: no batch holds the 2019 row, whose jump to 2020 is tenfold
    assert not r["tenfold_jump"].passed and r["tenfold_jump"].failed_rows == 1
    assert r["null_keys"].statistics["evaluated_rows"] == 3


def test_a_forced_rebuild_of_staging_counts_every_batch_again():
    conn = batched(GOOD)
    gates_of(conn)
    mark_counted_long_ago(conn)
    gates_of(conn)
    assert counted_batches(conn) == [(2020, 1, True), (2021, 1, True)]  # an ordinary build: kept
    conn.execute("""UPDATE meta."staging__comtrade_flows__build" SET reason = 'full refresh requested', built_at = now()""")
    gates_of(conn)
    assert counted_batches(conn) == [(2020, 1, False), (2021, 1, False)]  # tradeflow refresh --force: counted again
    mark_counted_long_ago(conn, "year = 2020")
    conn.execute("""UPDATE meta."staging__comtrade_flows__build" SET built_at = '1999-01-01'""")
    gates_of(conn)  # counted after that forced build: kept
    assert counted_batches(conn) == [(2020, 1, True), (2021, 1, False)]
