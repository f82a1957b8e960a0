"""The persistent Dagster instance `tradeflow refresh` records its runs in, and its event-log storage.

``$DAGSTER_HOME`` (default ``$TRADEFLOW_HOME/dagster``) gets ``pipelines/dagster.yaml`` on first use:
telemetry off, SQLite storage in that folder, no captured step logs, and
:class:`TradeflowSqliteEventLogStorage` for the event log.

Why a storage class: a refresh stores ~600 events, and Dagster's SQLite event log opens a new
SQLAlchemy engine and connection for every statement (several per event) and syncs the disk on
every commit: that alone doubled the sample refresh (9 s → 18 s). This subclass of Dagster's
consolidated SQLite event log (one ``history/event_log.db``, the same schema, readable by any
Dagster process) keeps one engine per process and sets ``synchronous=NORMAL`` (the database is
already in WAL mode, where NORMAL cannot corrupt it; a power cut may lose the last events).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from filelock import FileLock
from dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

from tradeflow.settings import Settings


class TradeflowSqliteEventLogStorage(ConsolidatedSqliteEventLogStorage):
    """Dagster's consolidated SQLite event log with one pooled engine per process (see the module doc)."""

    _engine: sa.Engine | None = None
    _engine_pid: int = 0
    #: Tables and asset-key columns seen to exist. Dagster asks before storing each event (has_table builds a new
    #: engine and connection every time: ~0.2 s of a refresh's ~100 events); what exists stays, what is missing
    #: is asked again.
    _present: frozenset[str] = frozenset()

    @classmethod
    def config_type(cls):
        return {"base_dir": dg.Field(dg.StringSource, is_required=False,
                                     description="Folder of event_log.db (default: $DAGSTER_HOME/history).")}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        base_dir = config_value.get("base_dir")
        if not base_dir:
            if not os.environ.get("DAGSTER_HOME"):
                raise dg.DagsterInvariantViolationError(
                    "TradeflowSqliteEventLogStorage: set base_dir in dagster.yaml or the DAGSTER_HOME variable")
            base_dir = os.path.join(os.environ["DAGSTER_HOME"], "history")
        return cls(base_dir=base_dir, inst_data=inst_data)

    def has_table(self, table_name: str) -> bool:
        if table_name in self._present:
            return True
        found = super().has_table(table_name)
        if found:
            self._present = self._present | {table_name}
        return found

    def _has_asset_key_col_on_connection(self, conn, column_name: str) -> bool:
        if f"asset_keys.{column_name}" in self._present:
            return True
        found = super()._has_asset_key_col_on_connection(conn, column_name)
        if found:
            self._present = self._present | {f"asset_keys.{column_name}"}
        return found

    def _pooled_engine(self) -> sa.Engine:
        if self._engine is not None and self._engine_pid != os.getpid():
            self._engine.dispose(close=False)  # a forked child: never share the parent's SQLite handles
            self._engine = None
        if self._engine is None:
            engine = sa.create_engine(self._conn_string, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn, _record):
                dbapi_conn.execute("PRAGMA synchronous=NORMAL")

            self._engine, self._engine_pid = engine, os.getpid()
        return self._engine

    @contextmanager
    def _connect(self):
        with self._pooled_engine().connect() as conn:
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        super().dispose()


TEMPLATE = Path(__file__).with_name("dagster.yaml")


