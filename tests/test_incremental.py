"""Staging and marts incremental by batch (issue 14): sql/macros/batch_incremental.sql.

A refresh after one period's revision recomputes only that (reporter, frequency, period) batch of
staging.comtrade_flows, staging.vintage_totals and marts.revisions, and every staging and marts table then equals, byte for
byte, a forced full rebuild of the same archive.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.test_refresh import marts_digest

BATCHED = ("staging.comtrade_flows", "staging.vintage_totals", "marts.revisions")


def schema_digest(db: Path, schema: str) -> dict[str, str]:
    """Every table of ``schema``: its full contents, sorted, hashed (as marts_digest)."""
    conn = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? ORDER BY 1", [schema]).fetchall()]
        return {t: hashlib.sha256(repr(conn.execute(f"SELECT * FROM {schema}.{t} ORDER BY ALL").fetchall()).encode()).hexdigest()
                for t in tables}
    finally:
        conn.close()


def digests(home: Path) -> dict:
    db = home / "tradeflow.duckdb"
    return {"staging": schema_digest(db, "staging"), "marts": marts_digest(db)}


def last_build(home: Path, model: str) -> dict:
    """What batch_incremental recorded for ``model`` (schema.table) at its last build."""
    schema, _, table = model.partition(".")
    conn = duckdb.connect(str(home / "tradeflow.duckdb"), read_only=True)
    try:
        mode, reason, changed = conn.execute(
            f'SELECT mode, reason, changed_batches FROM meta."{schema}__{table}__build"').fetchone()
        batches = conn.execute(f'SELECT count(*), sum(n) FROM meta."{schema}__{table}__batches"').fetchone()
    finally:
        conn.close()
    return {"mode": mode, "reason": reason, "changed": changed, "batches": batches[0], "rows": batches[1]}


def comtrade_entries(home: Path, freq: str = "A"):
    """The loadable reporter-query Comtrade bodies of the archive, grouped by (reporter, freq, period)."""
    from tradeflow.archive import RawArchive

    archive = RawArchive(home / "raw")
    groups: dict[tuple, list] = {}
    for e in archive.loadable():
        p = e.partition
        if e.dataset.startswith("comtrade.") and "period" in p and p.get("reporter") not in (None, "all") \
                and p.get("freq") == freq:
            groups.setdefault((int(p["reporter"]), p["freq"], str(p["period"])), []).append(e)
    return archive, groups


def revise_one_period(home: Path, change=lambda r: {**r, "primaryValue": round((r.get("primaryValue") or 0) * 1.1 + 7, 2)}):
    """Archive one more vintage of one annual period of one reporter (every record changed by ``change``)."""
    archive, groups = comtrade_entries(home)
    key = sorted(groups)[0]
    newest = max(groups[key], key=lambda e: (e.release.get("vintage") or e.fetched_at[:10], e.fetched_at))
    body = json.loads(archive.read_body(newest.sha256, newest))
    body["data"] = [change(r) for r in body["data"]]
    assert body["data"], "the revised body holds records"
    archive.store(dataset=newest.dataset, source=newest.source, url=newest.url, params=newest.params, status=200,
                  body=json.dumps(body).encode(), partition=newest.partition,
                  release={**newest.release, "vintage": "2030-01-01"}, fetched_at="2030-01-01T00:00:00Z")
    return key


def refresh(force: bool = False):
    from pipelines.refresh import run_refresh

    outcome = run_refresh("archive", force=force)
    assert outcome.success, outcome.error
    return outcome


def forced_copy(home: Path, tmp_path: Path, monkeypatch) -> dict:
    """The digests of a forced full rebuild of ``home``'s archive, in a copy of ``home``."""
    other = tmp_path / "forced-home"
    shutil.copytree(home, other)
    monkeypatch.setenv("TRADEFLOW_HOME", str(other))
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(tmp_path / "forced-reports"))
    try:
        refresh(force=True)
        for model in BATCHED:
            assert last_build(other, model)["mode"] == "full"
            assert last_build(other, model)["reason"] == "full refresh requested"
        return digests(other)
    finally:
        monkeypatch.setenv("TRADEFLOW_HOME", str(home))
        monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(tmp_path / "reports"))


