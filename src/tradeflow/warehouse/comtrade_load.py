"""Parse archived UN Comtrade bodies into ``raw.comtrade_records`` — set-based, in DuckDB.

The same parser reads live responses, the synthetic sample and the archive: DuckDB reads the
gzip bodies directly (``read_json``), each body once, straight into typed columns: ``data`` is
read as a list of STRUCTs of the fields the API documents
(:data:`~tradeflow.sources.comtrade_schema.RECORD_FIELDS`). Unknown extra fields are ignored; a
body with a missing required field, a count that does not match its data, an API error or
broken JSON is reported with the request it came from (:func:`check_bodies`, run before a
period is committed; one pass over the bodies, reduced per file).

Incremental: ``raw.comtrade_records`` keeps its rows keyed by the body they came from
(``request_id``, ``sha256``), so a refresh reads only bodies not loaded yet and deletes the rows
of bodies no longer loadable (:func:`load_raw`); a no-op refresh reads no body at all. Which
bodies the table holds is kept beside it (``meta.comtrade_bodies``, one row per body), so finding
what is new costs the manifest, not the rows.

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
from tradeflow.warehouse.db import all_cores, build, cores, model_sql

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

    One pass over the bodies, reduced per file as it is read (no records kept):
    envelope, count against data, and how many records lack a required field. Only for the
    rare body that has such records is a second query run, to name the missing fields.
    ``max_bytes``: the largest body's size (sizes DuckDB's maximum_object_size).
    """
    if not paths:
        return []
    required = list(REQUIRED_FIELDS)
    read = ("read_json($paths, columns=$envelope, filename=true, format='auto', "
            "maximum_object_size=$max_object_size)")
    args = {"paths": list(paths), "envelope": ENVELOPE, "max_object_size": object_size_for(max_bytes)}
    try:
        rows = conn.execute(
            f"""
            WITH recs AS (  -- an empty or missing data array still gives its file one row (j NULL)
                SELECT filename, count, error, len(data) AS n,
                       unnest(CASE WHEN len(data) > 0 THEN data ELSE [NULL::JSON] END) AS j
                FROM {read}
            ), env AS (
                SELECT filename, any_value(count) AS count, any_value(n) AS n, any_value(error) AS error,
                       count(*) FILTER (WHERE j IS NOT NULL AND NOT list_has_all(json_keys(j), $required)) AS missing_rows
                FROM recs GROUP BY filename
            )
            SELECT p.path, e.count, e.n, e.error, e.missing_rows
            FROM (SELECT unnest($paths) AS path) p
            LEFT JOIN env e ON e.filename = p.path
            """,
            {**args, "required": required},
        ).fetchall()
        lacking = [r[0] for r in rows if r[4] and not r[3] and (r[1] is None or r[1] == r[2])]
        fields = {}
        if lacking:
            fields = dict(conn.execute(
                f"""
                SELECT filename, list_sort(list_distinct(flatten(list(
                           list_filter($required, lambda f: NOT list_contains(json_keys(j), f))))))
                FROM (SELECT filename, unnest(data) AS j FROM {read})
                GROUP BY filename
                """,
                {**args, "paths": lacking, "required": required},
            ).fetchall())
    except duckdb.Error as exc:
        raise ParseError(str(exc).splitlines()[0]) from exc
    problems = []
    for path, count, n, error, missing_rows in rows:
        if count is None and n is None:
            problems.append(BodyProblem(path, "empty body or no JSON object with 'count' and 'data'"))
        elif error:
            problems.append(BodyProblem(path, f"API error: {error}"))
        elif n is None:
            problems.append(BodyProblem(path, "no 'data' array"))
        elif count is not None and count != n:
            problems.append(BodyProblem(path, f"count says {count} records but data holds {n} (truncated?)"))
        elif missing_rows:
            problems.append(BodyProblem(path, f"{missing_rows} records lack required fields {sorted(fields.get(path, []))}"))
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


#: Where the load remembers the shape it built raw.comtrade_records with (model SQL + envelope).
STATE_TABLE = "meta.comtrade_load"
#: Size and mtime of every archived object loaded, as last re-hashed (a changed stat means re-hash it).
OBJECTS_TABLE = "meta.comtrade_objects"
#: The bodies raw.comtrade_records holds: one row per manifest entry loaded (its key columns, :data:`_KEY`),
#: written with every change of the table, so "which bodies are loaded" costs the bodies, not the rows.
BODIES_TABLE = "meta.comtrade_bodies"


