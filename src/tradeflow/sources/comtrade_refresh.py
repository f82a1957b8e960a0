"""The incremental live refresh of UN Comtrade data.

1. Ask the data-availability endpoint what is published for each (reporter, frequency,
   period) — release date, record count, dataset checksum (keyed API only).
2. Skip every period whose release matches the one already archived *and loadable*: an
   unchanged night makes no data calls. Fetch the rest (the first run back-fills everything),
   monthly transport modes too where the reporter publishes them. Every reporter's exports to
   the World are fetched again when any reporter's availability for that year changes
   (keyless: when the stored copy is older than a month).
3. A period is committed (its batch completed) only when every piece of it is archived and
   parses, and a period that availability lists with records (keyless: whose stored copy holds
   records) never commits empty; a revision becomes a new vintage beside the old one. A failed
   period does not hold back the others:
   they are committed, and the failures are returned in ``IngestResult.failed`` (the next run
   retries them). If the host is given up (circuit breaker, refused key), the run stops at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from tradeflow.archive import RawArchive, now_utc
from tradeflow.errors import SourceError, TradeflowError
from tradeflow.ingest import IngestResult
from tradeflow.periods import period_keys, to_query
from tradeflow.settings import Settings
from tradeflow.sources.comtrade import Availability, ComtradeClient, default_classification
from tradeflow.sources.comtrade_query import REPORTERS, bilateral_queries, mode_query, world_exports_queries
from tradeflow.sources.http import HostUnavailable

log = logging.getLogger("tradeflow.comtrade")

#: Reference lists kept fresh in the archive, and how old they may get before a re-fetch. Besides these, every
#: HS version a reporter is listed in (availability's classificationCode: a reporter still on HS2007 answers
#: H3 in a world query) and, keyless, each year's default and the version before it (see ``hs_lists``).
REFERENCE_LISTS = ("Reporters", "partnerAreas", "H4", "H5", "H6")
#: Comtrade's HS versions, oldest first (H0 = HS1992 … H6 = HS2022).
HS_VERSIONS = ("H0", "H1", "H2", "H3", "H4", "H5", "H6")
REFERENCE_MAX_AGE_DAYS = 30
#: Keyless runs (no availability endpoint) re-fetch every reporter's World exports after this long.
WORLD_MAX_AGE_DAYS = 30


def stored_releases(archive: RawArchive) -> dict[tuple, dict]:
    """Release of the newest *loadable* batch per (reporter, freq, period); reporter "all" for world queries.

    Only batches whose every body is archived and loadable count, so a period whose data are not
    actually in the archive is never skipped as unchanged.
    """
    out: dict[tuple, dict] = {}
    for done, bodies in archive.loadable_batches().values():  # oldest first: the newest wins
        if not all(archive.object_path(e.sha256).exists() for e in bodies):
            continue  # a body went missing: fetch the period again (storing it heals the archive)
        p = done.partition
        if {"reporter", "freq", "period"} <= p.keys():
            rep = p["reporter"] if p["reporter"] == "all" else int(p["reporter"])
            out[(rep, p["freq"], p["period"])] = {**done.release, "_completed_at": done.fetched_at, "_bodies": bodies}
    return out


def stored_records(archive: RawArchive, stored: dict | None) -> int:
    """Records the stored batch of a period holds (0: none stored, or stored empty); read only when needed."""
    total = 0
    for e in (stored or {}).get("_bodies", ()):
        if e.dataset == "comtrade.final":
            count = json.loads(archive.read_body(e.sha256, e)).get("count")
            total += count if isinstance(count, int) else 0
    return total


def unchanged(stored: dict | None, avail: Availability) -> bool:
    if not stored:
        return False
    return (stored.get("checksum"), stored.get("last_released"), stored.get("total_records")) == (
        avail.checksum, avail.last_released, avail.total_records)


def world_signature(avail: dict[tuple[int, str], Availability], period: str) -> str | None:
    """A digest of every reporter's release for ``period`` (None: nothing published yet)."""
    rows = sorted((a.reporter, a.last_released, a.checksum, a.total_records) for (_, p), a in avail.items() if p == period)
    if not rows:
        return None
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def describe_period(reporter, freq: str, period: str) -> str:
    if reporter == "all":
        return f"world exports (all reporters) {period}"
    return f"reporter {reporter} period {period} ({'monthly' if freq == 'M' else 'annual'})"


