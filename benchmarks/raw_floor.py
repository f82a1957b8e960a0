"""Benchmark: the engine's floor under a refresh — what reading the archived bodies costs before tradeflow adds anything.

On the generated archive of ``refresh_bench.py`` (same sizes, same cache under ``data/bench/``), in one
process, each step on every core under tradeflow's memory limit (the refresh's own conditions; refresh_bench
runs its bare statement without a limit, so its bare time can be lower), one after the other:

* **inflate** — gunzip every body in Python (zlib, one thread per core): the share of the read that is gzip;
* **parse, 47 fields** — ``read_json`` of every body into the typed records the raw table keeps, counted;
* **parse, 14 fields** — the same with only the fields the normalised table reads (DuckDB skips the others);
* **bare statement** — ``refresh_bench``'s bare DuckDB statement (parse, filter, newest vintage, 11 columns written);
* **raw load** — tradeflow's ``load_raw`` into a fresh warehouse (47 fields and 6 manifest columns written).

The parse steps and the raw load must count every record of the archive (a step that read less fails the run).
Results: ``benchmarks/results/raw_floor_<size>M.json`` and the table ``benchmarks/results/raw_floor.md``.

    .venv/bin/python benchmarks/raw_floor.py --sizes 1 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import refresh_bench  # noqa: E402  (the archive cache and the bare statement are refresh_bench's)

#: The record fields the normalised table reads (the bare statement's and staging's filters and columns).
NEEDED = ("reporterCode", "partnerCode", "flowCode", "freqCode", "refYear", "refMonth", "period", "cmdCode",
          "motCode", "primaryValue", "netWgt", "aggrLevel", "partner2Code", "customsCode")
STEPS = ("inflate", "parse, 47 fields", "parse, 14 fields", "bare statement", "raw load")


def _inflate(paths: list[str], threads: int) -> int:
    def one(path: str) -> int:
        with open(path, "rb") as fh:
            return len(zlib.decompress(fh.read(), 31))  # 31: a gzip member

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(one, paths))


def measure(home: Path, records: int) -> dict[str, dict]:
    """Each step once: wall seconds and what it counted."""
    from tradeflow.archive import RawArchive
    from tradeflow.sources.comtrade_schema import RECORD_FIELDS
    from tradeflow.warehouse.comtrade_load import TYPED_ENVELOPE, load_raw, object_size_for
    from tradeflow.warehouse.db import all_cores, connect, cores

    archive = RawArchive(home / "raw")
    entries = archive.loadable("comtrade.final")
    paths = sorted({str(archive.object_path(e.sha256)) for e in entries})
    size = object_size_for(max(e.bytes for e in entries))
    few = {"count": "BIGINT", "error": "VARCHAR",
           "data": "STRUCT(" + ", ".join(f'"{f}" {RECORD_FIELDS[f]}' for f in NEEDED) + ")[]"}
    parse = "SELECT sum(len(data)) FROM read_json($p, columns = $e, format = 'auto', maximum_object_size = $s)"
    db = home.parent / f"{home.name}-floor.duckdb"
    out: dict[str, dict] = {}

    def timed(step: str, fn) -> None:
        db.unlink(missing_ok=True)
        conn = connect(db)
        try:
            with all_cores(conn):
                t0 = time.perf_counter()
                count = fn(conn)
                out[step] = {"wall_s": round(time.perf_counter() - t0, 2), "count": int(count)}
        finally:
            conn.close()
            db.unlink(missing_ok=True)
        print(f"  {step}: {out[step]['wall_s']} s ({out[step]['count']:,})", flush=True)

    timed("inflate", lambda conn: _inflate(paths, cores()))
    timed("parse, 47 fields", lambda conn: conn.execute(parse, {"p": paths, "e": TYPED_ENVELOPE, "s": size}).fetchone()[0])
    timed("parse, 14 fields", lambda conn: conn.execute(parse, {"p": paths, "e": few, "s": size}).fetchone()[0])

    def bare(conn):
        conn.execute(refresh_bench.BARE_SQL, refresh_bench.bare_args(archive, entries))
        return conn.execute("SELECT count(*) FROM flows").fetchone()[0]

    def raw(conn):
        conn.execute("CREATE SCHEMA raw")
        conn.execute("BEGIN")
        n = load_raw(conn, archive, entries)
        conn.execute("COMMIT")
        return n

    timed("bare statement", bare)
    timed("raw load", raw)
    for step in ("parse, 47 fields", "parse, 14 fields", "raw load"):
        if out[step]["count"] != records:
            raise SystemExit(f"raw_floor: {step} counted {out[step]['count']:,} records, the archive holds {records:,}")
    return out


def table(results: list[dict]) -> str:
    lines = ["| records | " + " | ".join(STEPS) + " | raw load ÷ bare |", "|---" * (len(STEPS) + 2) + "|"]
    for r in sorted(results, key=lambda r: r["size_m"]):
        s = r["steps"]
        lines.append(f"| {r['records'] / 1e6:g} M | " + " | ".join(f"{s[k]['wall_s']:g} s" for k in STEPS)
                     + f" | {s['raw load']['wall_s'] / s['bare statement']['wall_s']:.2f}× |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[0.1, 1], help="millions of records, e.g. 1 5")
    ap.add_argument("--data", type=Path, default=refresh_bench.DATA, help="where generated archives are cached")
    args = ap.parse_args()
    refresh_bench.RESULTS.mkdir(parents=True, exist_ok=True)
    for size_m in args.sizes:
        home, info = refresh_bench.prepare(size_m, args.data)
        print(f"[{size_m:g} M] {info['records']:,} records in {info['bodies']} bodies", flush=True)
        try:
            steps = measure(home, info["records"])
        finally:
            shutil.rmtree(home, ignore_errors=True)
        import duckdb

        result = {"benchmark": "raw_floor", "size_m": size_m, **info, "steps": steps,
                  "python": platform.python_version(), "duckdb": duckdb.__version__,
                  "machine": f"{platform.machine()}, {os.cpu_count()} cpu (shared)",
                  "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        (refresh_bench.RESULTS / f"raw_floor_{size_m:g}M.json").write_text(json.dumps(result, indent=2) + "\n")
    results = [json.loads(p.read_text()) for p in sorted(refresh_bench.RESULTS.glob("raw_floor_*M.json"))]
    md = ("# The engine's floor under a refresh\n\nGenerated by `benchmarks/raw_floor.py` (run by `make bench`): each "
          "step in one process on every core, one after the other, on the archive `refresh_bench.py` refreshes. "
          "What the steps are: the script's docstring.\n\n" + table(results) + "\n")
    (refresh_bench.RESULTS / "raw_floor.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
