"""Publish a read-only copy of the warehouse after each successful run.

Analysts, notebooks, ``tradeflow sql`` and the DuckDB CLI open the snapshot, never the live
file, so an open analyst session can neither block nor break the nightly writer. The copy is
written beside its final name and renamed into place: a reader sees the old snapshot or the
new one, never a half-written file (a reader holding the old one keeps its inode).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tradeflow.warehouse.db import Warehouse


def publish(warehouse: Warehouse, target: Path) -> Path:
    """Checkpoint the warehouse and atomically replace ``target`` with a copy of it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with warehouse.writer() as conn:
        conn.execute("CHECKPOINT")
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".publish-", suffix=".duckdb")
        os.close(fd)
        try:
            shutil.copyfile(warehouse.path, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return target