def _stat(archive: RawArchive, sha: str) -> tuple[int, int] | None:
    try:
        st = archive.object_path(sha).stat()
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns


def _verify(archive: RawArchive, entries: Sequence[ManifestEntry]) -> None:
    """Re-hash these bodies (on every core: gzip and sha256 release the GIL); the first bad one, in order, raises."""
    from concurrent.futures import ThreadPoolExecutor

    unique = list({e.sha256: e for e in entries}.values())
    if len(unique) < 2:
        archive.verify_objects(unique)
        return
    with ThreadPoolExecutor(max_workers=cores()) as pool:
        for _ in pool.map(lambda e: archive.verify_objects([e]), unique):
            pass


def verify_for_load(conn: duckdb.DuckDBPyConnection, archive: RawArchive, entries: Sequence[ManifestEntry],
                    new: Sequence[ManifestEntry]) -> None:
    """Integrity of what the warehouse holds, at the cost of what changed.

    Bodies about to be read are re-hashed. Bodies loaded before are re-hashed only when their
    object's size or mtime differs from when they were last verified (or it is missing): any
    rewrite of a file — bit flip by a tool, truncation, a swapped object — shows there.
    ``tradeflow verify`` re-hashes everything, whatever the stat says.
    """
    known: dict[str, tuple[int, int]] = {}
    if conn.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'comtrade_objects'"
                    ).fetchall()[0][0]:
        known = {sha: (size, mtime) for sha, size, mtime in conn.execute(f"SELECT * FROM {OBJECTS_TABLE}").fetchall()}
    fresh = {e.sha256 for e in new}
    _verify(archive, [e for e in entries if e.sha256 in fresh or _stat(archive, e.sha256) != known.get(e.sha256)])


def _remember_objects(conn: duckdb.DuckDBPyConnection, archive: RawArchive, entries: Sequence[ManifestEntry]) -> None:
    stats = {e.sha256: _stat(archive, e.sha256) for e in entries}
    shas = sorted(k for k, v in stats.items() if v is not None)
    conn.execute(f"""CREATE OR REPLACE TABLE {OBJECTS_TABLE} AS
                     SELECT unnest($s) AS sha256, unnest($b) AS bytes, unnest($m) AS mtime_ns""",
                 {"s": shas, "b": [stats[k][0] for k in shas], "m": [stats[k][1] for k in shas]})


