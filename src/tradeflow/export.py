"""`tradeflow export`: marts tables for people who live in Excel or notebooks (from the published snapshot).

- XLSX is streamed with xlsxwriter in ``constant_memory`` mode (rows go to disk as they are
  fetched), so every mart fits in a bounded amount of memory. Text cells are always written as
  text (``write_string``), never as formulas, whatever they start with.
- CSV text cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are
  prefixed with a single quote (OWASP, "CSV Injection"), so a spreadsheet opening the file
  shows the text instead of running it. Numbers are never altered.
- Every file is written under a temporary name in the output folder and renamed into place;
  on any failure the temporary file is removed and a previous export stays as it was.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb

from tradeflow.errors import TradeflowError
from tradeflow.settings import Settings
from tradeflow.warehouse.db import connect

#: Excel's row limit (one header row).
XLSX_MAX_ROWS = 1_048_575
#: Characters that make a spreadsheet treat a cell as a formula (OWASP CSV-injection guidance).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
            "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
_BATCH = 20_000


def neutralise(text: str) -> str:
    """A text cell as a spreadsheet may safely open it (OWASP: prefix formula starters with ``'``)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _sql_text(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _tmp(output: Path, name: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=output, prefix=f".{name}-", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


def _finish(tmp: Path, target: Path) -> None:
    from tradeflow.warehouse.snapshot import file_mode

    os.chmod(tmp, file_mode())
    os.replace(tmp, target)


def export_marts(settings: Settings, fmt: str, tables: list[str], output: Path) -> list[tuple[Path, dict[str, int]]]:
    """Write the marts ``tables`` (default: all); returns (file, {table: rows}) per file written."""
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
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TradeflowError(f"--output {output}: cannot create the folder ({exc.strerror})") from None
        counts = {t: conn.execute(f'SELECT count(*) FROM marts."{t}"').fetchall()[0][0] for t in names}
        if fmt == "xlsx":
            too_big = {t: n for t, n in counts.items() if n > XLSX_MAX_ROWS}
            if too_big:
                t, n = next(iter(too_big.items()))
                raise TradeflowError(f"marts.{t} has {n:,} rows, more than an Excel sheet holds; "
                                     "export it as csv or parquet")
            path = output / "tradeflow_marts.xlsx"
            _atomic(output, path, lambda tmp: _write_xlsx(conn, names, tmp))
            return [(path, counts)]
        out = []
        for t in names:
            path = output / f"{t}.{fmt}"
            _atomic(output, path, lambda tmp, t=t: _copy(conn, t, fmt, tmp))
            out.append((path, {t: counts[t]}))
        return out
    finally:
        conn.close()


def _atomic(output: Path, target: Path, write: Callable[[Path], None]) -> None:
    tmp = _tmp(output, target.name)
    try:
        write(tmp)
        _finish(tmp, target)
    except OSError as exc:
        raise TradeflowError(f"cannot write {target}: {exc.strerror or exc}") from None
    except duckdb.Error as exc:
        raise TradeflowError(f"cannot write {target}: {str(exc).splitlines()[0]}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _copy(conn: duckdb.DuckDBPyConnection, table: str, fmt: str, tmp: Path) -> None:
    if fmt == "parquet":
        conn.execute(f'COPY (SELECT * FROM marts."{table}" ORDER BY ALL) TO {_sql_text(tmp)} (FORMAT parquet)')
        return
    cols = conn.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts' "
                        "AND table_name = ? ORDER BY column_index", [table]).fetchall()
    starters = ", ".join(f"chr({ord(c)})" for c in FORMULA_START)
    exprs = [
        f"CASE WHEN left(t.\"{c}\", 1) IN ({starters}) THEN chr(39) || t.\"{c}\" ELSE t.\"{c}\" END AS \"{c}\""
        if t == "VARCHAR" else f't."{c}"'
        for c, t in cols
    ]
    order = ", ".join(f't."{c}"' for c, _ in cols)  # ORDER BY ALL over the stored values
    conn.execute(f'COPY (SELECT {", ".join(exprs)} FROM marts."{table}" AS t ORDER BY {order}) '
                 f"TO {_sql_text(tmp)} (HEADER, DELIMITER ',', FORMAT csv)")


def _write_xlsx(conn: duckdb.DuckDBPyConnection, names: list[str], tmp: Path) -> None:
    import xlsxwriter

    # constant_memory streams each sheet's rows through a scratch file: keep those in a folder
    # of our own, removed whatever happens (a failed export leaves no scratch file anywhere)
    with tempfile.TemporaryDirectory(prefix="tradeflow-xlsx-") as scratch:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "tmpdir": scratch, "nan_inf_to_errors": True,
                                            "strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False})
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
        time_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        bold = wb.add_format({"bold": True})
        for t in names:
            ws = wb.add_worksheet(t[:31])
            rel = conn.execute(f'SELECT * FROM marts."{t}" ORDER BY ALL')
            cols = [(d[0], str(d[1]).upper()) for d in rel.description]
            for j, (c, _) in enumerate(cols):
                ws.write_string(0, j, c, bold)
            writers = [_cell_writer(ws, typ, date_fmt, time_fmt) for _, typ in cols]
            i = 1
            while batch := rel.fetchmany(_BATCH):
                for row in batch:
                    for j, v in enumerate(row):
                        if v is not None:
                            writers[j](i, j, v)
                    i += 1
        wb.close()


def _cell_writer(ws, typ: str, date_fmt, time_fmt):
    """The typed xlsxwriter call for a DuckDB column type (text always as text, never a formula)."""
    if typ.startswith(_NUMERIC):
        return ws.write_number  # NaN/inf become Excel errors (nan_inf_to_errors), never text
    if typ == "BOOLEAN":
        return ws.write_boolean
    if typ == "DATE":
        return lambda i, j, v: ws.write_datetime(i, j, dt.datetime.combine(v, dt.time()), date_fmt)
    if typ.startswith("TIMESTAMP") and "TIME ZONE" not in typ:
        return lambda i, j, v: ws.write_datetime(i, j, v, time_fmt)
    if typ == "VARCHAR":
        return ws.write_string
    return lambda i, j, v: ws.write_string(i, j, str(v))
