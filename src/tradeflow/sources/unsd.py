"""UN Statistics Division HS2022 ↔ HS2017 correspondence tables (conversion and correlation).

Published as an Excel workbook at unstats.un.org (override with TRADEFLOW_HS_CONCORDANCE_URL);
archived like any raw response and read with openpyxl. The conversion sheet maps each HS2022
code to one HS2017 code; the correlation sheet lists every pair with its relationship
(1:1, n:1, 1:n, n:n) and is used to flag ambiguous codes.
"""

from __future__ import annotations

import io
import os

import pandas as pd

from tradeflow.archive import ManifestEntry, RawArchive
from tradeflow.errors import ParseError
from tradeflow.sources.http import HttpClient

DATASET = "unsd.hs_concordance"
DEFAULT_URL = "https://unstats.un.org/unsd/classifications/Econ/tables/HS2022toHS2017ConversionAndCorrelationTables.xlsx"


def fetch_concordance(archive: RawArchive, http: HttpClient | None = None) -> ManifestEntry:
    url = os.environ.get("TRADEFLOW_HS_CONCORDANCE_URL", DEFAULT_URL)
    http = http or HttpClient()
    resp = http.get(url)
    entry = archive.store(dataset=DATASET, source="live", url=url, params={}, status=resp.status, body=resp.body)
    try:
        read_workbook(resp.body, where=url)
    except ParseError as exc:
        archive.mark_failed(entry, str(exc))
        raise
    return entry


def read_workbook(body: bytes, where: str = "workbook") -> pd.DataFrame:
    """(hs2022, hs2017, relationship) pairs: correlation rows, falling back to conversion rows."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise ParseError(f"{where}: not a readable Excel workbook ({type(exc).__name__})") from None
    pairs, conversion = [], {}
    for ws in wb.worksheets:
        rows = ws.iter_rows(values_only=True)
        header, cols = None, {}
        for row in rows:
            cells = [str(c).strip().lower() if c is not None else "" for c in row]
            if header is None:
                c22 = [i for i, c in enumerate(cells) if "2022" in c]
                c17 = [i for i, c in enumerate(cells) if "2017" in c]
                if c22 and c17:
                    header = cells
                    rel = [i for i, c in enumerate(cells) if "relation" in c]
                    cols = {"hs2022": c22[0], "hs2017": c17[0], "rel": rel[0] if rel else None}
                continue
            a, b = _code(row[cols["hs2022"]]), _code(row[cols["hs2017"]])
            if not (a and b):
                continue
            if cols["rel"] is not None:
                pairs.append((a, b, str(row[cols["rel"]] or "").strip()))
            else:
                conversion[a] = b
    if not pairs and not conversion:
        raise ParseError(f"{where}: no sheet with HS 2022 and HS 2017 code columns")
    out = pd.DataFrame(pairs, columns=["hs2022", "hs2017", "relationship"]).drop_duplicates()
    conv = pd.DataFrame(sorted(conversion.items()), columns=["hs2022", "hs2017_conversion"])
    return conv.merge(out, on="hs2022", how="outer") if not conv.empty else out.assign(hs2017_conversion=None)


def _code(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip().replace(".", "")
    if text.isdigit() and len(text) in (5, 6):
        return text.zfill(6)
    return None