def _fingerprint() -> str:
    import hashlib
    import json

    text = model_sql("raw.comtrade_records") + json.dumps(TYPED_ENVELOPE, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: What identifies the rows one manifest entry put into raw.comtrade_records: its body and the entry's own metadata.
_KEY = ("request_id", "sha256", "vintage", "fetched_at", "is_sample", "query_scope")


def _entry_columns(entries: Sequence[ManifestEntry]) -> dict[str, list]:
    return {
        "request_ids": [e.request_id for e in entries],
        "sha256s": [e.sha256 for e in entries],
        "vintages": [e.release.get("vintage") or e.fetched_at[:10] for e in entries],
        "fetched_ats": [e.fetched_at for e in entries],
        "is_samples": [e.is_sample for e in entries],
        "query_scopes": ["all_reporters" if e.partition.get("reporter") == "all" else "reporter" for e in entries],
    }


#: The entries as rows typed like raw.comtrade_records' key columns (i: position in the list).
_WANTED = """SELECT unnest(range(len($request_ids))) AS i, unnest($request_ids) AS request_id, unnest($sha256s) AS sha256,
                    CAST(unnest($vintages) AS DATE) AS vintage, CAST(unnest($fetched_ats) AS TIMESTAMP) AS fetched_at,
                    unnest($is_samples) AS is_sample, unnest($query_scopes) AS query_scope"""


def _loaded(conn: duckdb.DuckDBPyConnection, fingerprint: str) -> bool:
    """Whether raw.comtrade_records can be updated in place (else it is rebuilt whole)."""
    # no query that can fail here: an error would abort the caller's transaction
    (have_state, have_table, have_bodies) = conn.execute(
        "SELECT count(*) FILTER (WHERE schema_name = 'meta' AND table_name = 'comtrade_load'), "
        "count(*) FILTER (WHERE schema_name = 'raw' AND table_name = 'comtrade_records'), "
        "count(*) FILTER (WHERE schema_name = 'meta' AND table_name = 'comtrade_bodies') FROM duckdb_tables()").fetchall()[0]
    if not (have_state and have_table and have_bodies):  # no list of its bodies: a warehouse from before it
        return False
    (have,) = conn.execute(f"SELECT any_value(fingerprint) FROM {STATE_TABLE}").fetchall()[0]
    return have == fingerprint


def load_raw(conn: duckdb.DuckDBPyConnection, archive: RawArchive, entries: Sequence[ManifestEntry],
             full: bool = False) -> int:
    """Bring ``raw.comtrade_records`` to exactly the archived bodies of ``entries``; returns its row count.

    Incremental by batch: rows are keyed by the body they came from (request_id, sha256), so
    only bodies not yet loaded are read, and rows of bodies no longer loadable (marked failed,
    superseded by live data, gone from the manifest) are deleted. A change of the model's SQL or
    record types (or ``full=True``) rebuilds the table from every body. The caller's transaction
    makes the whole change all-or-nothing.

    Bodies are grouped by size and each group is read in one set-based pass, with DuckDB's
    object-size limit just above the group's largest body. Nothing is registered on the
    connection, so an aborted transaction leaves nothing behind to clean up.
    """
    if not entries:
        raise ParseError(f"no usable UN Comtrade responses in {archive.root}: run a refresh with --source sample or live")
    fingerprint = _fingerprint()
    incremental = not full and _loaded(conn, fingerprint)
    cols = _entry_columns(entries)
    key = ", ".join(_KEY)
    if not incremental:
        new = list(entries)
    else:
        # rows of entries no longer loadable (failed, superseded, another batch's metadata) go
        conn.execute(f"""DELETE FROM raw.comtrade_records WHERE ({key}) IN (
                            SELECT ({key}) FROM (SELECT {key} FROM {BODIES_TABLE}
                                                 EXCEPT SELECT {key} FROM ({_WANTED})))""", cols)
        todo = conn.execute(f"""SELECT i FROM ({_WANTED}) w
                                WHERE ({key}) NOT IN (SELECT ({key}) FROM {BODIES_TABLE})
                                ORDER BY i""", cols).fetchall()
        new = [entries[i] for (i,) in todo]
    verify_for_load(conn, archive, entries, new)  # DuckDB reads the files directly: their content first
    groups: dict[int, list[ManifestEntry]] = {}
    for e in new:
        groups.setdefault(object_size_for(e.bytes), []).append(e)
    with all_cores(conn):  # reading bodies sums nothing: every core, same rows
        for i, (size, group) in enumerate(sorted(groups.items())):
            _load_group(conn, archive, group, size, incremental or i > 0)
    conn.execute("CREATE SCHEMA IF NOT EXISTS meta")
    conn.execute(f"CREATE OR REPLACE TABLE {BODIES_TABLE} AS SELECT DISTINCT {key} FROM ({_WANTED})", cols)
    _remember_objects(conn, archive, entries)
    conn.execute(f"CREATE OR REPLACE TABLE {STATE_TABLE} AS SELECT $f AS fingerprint, now()::TIMESTAMP AS loaded_at",
                 {"f": fingerprint})
    return conn.execute("SELECT count(*) FROM raw.comtrade_records").fetchall()[0][0]


def _load_group(conn: duckdb.DuckDBPyConnection, archive: RawArchive, group: list[ManifestEntry], size: int,
                append: bool) -> None:
    """One set-based read of a group of bodies (one read_json call over all their files)."""
    build(
        conn,
        "raw.comtrade_records",
        append=append,
        paths=list(dict.fromkeys(str(archive.object_path(e.sha256)) for e in group)),
        files=[str(archive.object_path(e.sha256)) for e in group],
        **_entry_columns(group),
        envelope=TYPED_ENVELOPE,
        max_object_size=size,
    )