def test_one_revision_rebuilds_one_batch_equal_to_full_rebuild(sample_copy, tmp_path, monkeypatch):
    home = sample_copy
    refresh()  # the archive as the sample run left it (a first build of this home: state in place)
    before = digests(home)
    batches = last_build(home, "staging.comtrade_flows")["batches"]
    assert batches > 10
    revise_one_period(home)
    refresh()
    for model in BATCHED:
        b = last_build(home, model)
        assert (b["mode"], b["changed"]) == ("incremental", 1), (model, b)
    assert last_build(home, "staging.comtrade_flows")["batches"] == batches  # same batches, one of them revised
    after = digests(home)
    # the revision did change the data (so the comparison below is not vacuous) ...
    assert after["staging"]["comtrade_flows"] != before["staging"]["comtrade_flows"]
    assert after["marts"]["revisions"] != before["marts"]["revisions"]
    assert after["staging"]["vintage_totals"] != before["staging"]["vintage_totals"]
    assert after["marts"]["period_changes"] != before["marts"]["period_changes"]
    assert after["marts"]["world_exports"] != before["marts"]["world_exports"]
    # ... and every staging and marts table is what a full rebuild makes of the same archive
    assert after == forced_copy(home, tmp_path, monkeypatch)


def test_gone_batch_loses_its_rows(sample_copy, tmp_path):
    """A batch gone from raw (its bodies no longer loadable): its rows leave the incrementally kept tables."""
    from tradeflow.warehouse import dbt_project

    home = sample_copy
    db = home / "tradeflow.duckdb"
    key = sorted(comtrade_entries(home)[1])[-1]
    where = "reporter_code = ? AND freq = ? AND year = ?"
    conn = duckdb.connect(str(db))
    assert conn.execute(f"SELECT count(*) FROM staging.comtrade_flows WHERE {where}", [key[0], key[1], int(key[2])]).fetchone()[0] > 0
    # as the raw load leaves raw.comtrade_records when the period's bodies are withdrawn from the loadable set
    # (a refresh from the archive refuses an archive offering fewer requests than the last publish)
    conn.execute("DELETE FROM raw.comtrade_records WHERE reporterCode = ? AND freqCode = ? AND period = ?", list(key))
    conn.close()
    forced = tmp_path / "forced-home"
    shutil.copytree(home, forced)
    assert dbt_project.build(home).success
    b = last_build(home, "staging.comtrade_flows")
    assert (b["mode"], b["changed"]) == ("incremental", 1), b
    conn = duckdb.connect(str(db), read_only=True)
    assert conn.execute(f"SELECT count(*) FROM staging.comtrade_flows WHERE {where}", [key[0], key[1], int(key[2])]).fetchone()[0] == 0
    conn.close()
    assert dbt_project.build(forced, full_refresh=True).success
    assert last_build(forced, "staging.comtrade_flows")["mode"] == "full"
    assert digests(home) == digests(forced)


def test_change_of_a_non_raw_input_rebuilds_in_full(sample_copy, tmp_path, monkeypatch):
    """staging.countries (read by marts.revisions) changes: revisions is rebuilt whole, comtrade_flows
    (which does not read it) keeps every batch."""
    import tradeflow.reference as reference

    home = sample_copy
    refresh()
    seeds = tmp_path / "reference"
    shutil.copytree(reference.seed_path("countries.csv").parent, seeds)
    csv = (seeds / "countries.csv").read_text(encoding="utf-8").splitlines()
    header = csv[0].split(",")
    row = next(i for i, line in enumerate(csv) if line.split(",")[header.index("iso3")] == "PAK")
    cells = csv[row].split(",")
    cells[header.index("name")] = "Pakistan (renamed in a test)"
    csv[row] = ",".join(cells)
    (seeds / "countries.csv").write_text("\n".join(csv) + "\n", encoding="utf-8")
    monkeypatch.setattr(reference, "seed_path", lambda name: seeds / name)
    refresh()
    assert last_build(home, "marts.revisions")["mode"] == "full"
    assert last_build(home, "marts.revisions")["reason"] == "model SQL or a non-batch input changed"
    b = last_build(home, "staging.comtrade_flows")
    assert (b["mode"], b["changed"]) == ("incremental", 0), b


