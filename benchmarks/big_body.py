"""Benchmark: load one keyed UN Comtrade body at the API's record cap (250,000 records, ~250 MB).

Writes a body in the real record shape (the 47 fields of ``data/v1/get``, ~1 KB a record) into
a fresh raw archive, then, in a child process, runs what a live refresh runs on it: the body
check (before a period is committed) and the load into ``raw.comtrade_records`` through the
warehouse writer. Wall time and peak RSS of the child go to ``benchmarks/results/big_body.json``.

    .venv/bin/python benchmarks/big_body.py [--records 250000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "big_body.json"

#: One record as ``comtradeapi.un.org/data/v1/get`` serves it (field order and types of the
#: real body in shared/data/api_samples/comtrade/comtrade_data_v1_get_C_A_HS_chn_2010_arg_deu.json).
TEMPLATE = {
    "typeCode": "C", "freqCode": "A", "refPeriodId": 20210101, "refYear": 2021, "refMonth": 52, "period": "2021",
    "reporterCode": 156, "reporterISO": "CHN", "reporterDesc": "China", "flowCode": "X", "flowDesc": "Export",
    "partnerCode": 0, "partnerISO": "W00", "partnerDesc": "World", "partner2Code": 0, "partner2ISO": "W00",
    "partner2Desc": "World", "classificationCode": "H5", "classificationSearchCode": "HS",
    "isOriginalClassification": True, "cmdCode": "010121",
    "cmdDesc": "Horses; live, pure-bred breeding animals of the kind sold under this subheading, as described",
    "aggrLevel": 6, "isLeaf": True, "customsCode": "C00", "customsDesc": "TOTAL CPC", "mosCode": "0", "motCode": 0,
    "motDesc": "TOTAL MOT", "qtyUnitCode": 8, "qtyUnitAbbr": "kg", "qty": 12345.0, "isQtyEstimated": False,
    "altQtyUnitCode": 8, "altQtyUnitAbbr": "kg", "altQty": 12345.0, "isAltQtyEstimated": False, "netWgt": 12345.0,
    "isNetWgtEstimated": False, "grossWgt": 13000.0, "isGrossWgtEstimated": False, "cifvalue": None,
    "fobvalue": 6804128.143, "primaryValue": 6804128.143, "legacyEstimationFlag": 0, "isReported": True,
    "isAggregate": False,
}


def keyed_body(n: int) -> bytes:
    """A ``data/v1/get`` body of ``n`` distinct records (partner × flow × HS6), as the API writes it."""
    parts = []
    for i in range(n):
        partner, rest = divmod(i, 2 * 5000)
        flow, code = divmod(rest, 5000)
        rec = dict(TEMPLATE, partnerCode=4 + partner, partnerISO=f"P{partner:02d}", partnerDesc=f"Partner {partner}",
                   flowCode="XM"[flow], flowDesc=("Export", "Import")[flow], cmdCode=f"{10000 + code:06d}",
                   primaryValue=1000.0 + i, fobvalue=1000.0 + i, netWgt=float(i), qty=float(i))
        parts.append(json.dumps(rec, separators=(",", ":")))
    return ('{"elapsedTime":"12.34 secs","count":%d,"data":[' % n + ",".join(parts) + '],"error":""}').encode()


def _child(home: Path, step: str) -> None:
    """One step as a refresh runs it — the body check, or the load through the warehouse writer; print JSON."""
    from tradeflow.archive import RawArchive
    from tradeflow.warehouse import Warehouse
    from tradeflow.warehouse.comtrade_load import check_entries, load_raw
    from tradeflow.warehouse.db import transaction

    archive = RawArchive(home / "raw")
    entries = archive.loadable("comtrade.final")
    t0 = time.perf_counter()
    out: dict = {}
    if step == "check":
        out["problems"] = [m for _, m in check_entries(archive, entries)]
    else:
        with Warehouse(home / "tradeflow.duckdb").writer() as conn, transaction(conn):
            out["rows"] = load_raw(conn, archive, entries)
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB
    print(json.dumps(out))


def _run(home: Path, step: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", str(home), "--step", step], capture_output=True, text=True)
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        sys.exit(f"big_body: the {step} failed: {err[-1] if err else proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=250_000)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--step", choices=("check", "load"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(args.child, args.step)

    from tradeflow.archive import RawArchive

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        body = keyed_body(args.records)
        RawArchive(home / "raw").store(dataset="comtrade.final", source="live",
                                       url="https://comtradeapi.un.org/data/v1/get/C/A/HS",
                                       params={"reporterCode": "156", "period": "2021"}, status=200, body=body,
                                       partition={"reporter": "156", "freq": "A", "period": "2021"},
                                       release={"vintage": "2024-06-30"})
        size = len(body)
        del body
        start = time.perf_counter()
        check = _run(home, "check")
        load = _run(home, "load")
        wall = time.perf_counter() - start
    if check["problems"] or load["rows"] != args.records:
        sys.exit(f"big_body: expected {args.records} rows and no problems, got {check} {load}")
    result = {
        "benchmark": "big_body", "records": args.records, "body_bytes": size,
        "check": {"what": "check_entries: envelope, count vs data, required fields (run before a period is committed)",
                  "seconds": check["seconds"], "peak_rss_mb": check["peak_rss_mb"]},
        "load": {"what": "load_raw into raw.comtrade_records through the warehouse writer (typed STRUCT read)",
                 "seconds": load["seconds"], "peak_rss_mb": load["peak_rss_mb"], "rows": load["rows"]},
        "wall_s": round(wall, 2), "python": platform.python_version(), "duckdb": __import__("duckdb").__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cpu",
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.records:,} records, {size / 1e6:.0f} MB body: check {check['seconds']} s "
          f"(peak RSS {check['peak_rss_mb']:.0f} MB), load {load['seconds']} s (peak RSS {load['peak_rss_mb']:.0f} MB), "
          f"wall {wall:.1f} s → {RESULTS}")


if __name__ == "__main__":
    main()
