"""What `tradeflow status` reports: tables, vintages, the last run, failed checks."""

from __future__ import annotations

import duckdb

from tradeflow import refresh_lock, runlog
from tradeflow.settings import Settings
from tradeflow.warehouse.db import connect


def collect(settings: Settings) -> dict:
    tables = []
    if settings.snapshot.exists():
        conn = connect(settings.snapshot, read_only=True)
        try:
            names = conn.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema = 'marts' ORDER BY 1"
            ).fetchall()
            for (name,) in names:
                cols = {c for (c,) in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = ?",
                    [name]).fetchall()}
                sample = "count(*) FILTER (is_sample)" if "is_sample" in cols else "NULL"
                periods = "min(year)::VARCHAR || '–' || max(year)::VARCHAR" if "year" in cols else "NULL"
                vintage = "max(vintage)::VARCHAR" if "vintage" in cols else "NULL"
                rows = conn.execute(f"SELECT count(*), {sample}, {periods}, {vintage} FROM {name}").fetchall()[0]
                tables.append((name, *("" if v is None else v for v in rows)))
        finally:
            conn.close()
    return {"snapshot": str(settings.snapshot), "tables": tables, "last_run": runlog.last_run(settings.home),
            "last_publish": runlog.last_publish(settings.home), "refresh": refresh_lock.state(settings.home)}
