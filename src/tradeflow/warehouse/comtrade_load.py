"""Parse archived UN Comtrade bodies into ``raw.comtrade_records`` — set-based, in DuckDB.

The same parser reads live responses, the synthetic sample and the archive: DuckDB reads the
gzip bodies directly (``read_json``), each body once, straight into typed columns: ``data`` is
read as a list of STRUCTs of the fields the API documents
(:data:`~tradeflow.sources.comtrade_schema.RECORD_FIELDS`). Unknown extra fields are ignored; a
body with a missing required field, a count that does not match its data, an API error or
broken JSON is reported with the request it came from (:func:`check_bodies`, run before a
period is committed).

Large bodies: keyed calls return up to 250,000 records (~1 KB each, ~250 MB of JSON), far
above DuckDB's default ``maximum_object_size`` (16 MiB). The limit is sized from the manifest's
body sizes: bodies are grouped by size (≤ 16 MiB, then powers of two), each group read in one
set-based pass with a limit just above its largest body (a blanket 1 GB limit is much slower).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from tradeflow.archive import ManifestEntry, RawArchive
from tradeflow.errors import ParseError
from tradeflow.sources.comtrade_schema import RECORD_FIELDS, REQUIRED_FIELDS
from tradeflow.warehouse.db import build

ENVELOPE = {"count": "BIGINT", "data": "JSON[]", "error": "VARCHAR"}
#: The envelope with typed records: what the loader reads (each body once).
TYPED_ENVELOPE = {"count": "BIGINT", "error": "VARCHAR",
                  "data": "STRUCT(" + ", ".join(f'"{f}" {t}' for f, t in RECORD_FIELDS.items()) + ")[]"}
#: DuckDB's default read_json maximum_object_size.
DEFAULT_OBJECT_SIZE = 16 * 1024 * 1024


def object_size_for(nbytes: int) -> int:
    """A maximum_object_size that admits a body of ``nbytes``: 16 MiB, else the next power of two above it."""
    size = DEFAULT_OBJECT_SIZE
    while size <= nbytes + 1024:  # a little slack over the body itself
        size *= 2
    return size


@dataclass(frozen=True)
class BodyProblem:
    path: str
    problem: str


def check_bodies(conn: duckdb.DuckDBPyConnection, paths: Sequence[str], max_bytes: int = 0) -> list[BodyProblem]:
    """What is wrong with each body (empty list: all parse). Broken JSON raises ParseError.

    ``max_bytes``: the largest body's size (sizes DuckDB's maximum_object_size).
    """
    if not paths:
        return []
    required = list(REQUIRED_FIELDS)
    try:
        rows = conn.execute(
            """
            WITH env AS (
                SELECT filename, count, data, error
                FROM read_json($paths, columns=$envelope, filename=true, format='auto',
                               maximum_object_size=$max_object_size)
            ), recs AS (
                SELECT filename, unnest(data) AS j FROM env
            ), bad AS (
                SELECT filename,
                       count(*) FILTER (NOT list_has_all(json_keys(j), $required)) AS missing_rows,
                       list_distinct(flatten(list(list_filter($required, lambda f: NOT list_contains(json_keys(j), f)))))
                           AS missing_fields
                FROM recs GROUP BY filename
            )
            SELECT p.path, e.count, len(e.data), e.error, b.missing_rows, b.missing_fields
            FROM (SELECT unnest($paths) AS path) p
            LEFT JOIN env e ON e.filename = p.path
            LEFT JOIN bad b ON b.filename = p.path
            """,
            {"paths": list(paths), "envelope": ENVELOPE, "required": required,
             "max_object_size": object_size_for(max_bytes)},
        ).fetchall()
    except duckdb.Error as exc:
        raise ParseError(str(exc).splitlines()[0]) from exc
    problems = []
    for path, count, n, error, missing_rows, missing_fields in rows:
        if count is None and n is None:
            problems.append(BodyProblem(path, "empty body or no JSON object with 'count' and 'data'"))
        elif error:
            problems.append(BodyProblem(path, f"API error: {error}"))
        elif n is None:
            problems.append(BodyProblem(path, "no 'data' array"))
        elif count is not None and count != n:
            problems.append(BodyProblem(path, f"count says {count} records but data holds {n} (truncated?)"))
        elif missing_rows:
            problems.append(BodyProblem(path, f"{missing_rows} records lack required fields {sorted(missing_fields)}"))
    return problems


def check_entries(
    archive: RawArchive, entries: Sequence[ManifestEntry], conn: duckdb.DuckDBPyConnection | None = None
) -> list[tuple[ManifestEntry, str]]:
    """Check archived bodies; return (entry, message naming its request) per bad body."""
    own = conn is None
    conn = conn or duckdb.connect()
    try:
        paths = {str(archive.object_path(e.sha256)): e for e in entries}
        try:
            problems = check_bodies(conn, list(paths), max(e.bytes for e in entries) if entries else 0)
        except ParseError as exc:
            # Broken JSON: find which body, one at a time, so the message names the request.
            problems = []
            for path, e in paths.items():
                try:
                    problems += check_bodies(conn, [path], e.bytes)
                except ParseError as one:
                    problems.append(BodyProblem(path, str(one)))
            if not problems:
                raise exc
        return [(paths[p.path], f"{describe(paths[p.path])}: {p.problem}") for p in problems]
    finally:
        if own:
            conn.close()


def describe(e: ManifestEntry) -> str:
    """A request in words, never with a key."""
    query = "&".join(f"{k}={v}" for k, v in sorted(e.params.items()))
    return f"{e.url}?{query}"


def load_raw(conn: duckdb.DuckDBPyConnection, archive: RawArchive, entries: Sequence[ManifestEntry]) -> int:
    """(Re)build ``raw.comtrade_records`` from the archived bodies of ``entries``.

    Bodies are grouped by size and each group is read in one set-based pass (the first pass
    creates the table, the others append), with DuckDB's object-size limit just above the
    group's largest body. Nothing is registered on the connection, so an aborted transaction
    leaves nothing behind to clean up.
    """
    if not entries:
        raise ParseError(f"no usable UN Comtrade responses in {archive.root}: run a refresh with --source sample or live")
    groups: dict[int, list[ManifestEntry]] = {}
    for e in entries:
        groups.setdefault(object_size_for(e.bytes), []).append(e)
    total = 0
    for i, (size, group) in enumerate(sorted(groups.items())):
        total = build(
            conn,
            "raw.comtrade_records",
            append=i > 0,
            paths=list(dict.fromkeys(str(archive.object_path(e.sha256)) for e in group)),
            files=[str(archive.object_path(e.sha256)) for e in group],
            request_ids=[e.request_id for e in group],
            sha256s=[e.sha256 for e in group],
            vintages=[e.release.get("vintage") or e.fetched_at[:10] for e in group],
            fetched_ats=[e.fetched_at for e in group],
            is_samples=[e.is_sample for e in group],
            query_scopes=["all_reporters" if e.partition.get("reporter") == "all" else "reporter" for e in group],
            envelope=TYPED_ENVELOPE,
            max_object_size=size,
        )
    return total
