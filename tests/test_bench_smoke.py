"""Smoke run of the refresh benchmark at its smallest size: the generator writes a real-format archive and
tradeflow, bare DuckDB and naive pandas give identical output (rows, keys, exact sums). Not a timed test."""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))


@pytest.mark.slow
def test_smallest_size_gives_identical_output_everywhere(tmp_path):
    import refresh_bench

    r = refresh_bench.bench(0.02, tmp_path, pandas_max=1, incremental=True)
    assert r["records"] == 20_000 and r["bodies"] == 2 and r["revised_bodies"] == 1
    runs = r["runs"]
    assert set(runs) == {"duckdb", "pandas", "tradeflow", "tradeflow_noop", "tradeflow_one_revision"}
    summaries = {k: tuple(v["summary"]) for k, v in runs.items() if k in ("duckdb", "pandas", "tradeflow")}
    assert len(set(summaries.values())) == 1
    # the revised body replaced the original one: 10,000 staged rows, not 20,000
    assert r["identical_output"]["rows"] == 10_000 and r["identical_output"]["keys"] == 10_000
    assert set(runs["tradeflow"]["stages"]) >= {"raw load", "quality gates (inside dbt)", "dbt build (staging, gates, marts, tests)",
                                                "snapshot publish"}
    assert all(run["peak_rss_mb"] > 0 and run["wall_s"] > 0 for run in runs.values())
    json.dumps(r)  # the result is what benchmarks/results/ stores


def test_generator_writes_the_real_archive_format(tmp_path):
    from scale import RECORDS_PER_BODY, generate

    from tradeflow.archive import RawArchive
    from tradeflow.sources.comtrade_schema import REQUIRED_FIELDS

    info = generate(tmp_path, 30_000)
    archive = RawArchive(tmp_path / "raw")
    entries = archive.loadable("comtrade.final")
    assert info["bodies"] == len(entries) == 3 and info["revised_bodies"] == 1
    doc = json.loads(archive.read_body(entries[0].sha256))
    assert doc["count"] == len(doc["data"]) == RECORDS_PER_BODY and doc["error"] == ""
    assert set(REQUIRED_FIELDS) <= set(doc["data"][0])
    from tradeflow.warehouse.comtrade_load import check_entries

    assert check_entries(archive, entries) == []


def test_engine_floor_steps_count_every_record(tmp_path):
    """benchmarks/raw_floor.py: the parse steps and the raw load read every record of the archive; the bare
    statement keeps the newest vintage only (one of the two bodies is a revision of the other)."""
    from raw_floor import STEPS, measure
    from scale import generate

    info = generate(tmp_path / "a", 20_000)
    steps = measure(tmp_path / "a", info["records"])
    assert list(steps) == list(STEPS)
    assert [steps[s]["count"] for s in ("parse, 47 fields", "parse, 14 fields", "raw load")] == [20_000] * 3
    assert steps["bare statement"]["count"] == 10_000
    assert steps["inflate"]["count"] > 20_000 * 500  # bytes of JSON: ~1 KB a record
    assert all(s["wall_s"] >= 0 for s in steps.values())
    with pytest.raises(SystemExit, match="counted 20,000 records, the archive holds 20,001"):
        measure(tmp_path / "a", 20_001)