def test_change_of_the_model_sql_rebuilds_in_full(sample_copy):
    """The stored inputs digest (compiled SQL, settings, other inputs) differs: a full build."""
    home = sample_copy
    refresh()
    conn = duckdb.connect(str(home / "tradeflow.duckdb"))
    conn.execute("UPDATE meta.staging__comtrade_flows__build SET inputs = 'the digest of other SQL'")
    conn.close()
    revise_one_period(home)  # something to build
    refresh()
    b = last_build(home, "staging.comtrade_flows")
    assert (b["mode"], b["reason"]) == ("full", "model SQL or a non-batch input changed"), b
    assert b["changed"] == b["batches"]
    assert last_build(home, "marts.revisions")["mode"] == "incremental"


def test_a_failed_build_keeps_the_table_and_its_fingerprints(sample_copy):
    """The INSERT of the rebuilt batch fails after its DELETE: the model's transaction rolls back, the
    old rows and fingerprints stay, and the next build rebuilds the batch."""
    home = sample_copy
    refresh()
    db = home / "tradeflow.duckdb"
    conn = duckdb.connect(str(db))
    # a column without NULLs made NOT NULL; the revision brings NULLs in it: the INSERT fails
    column, field = next((c, f) for c, f in (("quantity", "qty"), ("net_weight_kg", "netWgt"), ("cif_usd", "cifvalue"))
                         if conn.execute(f"SELECT count(*) FROM staging.comtrade_flows WHERE {c} IS NULL").fetchone()[0] == 0)
    conn.execute(f"ALTER TABLE staging.comtrade_flows ALTER COLUMN {column} SET NOT NULL")
    conn.close()
    old = digests(home)["staging"]["comtrade_flows"]
    old_state = last_build(home, "staging.comtrade_flows")
    revise_one_period(home, change=lambda r: {**r, field: None})
    from pipelines.refresh import run_refresh

    outcome = run_refresh("archive")
    assert not outcome.success
    assert "comtrade_flows" in str(outcome.error)
    assert digests(home)["staging"]["comtrade_flows"] == old
    assert last_build(home, "staging.comtrade_flows") == old_state
    conn = duckdb.connect(str(db))
    conn.execute(f"ALTER TABLE staging.comtrade_flows ALTER COLUMN {column} DROP NOT NULL")
    conn.close()
    refresh()
    b = last_build(home, "staging.comtrade_flows")
    assert (b["mode"], b["changed"]) == ("incremental", 1), b
    assert digests(home)["staging"]["comtrade_flows"] != old


def test_marts_sums_do_not_depend_on_the_row_order_of_staging(sample_copy):
    """An incremental build appends the rebuilt batches at the end of staging.comtrade_flows: the marts that
    add up its money straight from it (world_exports, hs_concordance) must not depend on its row order.

    Three reporter codes unknown to staging.countries carry the same ISO3 (PAK, in a year without trade), so
    world_exports adds their rows in one group across three batches: 1e17 + 1 - 1e17 in DOUBLE is 0 in one order and 1 in another."""
    from tradeflow.warehouse import dbt_project

    home = sample_copy
    db = home / "tradeflow.duckdb"
    conn = duckdb.connect(str(db))
    for code, value in ((990, 1e17), (991, 1.0), (992, -1e17)):
        conn.execute("INSERT INTO staging.comtrade_flows SELECT * REPLACE (? AS reporter_code, 'PAK' AS reporter_iso, "
                     "0 AS partner_code, 'X' AS flow, 'A' AS freq, 1990 AS year, NULL AS month, '010121' AS hs6, "
                     "'H5' AS classification, 0 AS mot_code, ? AS value_usd) FROM staging.comtrade_flows LIMIT 1",
                     [code, value])
    conn.close()
    digests, values = [], []
    for order in ("reporter_code = 992", "reporter_code = 991"):  # the PAK 1990 rows: 990, 991, 992 | 990, 992, 991
        conn = duckdb.connect(str(db))
        conn.execute(f"CREATE OR REPLACE TABLE staging.comtrade_flows AS SELECT * FROM staging.comtrade_flows "
                     f"ORDER BY reporter_code >= 990, {order}, reporter_code, partner_code, flow, freq, year, month, hs6, mot_code")
        conn.close()
        result = dbt_project.build(home, ["--select", "hs_concordance", "world_exports"])
        assert result.success, result.error
        assert {n.unique_id for n in result.nodes if n.resource_type == "model"} == {
            "model.tradeflow.hs_concordance", "model.tradeflow.world_exports"}
        d = marts_digest(db)
        digests.append((d["hs_concordance"], d["world_exports"]))
        conn = duckdb.connect(str(db), read_only=True)
        values.append(conn.execute("SELECT value_usd FROM marts.world_exports WHERE reporter = 'PAK' AND year = 1990").fetchall())
        conn.close()
    assert values == [[(1.0,)], [(1.0,)]]  # the exact sum, in either order
    assert digests[0] == digests[1]