def asked(by_freq: dict[str, list[str]]) -> list[str]:
    """Every reporter-period a run over ``by_freq`` asks for, each year's World exports included."""
    return [describe_period(reporter, freq, period) for freq, periods in sorted(by_freq.items()) for period in periods
            for reporter in (*REPORTERS, *(["all"] if freq == "A" else []))]


def refresh_live(settings: Settings, archive: RawArchive, keys: list[str] | None = None,
                 client: ComtradeClient | None = None) -> IngestResult:
    client = client or ComtradeClient(settings, archive)
    result = IngestResult(source="live")
    by_freq: dict[str, list[str]] = defaultdict(list)
    for key in keys if keys is not None else period_keys():
        freq, period = to_query(key)
        by_freq[freq].append(period)
    stored = stored_releases(archive)
    calls_before, records_before = client.http.calls, client.records

    try:
        work = _plan(client, by_freq, stored, result)
    except HostUnavailable as exc:  # nothing is fetched: every period asked for is listed as not fetched
        why = " ".join(str(exc).split())
        result.failed += [f"{what}: not fetched (availability: {why})" for what in asked(by_freq)]
        result.stopped = str(exc)
        work = []
    client.progress.plan(sum(2 if q.freq == "M" and (a is None or a.has_modes) and not world else 1
                             for q, a, world, _ in work), label="UN Comtrade")
    for i, (query, a, world, signature) in enumerate(work):
        what = describe_period(query.partition()["reporter"], query.freq, query.period)
        try:
            if world:
                _fetch_world(client, archive, query.period, signature, result)
            else:
                _fetch_period(client, archive, query, a, result, stored.get((query.reporter, query.freq, query.period)))
        except HostUnavailable as exc:
            log.error("%s failed: %s", what, exc)
            result.failed.append(f"{what}: {exc}")
            rest = [describe_period(q.partition()["reporter"], q.freq, q.period) for q, *_ in work[i + 1:]]
            result.failed += [f"{w}: not attempted (host given up)" for w in rest]
            result.stopped = str(exc)
            break
        except TradeflowError as exc:
            log.error("%s failed: %s", what, exc)
            result.failed.append(f"{what}: {exc}")
    if not result.stopped:
        years = {int(p[:4]) for periods in by_freq.values() for p in periods}
        refresh_reference(client, archive, result, hs_lists(client, years))
    result.calls = client.http.calls - calls_before
    result.rows = client.records - records_before
    if not client.keyed:
        log.warning("no COMTRADE_API_KEY: preview endpoints, no availability check — every period was fetched")
    return result


