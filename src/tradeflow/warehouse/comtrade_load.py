"""Parse archived UN Comtrade bodies into ``raw.comtrade_records`` — set-based, in DuckDB.

The same parser reads live responses, the synthetic sample and the archive: DuckDB reads the
gzip bodies directly (``read_json``), unnests ``data`` and casts each field to the type the API
documents (:data:`~tradeflow.sources.comtrade_schema.RECORD_FIELDS`). Unknown extra fields are
ignored; a body with a missing required field, a count that does not match its data, an API
error or broken JSON is reported with the request it came from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from tradeflow.archive import ManifestEntry, RawArchive
from tradeflow.errors import ParseError
from tradeflow.sources.comtrade_schema import RECORD_FIELDS, REQUIRED_FIELDS
from tradeflow.warehouse.db import build

ENVELOPE = {"count": "BIGINT", "data": "JSON[]", "error": "VARCHAR"}


@dataclass(frozen=True)
class BodyProblem:
    path: str
    problem: str


def check_bodies(conn: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> list[BodyProblem]:
    """What is wrong with each body (empty list: all parse). Broken JSON raises ParseError."""
    if not paths:
        return []
    required = list(REQUIRED_FIELDS)
    try:
        rows = conn.execute(
            """
            WITH env AS (
                SELECT filename, count, data, error
                FROM read_json($paths, columns=$envelope, filename=true, format='auto')
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
            {"paths": list(paths), "envelope": ENVELOPE, "required": required},
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
            problems = check_bodies(conn, list(paths))
        except ParseError as exc:
            # Broken JSON: find which body, one at a time, so the message names the request.
            problems = []
            for path in paths:
                try:
                    problems += check_bodies(conn, [path])
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
    """(Re)build ``raw.comtrade_records`` from the archived bodies of ``entries``."""
    files = pd.DataFrame(
        {
            "path": [str(archive.object_path(e.sha256)) for e in entries],
            "request_id": [e.request_id for e in entries],
            "sha256": [e.sha256 for e in entries],
            "vintage": [e.release.get("vintage") or e.fetched_at[:10] for e in entries],
            "fetched_at": [e.fetched_at for e in entries],
            "is_sample": [e.is_sample for e in entries],
            "query_scope": ["all_reporters" if e.partition.get("reporter") == "all" else "reporter" for e in entries],
        },
        columns=["path", "request_id", "sha256", "vintage", "fetched_at", "is_sample", "query_scope"],
    )
    if files.empty:
        raise ParseError(f"no usable UN Comtrade responses in {archive.root}: run a refresh with --source sample or live")
    required = {f: RECORD_FIELDS[f] for f in REQUIRED_FIELDS}
    optional = {f: t for f, t in RECORD_FIELDS.items() if f not in required}
    conn.register("archive_files", files)
    try:
        return build(
            conn,
            "raw.comtrade_records",
            # each object once: two manifest rows may share one body (a byte-identical retry or revision piece),
            # and the join on the path gives each row its records; a repeated path would read them twice
            paths=sorted(set(files["path"])),
            envelope=ENVELOPE,
            required_fields=json.dumps(required),
            optional_fields=json.dumps(optional),
        )
    finally:
        conn.unregister("archive_files")
