"""The raw archive: every response body, immutable and content-addressed, plus a manifest.

Layout under ``$TRADEFLOW_HOME/raw``::

    objects/<sha[:2]>/<sha>.json.gz    body, gzip (mtime 0), named by sha256 of the *uncompressed* bytes
    manifest.jsonl                     one JSON line per request (URL and params without any key)

Bodies are written before anything parses them. An object is written to a temporary file
and renamed into place, so a killed process never leaves a half-written object; a torn last
manifest line is skipped with a warning. ``--source archive`` rebuilds the warehouse from
this folder alone.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

#: Manifest dataset of batch-completion rows.
BATCHES = "tradeflow.batch"

#: Query parameter names that carry credentials and are never stored.
SECRET_PARAMS = frozenset({"subscription-key", "subscriptionkey", "apikey", "api_key", "token", "key", "ocp-apim-subscription-key"})


@dataclass(frozen=True)
class ManifestEntry:
    """One request and what came back."""

    request_id: str  # stable id of the request (dataset + url + params), not of the body
    dataset: str  # e.g. "comtrade.final", "comtrade.availability", "wits.trains"
    source: str  # "live" or "sample"
    url: str
    params: dict
    status: int
    bytes: int
    sha256: str
    fetched_at: str
    ok: bool = True  # False: the body was archived but is unusable (error says why)
    error: str | None = None
    partition: dict = field(default_factory=dict)  # e.g. {"reporter": 586, "freq": "A", "period": "2021"}
    release: dict = field(default_factory=dict)  # dataset release metadata (vintage, release date, ...)

    @property
    def is_sample(self) -> bool:
        return self.source == "sample"


def request_id(dataset: str, url: str, params: dict) -> str:
    """A stable id for a request, independent of when it was made and of any key."""
    canon = json.dumps([dataset, url, scrub_params(params)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:24]


def scrub_params(params: dict) -> dict:
    """Params with credentials removed."""
    return {k: v for k, v in params.items() if k.lower() not in SECRET_PARAMS}


class RawArchive:
    """Content-addressed store of response bodies with an append-only manifest."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.manifest_path = self.root / "manifest.jsonl"

    # -- writing ---------------------------------------------------------------------------
    def put_body(self, body: bytes) -> str:
        """Store ``body`` (idempotent) and return its sha256."""
        sha = hashlib.sha256(body).hexdigest()
        path = self.object_path(sha)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(gzip.compress(body, compresslevel=6, mtime=0))
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return sha

    def record(self, entries: Iterable[ManifestEntry]) -> None:
        """Append manifest lines (one write per line, flushed to disk)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.manifest_path, "a+b") as fh:
            if fh.tell() > 0:  # a process killed mid-line left no newline: start a fresh line
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
        with open(self.manifest_path, "a", encoding="utf-8") as fh:
            for e in entries:
                fh.write(json.dumps(asdict(e), sort_keys=True, separators=(",", ":")) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def store(
        self,
        *,
        dataset: str,
        source: str,
        url: str,
        params: dict,
        status: int,
        body: bytes,
        partition: dict | None = None,
        release: dict | None = None,
        ok: bool = True,
        error: str | None = None,
        fetched_at: str | None = None,
    ) -> ManifestEntry:
        """Archive one response body and its manifest row; return the row."""
        clean = scrub_params(params)
        entry = ManifestEntry(
            request_id=request_id(dataset, url, clean),
            dataset=dataset,
            source=source,
            url=url,
            params=clean,
            status=status,
            bytes=len(body),
            sha256=self.put_body(body),
            fetched_at=fetched_at or now_utc(),
            ok=ok,
            error=error,
            partition=partition or {},
            release=release or {},
        )
        self.record([entry])
        return entry

    def mark_failed(self, entry: ManifestEntry, error: str) -> ManifestEntry:
        """Append a row saying an archived body turned out unusable (the body stays for forensics)."""
        failed = ManifestEntry(**{**asdict(entry), "ok": False, "error": error})
        self.record([failed])
        return failed

    # -- reading ---------------------------------------------------------------------------
    def object_path(self, sha: str) -> Path:
        return self.objects / sha[:2] / f"{sha}.json.gz"

    def read_body(self, sha: str) -> bytes:
        return gzip.decompress(self.object_path(sha).read_bytes())

    def entries(self) -> Iterator[ManifestEntry]:
        """All manifest rows in the order written; a torn trailing line is skipped."""
        if not self.manifest_path.exists():
            return
        with open(self.manifest_path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield ManifestEntry(**json.loads(line))
                except (json.JSONDecodeError, TypeError) as exc:
                    log.warning("manifest %s line %d unreadable, skipped: %s", self.manifest_path, lineno, exc)

    def complete_batch(self, batch: str, partition: dict, release: dict, request_ids: list[str]) -> None:
        """Declare every response of one partition fetch archived and sound.

        Responses carrying ``release["batch"]`` are loadable only once their batch is complete,
        so a partition whose fetch failed half-way never replaces the previous complete one.
        """
        self.store(
            dataset=BATCHES, source="tradeflow", url="tradeflow://batch", params={"batch": batch}, status=200,
            body=json.dumps({"batch": batch, "request_ids": sorted(request_ids)}, sort_keys=True).encode(),
            partition=partition, release={**release, "batch": batch},
        )

    def completed_batches(self) -> dict[str, ManifestEntry]:
        return {e.params["batch"]: e for e in self.entries() if e.dataset == BATCHES and e.ok}

    def loadable(self, dataset: str | None = None) -> list[ManifestEntry]:
        """Every distinct good body per request: what the warehouse is built from.

        All vintages are kept (staging chooses the newest per period). The same body fetched
        twice counts once (its first row). A body later marked failed is dropped, a broken
        body never replaces a good one (its row is simply not ``ok``), and a body from an
        unfinished batch is held back.
        """
        seen: dict[tuple[str, str], ManifestEntry] = {}
        failed: set[tuple[str, str]] = set()
        for e in self.entries():
            if dataset and e.dataset != dataset:
                continue
            key = (e.request_id, e.sha256)
            if not e.ok:
                failed.add(key)
            elif key not in seen:
                seen[key] = e
        done = self.completed_batches()
        good = [e for k, e in seen.items() if k not in failed and ("batch" not in e.release or e.release["batch"] in done)]
        return sorted(good, key=lambda e: (e.request_id, e.fetched_at, e.sha256))


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
