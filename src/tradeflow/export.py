"""`tradeflow export`: marts tables for people who live in Excel or notebooks (from the published snapshot)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tradeflow.errors import TradeflowError
from tradeflow.settings import Settings
from tradeflow.warehouse.db import connect

#: Excel's row limit (one header row).
XLSX_MAX_ROWS = 1_048_575


def export_marts(settings: Settings, fmt: str, tables: list[str], output: Path) -> list[Path]:
    if not settings.snapshot.exists():
        raise TradeflowError(f"no published snapshot at {settings.snapshot}: run `tradeflow refresh` first")
    conn = connect(settings.snapshot, read_only=True)
    try:
        known = [t for (t,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").fetchall()]
        names = [t.removeprefix("marts.") for t in tables] or known
        unknown = [t for t in names if t not in known]
        if unknown:
            raise TradeflowError(f"--table: no marts table {unknown}; known: {', '.join(known)}")
        output.mkdir(parents=True, exist_ok=True)
        if fmt in ("csv", "parquet"):
            out = []
            for t in names:
                path = output / f"{t}.{fmt}"
                option = "(HEADER, DELIMITER ',')" if fmt == "csv" else "(FORMAT parquet)"
                conn.execute(f"COPY (SELECT * FROM marts.{t} ORDER BY ALL) TO '{path}' {option}")
                out.append(path)
            return out
        import pandas as pd

        path = output / "tradeflow_marts.xlsx"
        fd, tmp = tempfile.mkstemp(dir=output, suffix=".xlsx")
        os.close(fd)
        try:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
                for t in names:
                    n = conn.execute(f"SELECT count(*) FROM marts.{t}").fetchall()[0][0]
                    if n > XLSX_MAX_ROWS:
                        raise TradeflowError(f"marts.{t} has {n:,} rows, more than an Excel sheet holds; "
                                             "export it as csv or parquet")
                    conn.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").df().to_excel(xl, sheet_name=t[:31], index=False)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return [path]
    finally:
        conn.close()
