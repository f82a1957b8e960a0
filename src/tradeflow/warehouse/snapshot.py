"""Publish a read-only copy of the warehouse after each successful run.

Analysts, notebooks, ``tradeflow sql`` and the DuckDB CLI open the snapshot, never the live
file, so an open analyst session can neither block nor break the nightly writer. The copy is
written beside its final name and renamed into place: a reader sees the old snapshot or the
new one, never a half-written file (a reader holding the old one keeps its inode).

The copy gets the usual file mode (0666 less the umask, typically 0644) so analysts on other
accounts can read it. Temporary copies left by a killed publish are removed at the next one
(under the writer lock, so no other publish can be writing them). Every publish is recorded in
the run ledger with the archive inputs the build used, which ``--source archive`` checks
its own inputs against.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import duckdb

from tradeflow import runlog
from tradeflow.archive import now_utc
from tradeflow.warehouse.db import Warehouse

#: raw table → archive dataset it is built from (each row carries the request_id and is_sample of its body).
INPUT_TABLES = {"raw.comtrade_records": "comtrade.final", "raw.wits_tariffs": "wits.trains"}


def file_mode() -> int:
    """0666 less the process umask (what ``open()`` would have created)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def clean_stale(folder: Path) -> list[Path]:
    """Remove temporary copies a killed publish left behind (call only under the writer lock)."""
    stale = sorted(Path(folder).glob(".publish-*")) if Path(folder).is_dir() else []
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def build_inputs(conn: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Per archive dataset: distinct requests the warehouse was built from, live and sample."""
    out: dict[str, dict[str, int]] = {}
    for table, dataset in INPUT_TABLES.items():
        try:
            rows = conn.execute(
                f"SELECT CASE WHEN is_sample THEN 'sample' ELSE 'live' END, count(DISTINCT request_id) "
                f"FROM {table} GROUP BY 1").fetchall()
        except duckdb.Error:
            continue  # an older warehouse without that table
        out[dataset] = {kind: int(n) for kind, n in rows}
    return out


def publish(warehouse: Warehouse, target: Path, home: Path | None = None) -> Path:
    """Checkpoint the warehouse, atomically replace ``target`` with a copy, record it in the ledger."""
    target.parent.mkdir(parents=True, exist_ok=True)
    home = Path(home) if home is not None else target.parent.parent
    started = now_utc()
    with warehouse.writer() as conn:
        clean_stale(target.parent)
        conn.execute("CHECKPOINT")
        inputs = build_inputs(conn)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".publish-", suffix=".duckdb")
        os.close(fd)
        try:
            shutil.copyfile(warehouse.path, tmp)
            os.chmod(tmp, file_mode())
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        runlog.append(home, runlog.RunRecord(
            run_id=f"publish-{started}", started_at=started, finished_at=now_utc(), source="", years="",
            success=True, kind="publish", origin="publish", inputs=inputs,
            assets={"published/snapshot": {"path": str(target), "bytes": target.stat().st_size}},
        ))
    return target


def check_archive_complete(home: Path, archive) -> None:
    """``--source archive``: fail loudly when the build would use fewer requests of a dataset, live or
    sample, than the last publish was built from (a fetch killed mid-way, a lost manifest row).

    The build's own selection is mirrored: once a dataset has live bodies they replace the sample,
    so three live WITS bodies from an interrupted fetch do not silently replace twenty sample ones."""
    from tradeflow.archive import ArchiveError

    prev = runlog.last_publish(home)
    if prev is None:
        return
    for dataset, used in sorted(prev.inputs.items()):
        have: dict[str, set[str]] = {"live": set(), "sample": set()}
        for e in archive.loadable(dataset):
            have["sample" if e.is_sample else "live"].add(e.request_id)
        selected = {"live": len(have["live"]), "sample": 0 if have["live"] else len(have["sample"])}
        for kind, n in sorted(used.items()):
            if n and selected[kind] < n:
                now = ", ".join(f"{m} {k}" for k, m in selected.items() if m) or "none"
                raise ArchiveError(
                    f"--source archive: the last publish ({prev.finished_at}) was built from {n} {kind} {dataset} "
                    f"request(s) but the archive now offers {selected[kind]} (it would use: {now}); the archive is "
                    "incomplete (an interrupted fetch?): run `tradeflow refresh --source live` (or sample) to complete it")