def test_another_loader_of_the_raw_records_rebuilds_in_full(sample_copy, monkeypatch):
    """A batch is fingerprinted by the bodies and manifest entries of its raw rows (not every column):
    what else a raw row depends on, the loader (meta.comtrade_load's fingerprint: its SQL and record
    types) and DuckDB, is in the inputs digest, so rows parsed by another loader rebuild everything."""
    from tradeflow.warehouse import comtrade_load

    home = sample_copy
    refresh()
    # a new loader (another SQL or record types): the raw load reads every body again, the same bodies
    monkeypatch.setattr(comtrade_load, "_fingerprint", lambda: "another loader")
    refresh()
    for model in BATCHED:
        b = last_build(home, model)
        assert (b["mode"], b["reason"]) == ("full", "model SQL or a non-batch input changed"), (model, b)


def test_every_batch_incremental_models_grain_test_checks_the_keys_its_builds_wrote():
    """The grain test of a batch_incremental model checks the rows of its unchecked keys only; its batch_key must
    name the model's batch_key_table, and the model's grain must hold it (so a repeated key lies in one batch)."""
    from tradeflow.warehouse import dbt_project

    dbt_project.prepare_manifest()
    nodes = json.loads(dbt_project.manifest_path().read_text())["nodes"]
    batched = {uid: n for uid, n in nodes.items() if n["config"].get("materialized") == "batch_incremental"}
    assert {f"{n['schema']}.{n['name']}" for n in batched.values()} == set(BATCHED)
    for uid, n in batched.items():
        [test] = [t for t in nodes.values() if t["resource_type"] == "test" and t.get("attached_node") == uid
                  and t["test_metadata"]["name"] == "grain"]
        key = test["test_metadata"]["kwargs"]["batch_key"]
        assert key == n["config"]["batch_key_table"], n["name"]
        assert set(key) <= set(n["meta"]["grain"]), n["name"]


def test_a_repeated_key_fails_every_build_until_it_is_gone(sample_copy):
    """The grain test checks only keys written since it last passed; a key that failed is checked again by the
    next build although nothing changed (a failed run must not pass the next time by skipping its rows)."""
    from tradeflow.warehouse import dbt_project

    home = sample_copy
    db = home / "tradeflow.duckdb"
    unchecked = 'meta."staging__comtrade_flows__unchecked"'
    conn = duckdb.connect(str(db))
    assert conn.execute(f"SELECT count(*) FROM {unchecked}").fetchone() == (0,)  # the sample run's build passed
    # a fan-out in one batch, as a faulty build would leave it (its keys unchecked)
    row = conn.execute("SELECT * FROM staging.comtrade_flows WHERE freq = 'A' LIMIT 1").fetchone()
    cols = [d[0] for d in conn.description]
    conn.execute(f"INSERT INTO staging.comtrade_flows VALUES ({', '.join('?' * len(row))})", list(row))
    rec = dict(zip(cols, row))
    conn.execute(f"INSERT INTO {unchecked} VALUES (false, ?, ?, ?, NULL)", [rec["reporter_code"], rec["freq"], rec["year"]])
    conn.close()

    def grain_test():
        res = dbt_project.build(home, ["--select", "comtrade_flows"])
        [t] = [n for n in res.nodes if n.resource_type == "test" and ".grain." in n.unique_id]
        return t.status

    assert grain_test() == "fail"
    assert grain_test() == "fail"  # nothing changed: the key is checked again, and fails again
    conn = duckdb.connect(str(db))
    conn.execute("DELETE FROM staging.comtrade_flows WHERE rowid = (SELECT max(rowid) FROM staging.comtrade_flows)")
    conn.close()
    assert grain_test() == "pass"
    conn = duckdb.connect(str(db), read_only=True)
    assert conn.execute(f"SELECT count(*) FROM {unchecked}").fetchone() == (0,)  # checked: nothing left to check
    conn.close()
