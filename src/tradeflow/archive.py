"""The raw archive: every response body, immutable and content-addressed, plus a manifest.

Layout under ``$TRADEFLOW_HOME/raw``::

    objects/<sha[:2]>/<sha>.json.gz    body, gzip (mtime 0), named by sha256 of the *uncompressed* bytes
    manifest.jsonl                     one JSON line per request (URL and params without any key)

Bodies are written before anything parses them. An object is written to a temporary file
and renamed into place, so a killed process never leaves a half-written object. Every body
read for a build is checked: one whose content does not match its sha256 name (bit flip,
truncated gzip, swapped file) or that is missing stops the build, naming the object and the
request. The manifest row also records the sha256 of the gzip file as written
(``gzip_sha256``), so the check hashes the compressed bytes (~20× fewer than the JSON, no
decompression); an object whose bytes differ from that (rewritten, recompressed, or a row from
before the field existed) is decompressed and re-hashed in full. The manifest is read
strictly: only a torn line left by a killed writer is skipped, with a warning. Every writer
ends a line with ``\n``, so a torn line is one no newline follows: the file's last bytes, or a
line the next writer closed and marked with a repair row. Any other unreadable line (bad JSON,
not UTF-8, wrong fields), the last one included when its newline is there, is damage: an error
naming ``file:line`` (``tradeflow verify`` lists it and exits non-zero).
``--source archive`` rebuilds the warehouse from this folder alone; ``tradeflow verify``
re-hashes every object and re-reads every manifest line.
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

from tradeflow.errors import TradeflowError

log = logging.getLogger(__name__)


class ArchiveError(TradeflowError):
    """The raw archive is damaged: a manifest line or an object (the message names which)."""


#: Manifest dataset of batch-completion rows.
BATCHES = "tradeflow.batch"

#: Torn manifest lines already warned of in this process (a refresh reads the manifest many times).
_TORN_WARNED: set[tuple[str, int, bytes]] = set()

#: Key of the row the next writer appends after a torn line (so that line is known to be torn, not corrupt).
REPAIR_KEY = "_torn_line_repaired"

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
    capped: bool = False  # True: the body reached the record cap and was split; never loaded
    gzip_sha256: str | None = None  # sha256 of the object file as written: the quick integrity check

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
    def put_body(self, body: bytes) -> tuple[str, str]:
        """Store ``body`` (idempotent); return its sha256 and the sha256 of its object file."""
        sha = hashlib.sha256(body).hexdigest()
        path = self.object_path(sha)
        if path.exists() and not self._intact(sha):  # the same body again heals a damaged object
            log.warning("archive object %s was damaged; rewritten from a fresh copy of its body", path)
            path.unlink()
        if path.exists():
            return sha, _file_sha256(path)  # checked just above: what it holds is this body
        path.parent.mkdir(parents=True, exist_ok=True)
        data = gzip.compress(body, compresslevel=6, mtime=0)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha, hashlib.sha256(data).hexdigest()

    def record(self, entries: Iterable[ManifestEntry]) -> None:
        """Append manifest lines (one write per line, flushed to disk)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.manifest_path, "a+b") as fh:
            if fh.tell() > 0:  # a process killed mid-line left no newline: start a fresh line
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    # ...and say so, so readers skip that torn line instead of calling it corruption
                    fh.write(b"\n" + json.dumps({REPAIR_KEY: now_utc()}).encode() + b"\n")
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
        sha, gz_sha = self.put_body(body)
        entry = ManifestEntry(
            request_id=request_id(dataset, url, clean),
            dataset=dataset,
            source=source,
            url=url,
            params=clean,
            status=status,
            bytes=len(body),
            sha256=sha,
            fetched_at=fetched_at or now_utc(),
            ok=ok,
            error=error,
            partition=partition or {},
            release=release or {},
            gzip_sha256=gz_sha,
        )
        self.record([entry])
        return entry

    def mark_failed(self, entry: ManifestEntry, error: str) -> ManifestEntry:
        """Append a row saying an archived body turned out unusable (the body stays for forensics).

        The mark holds for that body in that batch (``release["batch"]``), or outside any batch.
        """
        failed = ManifestEntry(**{**asdict(entry), "ok": False, "error": error})
        self.record([failed])
        return failed

    def mark_capped(self, entry: ManifestEntry, note: str) -> ManifestEntry:
        """Append a row saying a body reached the record cap (it was split; its pieces are loaded instead)."""
        capped = ManifestEntry(**{**asdict(entry), "capped": True, "error": note})
        self.record([capped])
        return capped

    # -- reading ---------------------------------------------------------------------------
    def object_path(self, sha: str) -> Path:
        return self.objects / sha[:2] / f"{sha}.json.gz"

    def read_body(self, sha: str, entry: ManifestEntry | None = None) -> bytes:
        """The body named ``sha``, re-hashed: a missing, truncated or altered object raises ArchiveError."""
        path = self.object_path(sha)
        where = f"object {path}" + (f" (request {describe_request(entry)})" if entry is not None else "")
        try:
            body = gzip.decompress(path.read_bytes())
        except FileNotFoundError:
            raise ArchiveError(f"{where} is missing from the archive") from None
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ArchiveError(f"{where} is not a readable gzip body ({exc})") from None
        actual = hashlib.sha256(body).hexdigest()
        if actual != sha:
            raise ArchiveError(f"{where} does not match its sha256 name: its content hashes to {actual[:16]}…")
        return body

    def _intact(self, sha: str) -> bool:
        try:
            self.read_body(sha)
            return True
        except ArchiveError:
            return False

    def verify_objects(self, entries: Iterable[ManifestEntry]) -> int:
        """Check the body of every entry (what a build reads); the first bad one raises ArchiveError.

        An object whose file hashes to a ``gzip_sha256`` its rows recorded is the file written from
        that body; any other is decompressed and re-hashed against its name.
        """
        objects: dict[str, tuple[ManifestEntry, set[str]]] = {}
        for e in entries:
            objects.setdefault(e.sha256, (e, set()))[1].add(e.gzip_sha256 or "")
        for sha, (e, written) in objects.items():
            try:
                if _file_sha256(self.object_path(sha)) in written:
                    continue
            except OSError:
                pass  # missing or unreadable: read_body says which
            self.read_body(sha, e)
        return len(objects)

    def entries(self) -> Iterator[ManifestEntry]:
        """All manifest rows in the order written.

        A torn line (killed writer) is skipped with a warning when no newline follows it (the end of
        the file) or the next writer marked it; any other unreadable line raises ArchiveError naming
        file:line. A newline-terminated last line is whole as written, so unreadable it is damage:
        skipped, it would turn into an error only once the next append put a line after it."""
        if not self.manifest_path.exists():
            return
        with open(self.manifest_path, "rb") as fh:
            lines = fh.read().split(b"\n")
        last = len(lines)
        while last > 0 and not lines[last - 1].strip():
            last -= 1
        for lineno, raw in enumerate(lines[:last], 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
                if isinstance(row, dict) and set(row) == {REPAIR_KEY}:
                    continue
                if not isinstance(row, dict):
                    raise TypeError(f"a JSON {type(row).__name__}, not an object")
                yield ManifestEntry(**row)
            except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
                what = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc).splitlines()[0]
                # torn: no newline follows it (the file's end; the last line proper ends in one) or a repair row does
                torn = lineno == len(lines) or _is_repair(lines[lineno] if lineno < len(lines) else b"")
                if torn:
                    if (key := (str(self.manifest_path), lineno, raw)) not in _TORN_WARNED:  # once, not per read
                        _TORN_WARNED.add(key)
                        log.warning("manifest %s:%d is a torn line (a writer was killed), skipped: %s",
                                    self.manifest_path, lineno, what)
                    continue
                raise ArchiveError(f"{self.manifest_path}:{lineno}: unreadable manifest line ({what}); the archive is "
                                   "damaged: restore the file from a backup, or delete that line if it is a write torn "
                                   "by a killed run (its request is fetched again by the next refresh)") from None

    def verify(self) -> VerifyReport:
        """Re-read every manifest line and re-hash every object (``tradeflow verify``)."""
        report = VerifyReport(root=str(self.root))
        try:
            entries = list(self.entries())
        except ArchiveError as exc:
            report.problems.append(str(exc))
            return report
        report.manifest_rows = len(entries)
        by_sha: dict[str, ManifestEntry] = {}
        for e in entries:
            by_sha.setdefault(e.sha256, e)
        for sha, e in sorted(by_sha.items()):
            try:
                self.read_body(sha, e)
                report.objects_ok += 1
            except ArchiveError as exc:
                report.problems.append(str(exc))
        on_disk = {p.name.removesuffix(".json.gz") for p in self.objects.glob("*/*.json.gz")} if self.objects.is_dir() else set()
        for sha in sorted(on_disk - set(by_sha)):  # not referenced: still must be what its name says
            try:
                self.read_body(sha)
                report.unreferenced += 1
            except ArchiveError as exc:
                report.problems.append(str(exc))
        if self.objects.is_dir():  # put_body's temporary files: a write killed before its rename leaves one behind
            report.leftovers = sorted(str(p) for p in self.objects.glob("*/.tmp-*"))
        return report

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
        """Every batch-completion row (whether or not its bodies are still loadable)."""
        return {e.params["batch"]: e for e in self.entries() if e.dataset == BATCHES and e.ok}

    def loadable_batches(self) -> dict[str, tuple[ManifestEntry, list[ManifestEntry]]]:
        """The batches the warehouse is built from: batch id → (completion row, its bodies), oldest first.

        A batch counts only when its completion row lists request ids each of which has a good,
        uncapped body *in that batch*. Of several such batches for
        the same partition and release vintage (a retry, a second run the same day), the newest
        wins, so every record of a vintage is loaded exactly once. The same bytes fetched again
        by a later batch count for that batch: an identical retry body is never lost.
        """
        return self._select(list(self.entries()))[1]

    def loadable(self, dataset: str | None = None) -> list[ManifestEntry]:
        """Every good body the warehouse is built from.

        Outside batches (sample, reference lists), each distinct body per request counts once (its
        first row); a body marked failed or capped is dropped. Inside batches, the bodies of
        :meth:`loadable_batches`. All vintages are kept (staging chooses the newest per period).
        """
        plain, batches = self._select(list(self.entries()))
        out = list(plain) + [e for _, bodies in batches.values() for e in bodies]
        if dataset:
            out = [e for e in out if e.dataset == dataset]
        return sorted(out, key=lambda e: (e.request_id, e.fetched_at, e.sha256))

    def _select(self, rows: list[ManifestEntry]):
        bad: set[tuple] = set()
        for e in rows:
            if not e.ok or e.capped:
                bad.add((e.request_id, e.sha256, e.release.get("batch")))
        plain: dict[tuple[str, str], ManifestEntry] = {}
        by_batch: dict[str, dict[str, ManifestEntry]] = {}
        completions: dict[str, ManifestEntry] = {}
        for e in rows:
            if e.dataset == BATCHES:
                if e.ok:
                    completions[e.params["batch"]] = e
                continue
            batch = e.release.get("batch")
            if not e.ok or e.capped or (e.request_id, e.sha256, batch) in bad:
                continue
            if batch is None:
                plain.setdefault((e.request_id, e.sha256), e)
            else:
                by_batch.setdefault(batch, {})[e.request_id] = e  # the last good body of a request in its batch
        complete: dict[str, tuple[ManifestEntry, list[ManifestEntry]]] = {}
        for batch, done in completions.items():
            bodies = by_batch.get(batch, {})
            listed = self._listed(done)
            if listed is None:
                continue
            missing = [r for r in listed if r not in bodies]
            if missing:
                log.warning("batch %s (%s) is incomplete: %d listed response(s) have no usable body; not loaded",
                            batch, done.partition, len(missing))
                continue
            complete[batch] = (done, [bodies[r] for r in listed])
        newest: dict[tuple[str, str], str] = {}
        for batch, (done, _) in complete.items():  # manifest order: a later completion is newer
            key = (json.dumps(done.partition, sort_keys=True, default=str), str(done.release.get("vintage")))
            newest[key] = batch
        winners = set(newest.values())
        return list(plain.values()), {b: v for b, v in complete.items() if b in winners}

    def _listed(self, done: ManifestEntry) -> list[str] | None:
        """The request ids a batch-completion row lists (None: its body cannot be read)."""
        body = self.read_body(done.sha256, done)  # a missing or damaged object raises ArchiveError
        try:
            return sorted(set(json.loads(body)["request_ids"]))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("batch %s: list of responses unreadable (%s); not loaded", done.params.get("batch"), exc)
            return None


@dataclass
class VerifyReport:
    root: str
    manifest_rows: int = 0
    objects_ok: int = 0
    unreferenced: int = 0  # objects no manifest row names (a fetch killed between body and row)
    leftovers: list[str] = field(default_factory=list)  # temporary files of writes killed half-way (safe to delete)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _is_repair(raw: bytes) -> bool:
    try:
        row = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(row, dict) and set(row) == {REPAIR_KEY}


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def describe_request(e: ManifestEntry) -> str:
    """A request in words (dataset, URL and parameters; never a key)."""
    query = "&".join(f"{k}={v}" for k, v in sorted(e.params.items()))
    return f"{e.dataset} {e.url}" + (f"?{query}" if query else "")


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