def dagster_home(settings: Settings) -> Path:
    """``$DAGSTER_HOME``, else ``$TRADEFLOW_HOME/dagster``; created with ``pipelines/dagster.yaml`` on first use."""
    home = (settings.dagster_home or settings.home / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():  # the template, with the event log's folder spelled out (readable without DAGSTER_HOME)
        text = TEMPLATE.read_text(encoding="utf-8")
        cls = "  class: TradeflowSqliteEventLogStorage\n"
        text = text.replace(cls, cls + f"  config:\n    base_dir: {json.dumps(str(home / 'history'))}\n")
        part = config.with_name(f"dagster.yaml.{os.getpid()}.part")  # whole or absent: a kill mid-write would leave
        part.write_text(text, encoding="utf-8")                        # a truncated file every later run fails on
        os.replace(part, config)
    return home


def _storage_files() -> dict[str, tuple[str, frozenset[str]]]:
    """Each SQLite storage file of the instance: its main table, and every table Dagster creates in it."""
    from dagster._core.storage.event_log.schema import SqlEventLogStorageMetadata
    from dagster._core.storage.runs.schema import RunStorageSqlMetadata
    from dagster._core.storage.schedules.schema import ScheduleStorageSqlMetadata

    return {"history/event_log.db": ("event_logs", frozenset(SqlEventLogStorageMetadata.tables)),
            "history/runs.db": ("runs", frozenset(RunStorageSqlMetadata.tables)),
            "schedules/schedules.db": ("jobs", frozenset(ScheduleStorageSqlMetadata.tables))}


def _drop_half_created_storage(home: Path) -> None:
    """Remove SQLite storage files a killed process left half-created.

    Dagster creates the event log's file and its tables (one ``CREATE TABLE`` at a time, each
    committed on its own) only when the file does not exist yet: a refresh killed in between leaves
    a file missing some tables, and every later run fails on it ("no such table: event_logs", or
    "asset_keys"). A file missing a table whose main table holds no row never held a run or an
    event (they are written after all tables), so it is removed and Dagster creates it again. A
    file with rows is kept whatever it lacks (an older Dagster's storage: Dagster says to migrate);
    a file SQLite cannot read as a database is renamed ``<name>.unreadable`` and a new one created.
    """
    import sqlite3

    for name, (main, tables) in _storage_files().items():
        path = home / name
        if not path.exists():
            continue
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                held = main in present and conn.execute(f"SELECT EXISTS (SELECT 1 FROM {main})").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.OperationalError:  # locked or unreadable now: not ours to judge
            continue
        except sqlite3.DatabaseError:  # not a database (cut off in its header, or damaged): kept aside, not lost
            for part in _with_journal(path):
                if part.exists():
                    part.replace(part.with_name(part.name + ".unreadable"))
            continue
        if not tables <= present and not held:
            for part in _with_journal(path):
                part.unlink(missing_ok=True)


def _with_journal(path: Path) -> tuple[Path, ...]:
    return path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


@contextmanager
def open_instance(settings: Settings) -> Iterator[dg.DagsterInstance]:
    """The persistent instance of :func:`dagster_home`, with ``DAGSTER_HOME`` pointing at it while it is open."""
    home = dagster_home(settings)
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        # one process at a time judges and creates the storage files (never removes another's half-made file)
        with FileLock(str(home / ".storage.lock"), timeout=300):
            _drop_half_created_storage(home)
            instance = dg.DagsterInstance.from_config(str(home))
        with instance:
            yield instance
    finally:
        if before is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = before


#: Tags naming the process that runs a CLI refresh, so a later one can tell its runs died with it.
PID_TAG, HOST_TAG = "tradeflow/pid", "tradeflow/host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another account's process: alive
        return True
    return True


#: A CLI run is judged dead only when nothing was logged for it for this long (seconds): a live refresh logs every
#: step, and a guess wrong about a process (PID namespaces, reused ids) must not end a run that is still working.
STALE_AFTER = 3600


def fail_dead_cli_runs(instance: dg.DagsterInstance, now: float | None = None) -> list[str]:
    """Mark failed the CLI runs left in progress by a refresh process that no longer exists (killed, or its machine
    restarted) and silent for :data:`STALE_AFTER`: nothing else ever ends them, and an in-progress run holds the
    queue's one slot, so the nightly schedule's runs would wait behind it for good. Runs of a live process, of
    another host, re-executions (launched by Dagster with the CLI run's tags) and runs still logging are left alone."""
    host, ended = socket.gethostname(), []
    now = time.time() if now is None else now
    stuck = instance.get_runs(filters=dg.RunsFilter(
        statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.NOT_STARTED],
        tags={"tradeflow/origin": "cli"}))
    for run in stuck:
        pid = run.tags.get(PID_TAG, "")
        if (run.tags.get(HOST_TAG) != host or not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid))
                or "dagster/parent_run_id" in run.tags):
            continue
        last = instance.get_records_for_run(run.run_id, limit=1, ascending=False).records
        record = instance.get_run_record_by_id(run.run_id)
        seen = last[0].event_log_entry.timestamp if last else (record.create_timestamp.timestamp() if record else now)
        if now - seen < STALE_AFTER:
            continue
        instance.report_run_failed(run, message=f"the refresh process ({pid} on {host}) ended without finishing "
                                                "this run (killed or its machine restarted)")
        ended.append(run.run_id)
    return ended
