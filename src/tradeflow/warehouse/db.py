"""The one warehouse writer.

DuckDB allows one read-write process per file. Every write goes through
:meth:`Warehouse.writer`, which takes a file lock first, so two writers queue (for up to
``lock_timeout``) instead of failing, and analysts never open this file: they open the published
snapshot (:mod:`tradeflow.warehouse.snapshot`). Whole refreshes do not queue: ``tradeflow
refresh`` holds a refresh-wide lock, and a second one on the same home fails at once naming the
first (:func:`tradeflow.refresh_lock.held`).

Models are SQL files ``sql/<schema>/<table>.sql`` holding one SELECT each; building a model
runs ``CREATE OR REPLACE TABLE <schema>.<table> AS <select>`` inside the caller's
transaction, so a failed build leaves the previous table whole.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from tradeflow.errors import WarehouseError
from tradeflow.settings import Settings

SCHEMAS = ("raw", "staging", "marts", "meta")

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def sql_dir() -> Path:
    """Where the SQL models live: ``$TRADEFLOW_SQL_DIR``, the checkout's ``sql/``, or the wheel copy."""
    if env := Settings.from_env().sql_dir:
        return env
    repo = Path(__file__).resolve().parents[3] / "sql"
    if repo.is_dir():
        return repo
    return Path(str(resources.files("tradeflow") / "_sql"))


def model_sql(name: str) -> str:
    """The SELECT of model ``schema.table`` (file ``sql/schema/table.sql``)."""
    schema, _, table = name.partition(".")
    path = sql_dir() / schema / f"{table}.sql"
    if not path.is_file():
        raise WarehouseError(f"no SQL model {name!r} (expected {path})")
    return path.read_text(encoding="utf-8")


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file with tradeflow's session settings (no progress bars in pipeline steps)."""
    try:
        conn = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open {path}: {str(exc).splitlines()[0]}") from exc
    conn.execute("SET enable_progress_bar = false")
    # TRADEFLOW_MEMORY_LIMIT (checked: it is spliced in), else the bounded default (settings.default_memory_limit);
    # beyond it DuckDB spills to <path>.tmp, next to the warehouse in the home
    conn.execute(f"SET memory_limit = '{Settings.from_env().memory_limit}'")
    return conn


def model_description(name: str) -> str:
    """The leading comment block of a model's SQL file (its documentation), as one paragraph."""
    lines = []
    for line in model_sql(name).splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    text = " ".join(lines)
    text = text.split(": ", 1)[1] if text.startswith(name + ":") else text
    return text[:1].upper() + text[1:]


def cores() -> int:
    """Threads for order-independent steps: ``$TRADEFLOW_THREADS``, else every core this process may use."""
    if env := Settings.from_env().threads:
        return env
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: Held while a block runs on a narrowed thread count: DuckDB's count is global to the database, and
#: dbt builds models side by side, so two such blocks must not restore each other's count.
_THREADS_LOCK = threading.RLock()


@contextmanager
def duckdb_threads(conn: duckdb.DuckDBPyConnection, threads: int) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block on ``threads`` DuckDB threads, then restore the count the database had.

    DuckDB's thread count is global to the database instance, and dbt builds as many models at
    once as there are cores over that one pool (sql/profiles.yml sets it once, when the database
    opens). A model that narrows it for a step (the goal metrics, user SQL that may sum DOUBLE:
    one thread) holds a process-wide lock for the block, so no other such block changes the count
    under it; the models beside it run on the narrowed pool meanwhile (slower, same result: they
    sum exactly) and get their cores back when it ends.
    """
    with _THREADS_LOCK:
        before = conn.execute("SELECT current_setting('threads')").fetchone()[0]
        conn.execute(f"SET threads = {int(threads)}")
        try:
            yield conn
        except BaseException:
            try:  # an aborted transaction refuses even SET: the caller's ROLLBACK comes first, keep its error
                conn.execute(f"SET threads = {int(before)}")
            except duckdb.Error:
                pass
            raise
        conn.execute(f"SET threads = {int(before)}")


def all_cores(conn: duckdb.DuckDBPyConnection):
    """Run the block on every core (:func:`cores`), then restore the thread count.

    For steps whose result cannot depend on the order rows are combined in: loading raw bodies,
    the raw grain checks and the quality gates (integer counts, samples in a total order). The
    writer connection otherwise runs one thread; the dbt models run on every core and sum money
    exactly (sql/macros/exact.sql), so their results do not depend on the order either.
    """
    return duckdb_threads(conn, cores())


class Warehouse:
    """The DuckDB file at ``path`` and the lock that serialises its writers."""

    def __init__(self, path: Path, lock_timeout: float = 600):
        self.path = Path(path)
        self.lock = FileLock(str(self.path) + ".lock")
        self.lock_timeout = lock_timeout

    @contextmanager
    def locked(self) -> Iterator[Path]:
        """The writer lock alone, for a writer that opens the file itself (dbt)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.lock.acquire(timeout=self.lock_timeout)
        except Timeout as exc:
            raise WarehouseError(f"another tradeflow process has been writing {self.path} for {self.lock_timeout}s") from exc
        try:
            yield self.path
        finally:
            self.lock.release()

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection, held under the writer lock, always closed."""
        with self.locked():
            conn = connect(self.path)
            # One thread unless a step asks for every core (all_cores): the writer's own steps are
            # small, and a step that sums DOUBLE would otherwise depend on the order threads finish.
            conn.execute("SET threads = 1")
            try:
                for schema in SCHEMAS:
                    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                yield conn
            finally:
                conn.close()

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection (fails if a writer holds the file: use the snapshot instead)."""
        if not self.path.exists():
            raise WarehouseError(f"no warehouse at {self.path}: run `tradeflow refresh` first")
        conn = connect(self.path, read_only=True)
        try:
            yield conn
        finally:
            conn.close()


def build(conn: duckdb.DuckDBPyConnection, name: str, append: bool = False, **params) -> int:
    """(Re)build model ``schema.table`` from its SQL file; returns its row count.

    ``append=True`` inserts the model's rows into the existing table instead (by column name),
    for models loaded in several set-based passes (e.g. bodies grouped by size).
    """
    select = model_sql(name)
    used = {p: params[p] for p in set(_PARAM.findall(select)) if p in params}
    missing = set(_PARAM.findall(select)) - set(params)
    if missing:
        raise WarehouseError(f"model {name} needs parameters {sorted(missing)}")
    try:
        if append:
            conn.execute(f"INSERT INTO {name} BY NAME\n{select}", used or None)
        else:
            conn.execute(f"CREATE OR REPLACE TABLE {name} AS\n{select}", used or None)
    except duckdb.Error as exc:
        raise WarehouseError(f"building {name} failed: {exc}") from exc
    return conn.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: commit on success, roll back on any error."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
