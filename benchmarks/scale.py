"""Scale generator: a raw archive in the real format (gzip objects + manifest.jsonl) with N Comtrade records.

Bodies are shaped like ``comtradeapi.un.org/data/v1/get`` responses (the 47 fields, ~1 KB a
record, the template of ``benchmarks/big_body.py``), one body per (reporter, frequency, period)
as a live keyed refresh archives them: many reporters and partners (the M49 codes of the
seed, src/tradeflow/reference/countries.csv, so the country gate passes), years 2000–2024
and their months, exports and imports, thousands of HS6 codes (archived as an H5 reference
list in Comtrade's own format, so the HS gate passes), and revisions (about one body in
twenty is archived again with a later vintage and changed values: staging keeps the newest).

Values are deterministic (seeded) and carry three decimals, as the API serves them.

    .venv/bin/python benchmarks/scale.py HOME --records 1000000
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from tradeflow.archive import ManifestEntry, RawArchive, request_id
from tradeflow.green_channel import config

URL = "https://comtradeapi.un.org/data/v1/get/C/{freq}/HS"
PARTNERS_PER_BODY = 5
HS_PER_BODY = 1000
RECORDS_PER_BODY = PARTNERS_PER_BODY * 2 * HS_PER_BODY  # partners × (X, M) × HS6 = 10,000 (~10 MB of JSON)
HS_CODES = 5000
REVISED_EVERY = 20  # one body in twenty is revised
YEARS = range(2000, 2025)
#: Bumped whenever the generated archive changes: cached archives of another version are regenerated.
VERSION = 4  # 3: manifest rows record gzip_sha256, as RawArchive.store does; 4: the H5 list names the curated codes

_REC = (
    '{"typeCode":"C","freqCode":"%(freq)s","refPeriodId":%(pid)d,"refYear":%(year)d,"refMonth":%(month)d,'
    '"period":"%(period)s","reporterCode":%(rep)d,"reporterISO":"%(rep_iso)s","reporterDesc":"%(rep_name)s",'
    '"flowCode":"%%s","flowDesc":"%%s","partnerCode":%%d,"partnerISO":"%%s","partnerDesc":"%%s",'
    '"partner2Code":0,"partner2ISO":"W00","partner2Desc":"World","classificationCode":"H5",'
    '"classificationSearchCode":"HS","isOriginalClassification":true,"cmdCode":"%%s",'
    '"cmdDesc":"Synthetic commodity %%s, described at the length of a real HS6 heading text in the API",'
    '"aggrLevel":6,"isLeaf":true,"customsCode":"C00","customsDesc":"TOTAL CPC","mosCode":"0","motCode":0,'
    '"motDesc":"TOTAL MOT","qtyUnitCode":8,"qtyUnitAbbr":"kg","qty":%%.3f,"isQtyEstimated":false,'
    '"altQtyUnitCode":8,"altQtyUnitAbbr":"kg","altQty":%%.3f,"isAltQtyEstimated":false,"netWgt":%%.3f,'
    '"isNetWgtEstimated":false,"grossWgt":%%.3f,"isGrossWgtEstimated":false,"cifvalue":null,'
    '"fobvalue":%%.3f,"primaryValue":%%.3f,"legacyEstimationFlag":0,"isReported":true,"isAggregate":false}'
)


def countries() -> list[tuple[int, str, str]]:
    seed = Path(__file__).resolve().parents[1] / "src" / "tradeflow" / "reference" / "countries.csv"
    out, seen = [], set()
    with open(seed, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["is_area"] != "true" and r["iso3"] not in seen:  # one code per ISO3 (India is 356 and 699)
                seen.add(r["iso3"])
                out.append((int(r["m49"]), r["iso3"], r["name"].replace('"', "")))
    return out


def hs_codes() -> list[str]:
    # 5,000 six-digit codes spread over chapters 01–97 (synthetic, listed in the archived H5 list)
    return [f"{1 + i % 97:02d}{(i // 97) % 100:02d}{i % 89 + 10:02d}" for i in range(HS_CODES)]


def _bodies(n_bodies: int):
    """(freq, period, year, month, reporter) for the first n_bodies bodies: annual years first, then months."""
    reps = countries()
    periods = [("A", str(y), y, 52) for y in YEARS] + [("M", f"{y}{m:02d}", y, m) for y in YEARS for m in range(1, 13)]
    out = []
    for freq, period, year, month in periods:
        for rep in reps:
            if len(out) == n_bodies:
                return out
            out.append((freq, period, year, month, rep))
    if len(out) < n_bodies:
        raise SystemExit(f"scale: at most {len(out) * RECORDS_PER_BODY:,} records with this layout")
    return out


def body(freq, period, year, month, rep, version: int, codes: list[str], reps) -> bytes:
    """One keyed response body of RECORDS_PER_BODY records; ``version`` > 0 is a revision (values change)."""
    seed = int(hashlib.sha256(f"{period}/{rep[0]}/{version}".encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    partners = [p for p in reps if p[0] != rep[0]]
    start = seed % len(partners)
    partners = (partners + partners)[start:start + PARTNERS_PER_BODY]
    cstart = (seed // 7) % (len(codes) - HS_PER_BODY)
    window = codes[cstart:cstart + HS_PER_BODY]
    n = RECORDS_PER_BODY
    value = np.round(rng.lognormal(10, 2.5, n), 3)
    weight = np.round(value / rng.uniform(1, 20, n), 3)
    head = _REC % {"freq": freq, "pid": int(f"{year}{month if freq == 'M' else 1:02d}01"), "year": year,
                   "month": month, "period": period, "rep": rep[0], "rep_iso": rep[1], "rep_name": rep[2]}
    parts = []
    k = 0
    for p in partners:
        for flow, desc in (("X", "Export"), ("M", "Import")):
            for code in window:
                v, w = value[k], weight[k]
                parts.append(head % (flow, desc, p[0], p[1], p[2], code, code, w, w, w, w, v, v))
                k += 1
    return ('{"elapsedTime":"0.50 secs","count":%d,"data":[' % n + ",".join(parts) + '],"error":""}').encode()


def _put(archive: RawArchive, raw: bytes) -> tuple[str, str]:
    """Store a body as RawArchive.put_body does (gzip, mtime 0, named by the sha256 of the plain bytes);
    return its sha256 and the sha256 of the object file (the manifest's ``gzip_sha256``).

    Compression level 1 instead of 6 keeps generation quick; readers do not care.
    """
    sha = hashlib.sha256(raw).hexdigest()
    path = archive.object_path(sha)
    if path.exists():
        return sha, hashlib.sha256(path.read_bytes()).hexdigest()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = gzip.compress(raw, compresslevel=1, mtime=0)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return sha, hashlib.sha256(data).hexdigest()


def generate(home: Path, records: int) -> dict:
    """Write the archive under ``home/raw``; returns a summary (records, bodies, bytes)."""
    archive = RawArchive(home / "raw")
    reps, codes = countries(), hs_codes()
    n_bodies = max(1, round(records / RECORDS_PER_BODY))
    revised = max(1, n_bodies // REVISED_EVERY) if n_bodies > 1 else 0
    originals = n_bodies - revised
    plan = _bodies(originals)
    entries: list[ManifestEntry] = []
    total_bytes = 0

    # a whole H5 list names every real code the curated files name (the build checks baskets and GACC events against it)
    curated = sorted({p.ljust(6, "0") for p in config.baskets()["hs_prefix"]} | set(config.gacc_events()["hs6"]))
    ref = json.dumps({"results": [{"id": c, "text": f"{c} - Synthetic commodity {c}", "parent": c[:4]}
                                  for c in dict.fromkeys([*codes, *curated])]})
    ref_params = {"list": "H5"}
    ref_url = "https://comtradeapi.un.org/files/v1/app/reference/H5.json"
    ref_sha, ref_gz = _put(archive, ref.encode())
    entries.append(ManifestEntry(request_id("comtrade.reference", ref_url, ref_params), "comtrade.reference", "live",
                                 ref_url, ref_params, 200, len(ref), ref_sha, "2024-01-01T00:00:00Z",
                                 partition={"list": "H5"}, gzip_sha256=ref_gz))

    def add(freq, period, year, month, rep, version):
        nonlocal total_bytes
        raw = body(freq, period, year, month, rep, version, codes, reps)
        total_bytes += len(raw)
        url = URL.format(freq=freq)
        params = {"reporterCode": str(rep[0]), "period": period, "partnerCode": None, "cmdCode": "AG6",
                  "flowCode": "M,X", "motCode": "0", "customsCode": "C00", "partner2Code": "0"}
        params = {k: v for k, v in params.items() if v is not None}
        vintage = f"{min(year + 1 + version, 2026)}-{3 + version:02d}-15"
        sha, gz_sha = _put(archive, raw)
        entries.append(ManifestEntry(request_id("comtrade.final", url, params), "comtrade.final", "live", url, params,
                                     200, len(raw), sha, f"{vintage}T0{version}:00:00Z",
                                     partition={"reporter": rep[0], "freq": freq, "period": period},
                                     release={"vintage": vintage, "rows": RECORDS_PER_BODY}, gzip_sha256=gz_sha))

    for b in plan:
        add(*b, 0)
    for b in plan[::max(1, len(plan) // revised)][:revised]:
        add(*b, 1)
    archive.root.mkdir(parents=True, exist_ok=True)
    with open(archive.manifest_path, "w", encoding="utf-8") as fh:
        for e in entries:
            fh.write(json.dumps(asdict(e), sort_keys=True, separators=(",", ":")) + "\n")
    return {"version": VERSION, "records": n_bodies * RECORDS_PER_BODY, "bodies": n_bodies, "revised_bodies": revised,
            "json_bytes": total_bytes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("home", type=Path)
    ap.add_argument("--records", type=int, default=100_000)
    args = ap.parse_args()
    print(json.dumps(generate(args.home, args.records)))


if __name__ == "__main__":
    main()
