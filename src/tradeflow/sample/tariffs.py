"""Synthetic WITS/TRAINS tariff responses for the sample products, in the real SDMX-JSON shape.

MFN applied rates are typed per HS chapter to be plausible, not real: China's MFN averages
near 7.5 % (higher on farm goods), Pakistan's tiered 3–20 % plus higher rates on vehicles.
They are marked sample like every synthetic row. The body reproduces TRAINS' quirk of writing
the product index third in the series key.
"""

from __future__ import annotations

import hashlib
import json

from tradeflow import archive as archive_mod
from tradeflow.archive import ManifestEntry, RawArchive, request_id
from tradeflow.sample.generator import products, supersede_sample

DATASET = "wits.trains"
SAMPLE_BASE = "sample://wits"

#: MFN applied rate (%) by importer and HS chapter; default per importer under key "".
MFN_BY_CHAPTER = {
    "156": {"": 6.5, "03": 7.0, "04": 10.0, "07": 13.0, "08": 15.0, "09": 15.0, "10": 65.0, "12": 10.0, "16": 12.0,
            "17": 50.0, "22": 40.0, "26": 0.0, "41": 5.0, "52": 5.0, "61": 8.0, "62": 8.0, "63": 10.0, "74": 2.0},
    "586": {"": 11.0, "07": 20.0, "08": 20.0, "09": 16.0, "12": 3.0, "29": 3.0, "31": 0.0, "39": 11.0, "54": 11.0,
            "55": 11.0, "72": 16.0, "84": 3.0, "85": 16.0, "87": 35.0, "40": 16.0, "30": 11.0},
}


def mfn_rate(importer: str, hs6: str) -> float:
    table = MFN_BY_CHAPTER[importer]
    return table.get(hs6[:2], table[""])


def sample_body(importer: str, partner: str, year: int, rates: dict[str, float], tariff_type: str) -> bytes:
    codes = sorted(rates)
    values = sorted({f"{rates[c]:g}" for c in codes}, key=float)
    nomen = "H6" if year >= 2022 else "H5"
    doc = {
        "header": {"id": "DF_WITS_Tariff_TRAINS", "prepared": f"{year + 1}-09-30T00:00:00", "test": False,
                   "sender": {"id": "WBG_WITS", "name": "World Bank Group - WITS (tradeflow SAMPLE, synthetic)"}},
        "dataSets": [{"action": "Information", "attributes": [0], "series": {
            f"0:0:{i}:0:0": {"attributes": [], "annotations": [], "observations": {"0": [
                rates[c], 0, None, 0, values.index(f"{rates[c]:g}"), values.index(f"{rates[c]:g}"),
                values.index(f"{rates[c]:g}"), 0, 1 if tariff_type == "PRF" else 0, 0 if tariff_type == "PRF" else 1, 0, 0]}}
            for i, c in enumerate(codes)}}],
        "structure": {
            "name": "WITS - UNCTAD TRAINS Tariff Data",
            "dimensions": {"dataset": [], "series": [
                {"id": "FREQ", "name": "Freq", "keyPosition": 0, "role": None, "values": [{"id": "A", "name": "Annual"}]},
                {"id": "REPORTER", "name": "Reporter_ISO_N", "keyPosition": 1, "role": None, "values": [{"id": importer, "name": importer}]},
                {"id": "PARTNER", "name": "Partner", "keyPosition": 2, "role": None, "values": [{"id": partner, "name": partner}]},
                {"id": "PRODUCTCODE", "name": "ProductCode", "keyPosition": 3, "role": None, "values": [{"id": c, "name": c} for c in codes]},
                {"id": "DATATYPE", "name": "DataType", "keyPosition": 4, "role": None, "values": [{"id": "Reported", "name": "Reported Tariff (Not estimated)"}]},
            ], "observation": [{"id": "TIME_PERIOD", "name": "Year", "keyPosition": 5, "role": "time",
                                "values": [{"id": str(year), "name": str(year)}]}]},
            "attributes": {"dataset": [{"id": "DATASOURCE", "name": "DataSource", "role": None, "values": [{"id": "TRN", "name": "UNCTAD TRAINS"}]}],
                           "series": [], "observation": [
                {"id": "NOMENCODE", "values": [{"id": nomen, "name": nomen}]},
                {"id": "EXCLUDEDFROM", "values": []},
                {"id": "TARIFFTYPE", "values": [{"id": tariff_type, "name": tariff_type}]},
                {"id": "SUM_OF_RATES", "values": [{"id": v, "name": v} for v in values]},
                {"id": "MIN_RATE", "values": [{"id": v, "name": v} for v in values]},
                {"id": "MAX_RATE", "values": [{"id": v, "name": v} for v in values]},
                {"id": "TOTALNOOFLINES", "values": [{"id": "1", "name": "1"}]},
                {"id": "NBR_PREF_LINES", "values": [{"id": "0", "name": "0"}, {"id": "1", "name": "1"}]},
                {"id": "NBR_MFN_LINES", "values": [{"id": "0", "name": "0"}, {"id": "1", "name": "1"}]},
                {"id": "NBR_NA_LINES", "values": [{"id": "0", "name": "0"}]},
                {"id": "OBS_VALUE_MEASURE", "values": [{"id": "SimpleAverage", "name": "SimpleAverage"}]},
            ]},
        },
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def write_sample_tariffs(archive: RawArchive, years: set[int]) -> list[ManifestEntry]:
    """MFN bodies (partner World) for each importer and year; identical bodies are not re-archived.

    A body is dated as if fetched when its release came out (``prepared``, 30 September of the next year), but never
    after the day it is archived: a fetched_at in the future would read as a recent copy for months."""
    stored = archive.loadable(DATASET)
    have = {(e.request_id, e.sha256) for e in stored}
    p = products()
    written = []
    for year in sorted(y for y in years if 2015 <= y <= 2024):
        for importer in ("156", "586"):
            col = "hs2022" if year >= 2022 else "hs2017"
            rates = {c: mfn_rate(importer, c) for c in p[col]}
            body = sample_body(importer, "000", year, rates, "MFN")
            url = f"{SAMPLE_BASE}/API/V1/SDMX/V21/datasource/TRN/reporter/{importer}/partner/000/product/all/year/{year}/datatype/reported"
            params = {"format": "JSON"}
            rid, sha = request_id(DATASET, url, params), hashlib.sha256(body).hexdigest()
            supersede_sample(archive, stored, rid, sha)
            if (rid, sha) in have:
                continue
            written.append(archive.store(dataset=DATASET, source="sample", url=url, params=params, status=200, body=body,
                                         partition={"importer": importer, "partner": "000", "year": year},
                                         fetched_at=min(f"{year + 1}-09-30T00:00:00Z", archive_mod.now_utc())))
    return written
