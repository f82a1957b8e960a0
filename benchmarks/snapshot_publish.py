"""Benchmark: publish the snapshot by file copy (what tradeflow does) or by ATTACH … COPY FROM DATABASE.

    .venv/bin/python benchmarks/snapshot_publish.py WAREHOUSE.duckdb

Both are timed on the same checkpointed warehouse (each three times, best kept); results go to
``benchmarks/results/snapshot_publish.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

RESULTS = Path(__file__).resolve().parent / "results" / "snapshot_publish.json"


def by_copy(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)
    with open(dst, "rb+") as fh:
        os.fsync(fh.fileno())


def by_copy_from_database(src: Path, dst: Path) -> None:
    conn = duckdb.connect()
    conn.execute(f"ATTACH '{src}' AS w (READ_ONLY)")
    conn.execute(f"ATTACH '{dst}' AS s")
    conn.execute("COPY FROM DATABASE w TO s")
    conn.execute("DETACH s")
    conn.close()
    with open(dst, "rb+") as fh:
        os.fsync(fh.fileno())


def main() -> None:
    src = Path(sys.argv[1])
    out = {"warehouse_bytes": src.stat().st_size}
    with tempfile.TemporaryDirectory(dir=src.parent) as tmp:
        for name, fn in (("file_copy", by_copy), ("copy_from_database", by_copy_from_database)):
            best = None
            for i in range(3):
                dst = Path(tmp) / f"{name}{i}.duckdb"
                t0 = time.perf_counter()
                fn(src, dst)
                dt = time.perf_counter() - t0
                best = dt if best is None else min(best, dt)
                out[f"{name}_bytes"] = dst.stat().st_size
                dst.unlink()
            out[f"{name}_s"] = round(best, 3)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
