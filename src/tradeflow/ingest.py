"""Bring source data into the raw archive: from the synthetic sample, the live APIs, or nothing
(``archive``: rebuild from what is already stored, with no network)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tradeflow.archive import ManifestEntry, RawArchive
from tradeflow.errors import ConfigError, ParseError, SourceError
from tradeflow.periods import period_keys
from tradeflow.settings import Settings

SOURCES = ("sample", "live", "archive")


@dataclass
class IngestResult:
    """What an ingest did, for run metadata and the CLI."""

    source: str
    calls: int = 0
    new_bodies: int = 0
    bytes: int = 0
    rows: int = 0
    vintage: str = ""  # newest vintage written by this run
    skipped_unchanged: int = 0
    failed: list[str] = field(default_factory=list)  # "<what>: <why>", one per period (or request) that failed
    partitions: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped calling the source early (circuit open, key refused)
    #: periods stored from an earlier run that the source no longer lists as published (kept, and said so)
    withdrawn: list[str] = field(default_factory=list)

    def failed_names(self) -> list[str]:
        """What failed, without the why ("reporter 586 period 202203 (monthly)")."""
        return [f.split(": ", 1)[0] for f in self.failed]

    def failure_summary(self) -> str:
        """One line: how many failed, which, and the first reason."""
        names = self.failed_names()
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        first = self.stopped or (self.failed[0].split(": ", 1)[-1] if self.failed else "")
        return (f"{len(names)} period(s) failed, the next run retries them: {shown}; "
                f"first error: {' '.join(first.split())}")

    def metadata(self) -> dict:
        return {
            "source": self.source,
            "calls": self.calls,
            "new_bodies": self.new_bodies,
            "bytes": self.bytes,
            "rows": self.rows,
            "vintage": self.vintage,
            "skipped_unchanged": self.skipped_unchanged,
            "failed": len(self.failed),
            "failed_periods": self.failed_names()[:50],
            "withdrawn": len(self.withdrawn),
            "withdrawn_periods": self.withdrawn[:50],
        }


def ingest_comtrade(settings: Settings, source: str, keys: list[str] | None = None) -> IngestResult:
    """Fill the archive with UN Comtrade responses for the period ``keys`` ("2021", "2021-03") from ``source``."""
    if source not in SOURCES:
        raise ConfigError(f"--source must be one of {', '.join(SOURCES)}, got {source!r}")
    archive = RawArchive(settings.raw_dir)
    result = IngestResult(source=source)
    if source == "sample":
        from tradeflow.sample import write_sample

        written = write_sample(archive, set(keys) if keys is not None else None)
        result.new_bodies = result.calls = len(written)
        result.bytes = sum(e.bytes for e in written)
        result.rows = sum(e.release.get("rows", 0) for e in written)
        result.vintage = max((e.release.get("vintage", "") for e in written), default="")
        _reject_broken(archive, written, result)
    elif source == "live":
        from tradeflow.sources.comtrade_refresh import refresh_live
        from tradeflow.sources.unsd import refresh_concordances

        refresh_concordances(archive)  # UNSD HS correspondence tables; a failure warns, the archived copy stays
        result = refresh_live(settings, archive, keys)
        if result.failed and not archive.loadable("comtrade.final"):
            raise SourceError(result.failure_summary())  # nothing at all to build from
        return result
    elif source == "archive":
        from tradeflow.warehouse.snapshot import check_archive_complete

        check_archive_complete(settings.home, archive)
    if not archive.loadable("comtrade.final"):
        raise ParseError(f"the raw archive {archive.root} holds no usable UN Comtrade responses")
    return result


def ingest_wits(settings: Settings, source: str, keys: list[str] | None = None) -> IngestResult:
    """TRAINS tariffs for the annual period keys (importers CHN and PAK, against the World and each other)."""
    if source not in SOURCES:
        raise ConfigError(f"--source must be one of {', '.join(SOURCES)}, got {source!r}")
    archive = RawArchive(settings.raw_dir)
    result = IngestResult(source=source)
    years = sorted({int(k) for k in (keys if keys is not None else period_keys()) if len(k) == 4})
    if source == "sample":
        from tradeflow.sample.tariffs import write_sample_tariffs

        written = write_sample_tariffs(archive, set(years))
        result.calls = result.new_bodies = len(written)
        result.bytes = sum(e.bytes for e in written)
    elif source == "live":
        from tradeflow.sources.wits_refresh import DATASET, refresh_wits

        result = refresh_wits(settings, archive, years)
        if result.failed and not archive.loadable(DATASET):
            raise SourceError(result.failure_summary())
    return result


def _reject_broken(archive: RawArchive, written: list[ManifestEntry], result: IngestResult) -> None:
    """Parse-check new bodies; mark broken ones failed so they never reach the warehouse."""
    from tradeflow.warehouse.comtrade_load import check_entries

    bad = check_entries(archive, written)
    for entry, message in bad:
        archive.mark_failed(entry, message)
    result.failed = [message for _, message in bad]
    if bad:
        raise ParseError(f"{len(bad)} response(s) unusable; first: {bad[0][1]}")
