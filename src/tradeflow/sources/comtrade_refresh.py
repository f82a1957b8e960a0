"""The incremental live refresh of UN Comtrade data.

1. Ask the data-availability endpoint what is published for each (reporter, frequency,
   period) — release date, record count, dataset checksum (keyed API only).
2. Skip every period whose release matches the one already archived: an unchanged night makes
   no data calls. Fetch the rest (the first run back-fills everything), monthly transport
   modes too where the reporter publishes them.
3. A period is committed (its batch completed) only when every piece of it is archived and
   parses; a revision becomes a new vintage beside the old one. Failed periods are reported
   together at the end and fail the run, so the previous marts stay as they were.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict

from tradeflow.archive import RawArchive
from tradeflow.errors import TradeflowError
from tradeflow.ingest import IngestResult
from tradeflow.periods import period_keys, to_query
from tradeflow.settings import Settings
from tradeflow.sources.comtrade import Availability, ComtradeClient
from tradeflow.sources.comtrade_query import REPORTERS, bilateral_queries, mode_query, world_exports_queries
from tradeflow.errors import SourceError

log = logging.getLogger("tradeflow.comtrade")


def stored_releases(archive: RawArchive) -> dict[tuple, dict]:
    """The release of the newest completed batch per (reporter, freq, period); reporter "all" for world queries."""
    out: dict[tuple, dict] = {}
    for batch in archive.completed_batches().values():
        p = batch.partition
        if {"reporter", "freq", "period"} <= p.keys():
            rep = p["reporter"] if p["reporter"] == "all" else int(p["reporter"])
            out[(rep, p["freq"], p["period"])] = batch.release
    return out


def _fetch_world(client: ComtradeClient, archive: RawArchive, period: str, result: IngestResult) -> None:
    """All reporters' exports to the World for one year (HS6 and TOTAL): the RCA inputs."""
    from tradeflow.archive import now_utc
    from tradeflow.warehouse.comtrade_load import check_entries

    batch = uuid.uuid4().hex
    release = {"vintage": now_utc()[:10], "batch": batch}
    entries = [e for q in world_exports_queries(period) for e in client.fetch(q, release)]
    bad = check_entries(archive, entries)
    for entry, message in bad:
        archive.mark_failed(entry, message)
    if bad:
        raise SourceError(bad[0][1])
    archive.complete_batch(batch, world_exports_queries(period)[0].partition(), release, [e.request_id for e in entries])
    result.new_bodies += len(entries)
    result.bytes += sum(e.bytes for e in entries)
    result.partitions.append(f"all/A/{period}")


def unchanged(stored: dict | None, avail: Availability) -> bool:
    if not stored:
        return False
    return (stored.get("checksum"), stored.get("last_released"), stored.get("total_records")) == (
        avail.checksum, avail.last_released, avail.total_records)


def refresh_live(settings: Settings, archive: RawArchive, keys: list[str] | None = None,
                 client: ComtradeClient | None = None) -> IngestResult:
    client = client or ComtradeClient(settings, archive)
    result = IngestResult(source="live")
    by_freq: dict[str, list[str]] = defaultdict(list)
    for key in keys if keys is not None else period_keys():
        freq, period = to_query(key)
        by_freq[freq].append(period)
    stored = stored_releases(archive)
    calls_before = client.http.calls

    for freq, periods in sorted(by_freq.items()):
        avail = client.availability(freq, list(REPORTERS), periods) if client.keyed else None
        for period in periods:
            for query in bilateral_queries(freq, period):
                a = avail.get((query.reporter, period)) if avail is not None else None
                if avail is not None and a is None:
                    continue  # not published (yet)
                if a is not None and unchanged(stored.get((query.reporter, freq, period)), a):
                    result.skipped_unchanged += 1
                    continue
                try:
                    _fetch_period(client, archive, query, a, result)
                except TradeflowError as exc:
                    what = f"reporter {query.reporter} period {period} ({'monthly' if freq == 'M' else 'annual'})"
                    log.error("%s failed: %s", what, exc)
                    result.failed.append(f"{what}: {exc}")
    for period in by_freq.get("A", []):
        if ("all", "A", period) in stored:
            continue  # every reporter's exports to the World: fetched once a year, refreshed with the archive
        try:
            _fetch_world(client, archive, period, result)
        except TradeflowError as exc:
            log.error("world exports %s failed: %s", period, exc)
            result.failed.append(f"world exports (all reporters) {period}: {exc}")
    refresh_reference(client, archive, result)
    result.calls = client.http.calls - calls_before
    result.rows = client.records
    if not client.keyed:
        log.warning("no COMTRADE_API_KEY: preview endpoints, no availability check — every period was fetched")
    if result.failed:
        raise SourceError(f"{len(result.failed)} period(s) failed, previous data kept; first: {result.failed[0]}")
    return result


#: Reference lists kept fresh in the archive, and how old they may get before a re-fetch.
REFERENCE_LISTS = ("Reporters", "partnerAreas", "H4", "H5", "H6")
REFERENCE_MAX_AGE_DAYS = 30


def refresh_reference(client: ComtradeClient, archive: RawArchive, result: IngestResult) -> None:
    """Re-fetch reference lists older than a month (countries, HS nomenclatures); failures only warn."""
    from datetime import UTC, datetime, timedelta

    cutoff = (datetime.now(UTC) - timedelta(days=REFERENCE_MAX_AGE_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fresh = {e.partition.get("list") for e in archive.loadable("comtrade.reference") if e.fetched_at >= cutoff}
    for name in REFERENCE_LISTS:
        if name in fresh:
            continue
        try:
            entry, _ = client.reference(name)
            result.bytes += entry.bytes
        except TradeflowError as exc:
            log.warning("reference list %s not refreshed: %s", name, exc)


def _fetch_period(client: ComtradeClient, archive: RawArchive, query, a: Availability | None, result: IngestResult):
    from tradeflow.archive import now_utc
    from tradeflow.warehouse.comtrade_load import check_entries

    batch = uuid.uuid4().hex
    release = {**(a.release() if a else {"vintage": now_utc()[:10]}), "batch": batch}
    classification = a.classification if a and a.classification else None
    entries = client.fetch(query, release, classification)
    if query.freq == "M" and (a is None or a.has_modes):
        entries += client.fetch(mode_query(query.reporter, query.period), release, classification)
    bad = check_entries(archive, entries)
    for entry, message in bad:
        archive.mark_failed(entry, message)
    if bad:
        raise SourceError(bad[0][1])
    archive.complete_batch(batch, query.partition(), release, [e.request_id for e in entries])
    result.new_bodies += len(entries)
    result.bytes += sum(e.bytes for e in entries)
    result.partitions.append(f"{query.reporter}/{query.freq}/{query.period}")
    result.vintage = max(result.vintage, release["vintage"])
