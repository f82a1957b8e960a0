"""Ad-hoc read-only SQL against the published snapshot (never the live warehouse file)."""

from __future__ import annotations

import duckdb

from tradeflow.errors import TradeflowError, WarehouseError
from tradeflow.settings import Settings
from tradeflow.warehouse.db import connect

#: Statement types an analyst may run; anything else would write.
READ_ONLY = {"SELECT", "EXPLAIN", "PRAGMA", "SET", "VARIABLE_SET"}


def run_readonly(settings: Settings, query: str) -> tuple[list[str], list[tuple]]:
    """Run ``query`` on the snapshot; returns (column names, rows)."""
    path = settings.snapshot
    if not path.exists():
        raise WarehouseError(f"no published snapshot at {path}: run `tradeflow refresh` first")
    conn = connect(path, read_only=True)
    try:
        try:
            statements = conn.extract_statements(query)
        except duckdb.Error as exc:
            raise TradeflowError(f"SQL error: {str(exc).splitlines()[0]}") from exc
        if not statements:
            raise TradeflowError("no SQL statement given")
        for st in statements:
            kind = st.type.name
            if kind not in READ_ONLY:
                raise TradeflowError(
                    f"refused: `tradeflow sql` is read-only and this is a {kind} statement; "
                    "the warehouse changes only through `tradeflow refresh`"
                )
        try:
            rel = conn.execute(query)
            columns = [d[0] for d in rel.description or []]
            return columns, rel.fetchall()
        except duckdb.Error as exc:
            raise TradeflowError(f"SQL error: {str(exc).splitlines()[0]}") from exc
    finally:
        conn.close()