def _plan(client: ComtradeClient, by_freq: dict[str, list[str]], stored: dict, result: IngestResult) -> list[tuple]:
    """(query, availability, is_world, world_signature) for every query this run must make."""
    work: list[tuple] = []
    for freq, periods in sorted(by_freq.items()):
        avail = client.availability(freq, list(REPORTERS), periods) if client.keyed else None
        for period in periods:
            for query in bilateral_queries(freq, period):
                a = avail.get((query.reporter, period)) if avail is not None else None
                if avail is not None and a is None:
                    if stored.get((query.reporter, freq, period)):  # stored before, no longer listed: kept, said so
                        what = describe_period(query.reporter, freq, period)
                        log.warning("%s: stored, but availability no longer lists it; the stored release is kept", what)
                        result.withdrawn.append(what)
                    continue  # not published (yet)
                if a is not None and unchanged(stored.get((query.reporter, freq, period)), a):
                    result.skipped_unchanged += 1
                    continue
                work.append((query, a, False, None))
    annual = by_freq.get("A", [])
    world_avail = client.availability("A", None, annual) if client.keyed and annual else {}
    cutoff = (datetime.now(UTC) - timedelta(days=WORLD_MAX_AGE_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for period in annual:
        have = stored.get(("all", "A", period))
        if client.keyed:
            signature = world_signature(world_avail, period)
            if signature is None:
                continue  # no reporter has published that year yet
            if have and have.get("availability") == signature:
                result.skipped_unchanged += 1
                continue
        else:
            signature = None
            if have and have.get("_completed_at", "") >= cutoff:
                result.skipped_unchanged += 1
                continue
        work.append((world_exports_queries(period)[0], None, True, signature))
    return work


def _check_and_commit(client: ComtradeClient, archive: RawArchive, entries, partition: dict, release: dict,
                      result: IngestResult, name: str) -> None:
    from tradeflow.warehouse.comtrade_load import check_entries

    bad = check_entries(archive, entries)
    for entry, message in bad:
        archive.mark_failed(entry, message)
    if bad:
        raise SourceError(bad[0][1])
    archive.complete_batch(release["batch"], partition, release, [e.request_id for e in entries])
    result.new_bodies += len(entries)
    result.bytes += sum(e.bytes for e in entries)
    result.partitions.append(name)
    result.vintage = max(result.vintage, release["vintage"])


def _fetch_world(client: ComtradeClient, archive: RawArchive, period: str, signature: str | None,
                 result: IngestResult) -> None:
    """All reporters' exports to the World for one year (HS6 and TOTAL): the RCA inputs."""
    batch = uuid.uuid4().hex
    release = {"vintage": now_utc()[:10], "batch": batch, **({"availability": signature} if signature else {})}
    queries = world_exports_queries(period)
    client.progress.plan(len(queries) - 1)
    entries = []
    for query in queries:
        before = client.records
        got = client.fetch(query, release)
        entries += got
        if signature is not None and client.records == before:
            # availability lists reporters' year: an empty answer is a failed call, never a year of no exports (it
            # would be stored as the year's world and, its signature unchanged, never be asked again)
            msg = (f"{client.http.describe(got[0].url, got[0].params)}: availability lists reporters' {period} but the "
                   f"data endpoint returned no records for the world query ({query.cmd}); not published as an empty year")
            for e in entries:
                archive.mark_failed(e, msg)
            raise SourceError(msg)
    _check_and_commit(client, archive, entries, queries[0].partition(), release, result, f"all/A/{period}")


def _fetch_period(client: ComtradeClient, archive: RawArchive, query, a: Availability | None, result: IngestResult,
                  stored: dict | None = None):
    batch = uuid.uuid4().hex
    release = {**(a.release() if a else {"vintage": now_utc()[:10]}), "batch": batch}
    classification = a.classification if a and a.classification else None
    before = client.records
    entries = client.fetch(query, release, classification)
    msg = None
    if client.records == before and a is not None and a.total_records > 0:
        msg = (f"{client.http.describe(entries[0].url, entries[0].params)}: availability lists {a.total_records} "
               f"records for reporter {query.reporter} period {query.period} (released {a.last_released}) but the "
               "data endpoint returned none; not published as an empty period")
    elif client.records == before and a is None and (held := stored_records(archive, stored)):
        # keyless: no availability says whether the period is published, but the stored copy does. An empty batch
        # of today's vintage would replace a copy stored earlier today (the archive's newest batch per partition
        # and vintage wins): a transient empty answer would publish the period empty with exit 0
        msg = (f"{client.http.describe(entries[0].url, entries[0].params)}: the preview returned no records for "
               f"reporter {query.reporter} period {query.period}, but the stored copy (fetched "
               f"{stored['_completed_at']}) holds {held}; kept, not replaced by an empty period")
    if msg:
        for e in entries:
            archive.mark_failed(e, msg)
        raise SourceError(msg)
    if query.freq == "M" and (a is None or a.has_modes):
        entries += client.fetch(mode_query(query.reporter, query.period), release, classification)
    _check_and_commit(client, archive, entries, query.partition(), release, result,
                      f"{query.reporter}/{query.freq}/{query.period}")


def hs_lists(client: ComtradeClient, years: set[int]) -> tuple[str, ...]:
    """The HS lists the unknown-HS gate needs beyond REFERENCE_LISTS: every classification availability named
    (keyed), or — keyless, where availability is not asked — each year's default version and the one before it,
    which a late adopter still reports in. A record in a version with no list fails the gate, loudly."""
    named = set(client.classifications)
    if not client.keyed:
        for y in years:
            i = HS_VERSIONS.index(default_classification(y))
            named.update(HS_VERSIONS[max(i - 1, 0): i + 1])
    return tuple(v for v in HS_VERSIONS if v in named and v not in REFERENCE_LISTS)


def refresh_reference(client: ComtradeClient, archive: RawArchive, result: IngestResult,
                      extra: tuple[str, ...] = ()) -> None:
    """Re-fetch reference lists older than a month (countries, HS nomenclatures, ``extra`` HS lists); failures
    only warn."""
    cutoff = (datetime.now(UTC) - timedelta(days=REFERENCE_MAX_AGE_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fresh = {e.partition.get("list") for e in archive.loadable("comtrade.reference") if e.fetched_at >= cutoff}
    for name in (*REFERENCE_LISTS, *extra):
        if name in fresh:
            continue
        try:
            entry, _ = client.reference(name)
            result.bytes += entry.bytes
        except TradeflowError as exc:
            log.warning("reference list %s not refreshed: %s", name, exc)
