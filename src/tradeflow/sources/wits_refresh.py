"""The live WITS/TRAINS refresh: each importer × partner × year once, re-checked monthly."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from tradeflow.archive import RawArchive
from tradeflow.errors import TradeflowError
from tradeflow.ingest import IngestResult
from tradeflow.settings import Settings
from tradeflow.sources.http import HostUnavailable
from tradeflow.sources.wits import DATASET, DATATYPES, PAIRS, WitsClient

__all__ = ["DATASET", "refresh_wits"]

log = logging.getLogger("tradeflow.wits")

#: A stored year is fetched again after this long (TRAINS revises past years rarely).
MAX_AGE_DAYS = 30


def refresh_wits(settings: Settings, archive: RawArchive, years: list[int], client: WitsClient | None = None) -> IngestResult:
    client = client or WitsClient(settings, archive)
    result = IngestResult(source="live")
    cutoff = (datetime.now(UTC) - timedelta(days=MAX_AGE_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # a recent copy: a live body that loads (a 200 marked failed is not one: fetch it again), or a 404 (no data).
    # Never a sample body: the warehouse drops those once live ones exist, so the year would have no rate at all
    copies = archive.loadable(DATASET) + [e for e in archive.entries() if e.dataset == DATASET and e.status == 404]
    copies = [e for e in copies if not e.is_sample]
    recent = {(e.partition.get("importer"), e.partition.get("partner"), e.partition.get("year"),
               e.partition.get("datatype", "reported"))
              for e in copies if e.fetched_at >= cutoff}
    before = client.http.calls
    for year in years:
        for (importer, partner), datatype in ((p, d) for p in PAIRS for d in DATATYPES):
            if (importer, partner, year, datatype) in recent:
                result.skipped_unchanged += 1
                continue
            if result.stopped:
                result.failed.append(f"tariffs {importer}←{partner} {year} ({datatype}): not attempted (host given up)")
                continue
            try:
                entry = client.tariffs(importer, partner, year, datatype)
            except HostUnavailable as exc:
                result.stopped = str(exc)
                result.failed.append(f"tariffs {importer}←{partner} {year} ({datatype}): {exc}")
                continue
            except TradeflowError as exc:
                result.failed.append(f"tariffs {importer}←{partner} {year} ({datatype}): {exc}")
                continue
            if entry is not None:
                result.new_bodies += 1
                result.bytes += entry.bytes
                result.partitions.append(f"{importer}/{partner}/{year}/{datatype}")
    result.calls = client.http.calls - before
    for f in result.failed:
        log.error("%s", f)
    return result  # failures are reported by the caller; the years that arrived are kept
