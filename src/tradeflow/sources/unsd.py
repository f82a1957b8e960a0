"""UN Statistics Division HS correspondence tables (conversion and correlation), one workbook per
pair of HS versions: HS2022 → HS2017 and HS2017 → HS2012.

Published as Excel workbooks at ``unstats.un.org/unsd/classifications/Econ/tables/``
(``HS2022toHS2017ConversionAndCorrelationTables.xlsx``,
``HS2017toHS2012ConversionAndCorrelationTables.xlsx``; base URL ``TRADEFLOW_UNSD_URL``, the
HS2022 workbook alone ``TRADEFLOW_HS_CONCORDANCE_URL``), archived like any raw response and
read with openpyxl. The conversion sheet ("From HS 2022", "To HS 2017") maps each code of the
newer version to one code of the older; the correlation sheet ("HS 2022", "HS 2017",
"Relationship") lists every pair with its relationship (1:1, n:1, 1:n, n:n) and is used to flag
ambiguous codes and to map codes the conversion sheet does not reach.

A live refresh re-fetches a workbook older than a month; a failed fetch only warns (naming the
URL) and the last archived copy is used. With no copy at all, trade reported in that version has no
HS2017 mapping and the build fails on ``marts.trade_flows_hs2017``'s ``hs2017_mapped`` test, naming
the workbook (``sql/macros/hs2017_mapped.sql``).
"""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import pandas as pd

from tradeflow.archive import ManifestEntry, RawArchive
from tradeflow.errors import ParseError, TradeflowError
from tradeflow.settings import DEFAULT_UNSD_URL, Settings
from tradeflow.sources.http import HttpClient

log = logging.getLogger("tradeflow.unsd")

DATASET = "unsd.hs_concordance"
BASE_URL = DEFAULT_UNSD_URL
#: (newer, older) HS versions → workbook name. HS2022 → HS2017 expresses 2022+ trade in HS2017;
#: HS2017 → HS2012 (read backwards) expresses 2012–2016 trade (Comtrade H4) in HS2017.
TABLES = {
    ("HS2022", "HS2017"): "HS2022toHS2017ConversionAndCorrelationTables.xlsx",
    ("HS2017", "HS2012"): "HS2017toHS2012ConversionAndCorrelationTables.xlsx",
}
DEFAULT_URL = f"{BASE_URL}/{TABLES[('HS2022', 'HS2017')]}"
MAX_AGE_DAYS = 30
COLUMNS = ["newer_version", "newer_code", "older_version", "older_code", "relationship", "older_conversion"]


def table_url(newer: str, older: str) -> str:
    """``TRADEFLOW_HS_CONCORDANCE_URL`` for the HS2022 workbook, else ``TRADEFLOW_UNSD_URL``/<workbook> (read now)."""
    settings = Settings.from_env()
    if (newer, older) == ("HS2022", "HS2017") and settings.hs_concordance_url:
        return settings.hs_concordance_url
    return f"{settings.unsd_url}/{TABLES[(newer, older)]}"


def fetch_concordance(archive: RawArchive, http: HttpClient | None = None, newer: str = "HS2022",
                      older: str = "HS2017") -> ManifestEntry:
    """Fetch, archive, then check one workbook; a broken one is marked failed and raised."""
    url = table_url(newer, older)
    http = http or HttpClient(rate_per_second=Settings.from_env().unsd_rate)
    resp = http.get(url)
    entry = archive.store(dataset=DATASET, source="live", url=url, params={}, status=resp.status, body=resp.body,
                          partition={"newer": newer, "older": older})
    try:
        read_workbook(resp.body, where=url, newer=newer, older=older)
    except ParseError as exc:
        archive.mark_failed(entry, str(exc))
        raise
    return entry


def refresh_concordances(archive: RawArchive, http: HttpClient | None = None) -> list[ManifestEntry]:
    """Fetch every workbook not fetched within a month; a failure warns (naming the URL) and keeps the archived copy."""
    cutoff = (datetime.now(UTC) - timedelta(days=MAX_AGE_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stored = {pair: [e for e in archive.loadable(DATASET) if entry_pair(e) == pair] for pair in TABLES}
    fetched = []
    for (newer, older), entries in stored.items():
        if any(e.fetched_at >= cutoff for e in entries):
            continue
        try:
            fetched.append(fetch_concordance(archive, http, newer, older))
        except TradeflowError as exc:
            have = max((e.fetched_at for e in entries), default=None)
            log.warning("UNSD %s→%s correspondence not refreshed from %s (%s); %s", newer, older, table_url(newer, older),
                        exc, f"using the copy archived {have}" if have else f"{older}-less codes of {newer} stay unmapped")
    return fetched


def entry_pair(e: ManifestEntry) -> tuple[str, str]:
    """The (newer, older) versions of an archived workbook (older archives: HS2022 → HS2017)."""
    return e.partition.get("newer", "HS2022"), e.partition.get("older", "HS2017")


def read_workbook(body: bytes, where: str = "workbook", newer: str = "HS2022", older: str = "HS2017") -> pd.DataFrame:
    """Pairs of one workbook: columns :data:`COLUMNS`, correlation rows merged with the conversion target."""
    import openpyxl

    new_year, old_year = newer[-4:], older[-4:]
    try:
        wb = openpyxl.load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise ParseError(f"{where}: not a readable Excel workbook ({type(exc).__name__})") from None
    pairs, conversion = [], {}
    for ws in wb.worksheets:
        header, cols = None, {}
        for row in ws.iter_rows(values_only=True):
            cells = [str(c).strip().lower() if c is not None else "" for c in row]
            if header is None:
                c_new = [i for i, c in enumerate(cells) if new_year in c]
                c_old = [i for i, c in enumerate(cells) if old_year in c]
                if c_new and c_old:
                    header = cells
                    rel = [i for i, c in enumerate(cells) if "relation" in c]
                    cols = {"new": c_new[0], "old": c_old[0], "rel": rel[0] if rel else None}
                continue
            if len(row) <= max(cols["new"], cols["old"]):
                continue
            a, b = _code(row[cols["new"]]), _code(row[cols["old"]])
            if not (a and b):
                continue
            if cols["rel"] is not None:
                pairs.append((a, b, str(row[cols["rel"]] or "").strip()))
            else:
                conversion[a] = b
    if not pairs and not conversion:
        raise ParseError(f"{where}: no sheet with HS {new_year} and HS {old_year} code columns")
    out = pd.DataFrame(pairs, columns=["newer_code", "older_code", "relationship"]).drop_duplicates()
    conv = pd.DataFrame(sorted(conversion.items()), columns=["newer_code", "older_conversion"])
    df = conv.merge(out, on="newer_code", how="outer") if not conv.empty else out.assign(older_conversion=None)
    df["newer_version"], df["older_version"] = newer, older
    return df[COLUMNS]


def _code(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip().replace(".", "")
    if text.isdigit() and len(text) in (5, 6):
        return text.zfill(6)
    return None
