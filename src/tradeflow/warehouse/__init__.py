"""The DuckDB warehouse: one writer, SQL models from ``sql/``, a published read-only snapshot."""

from tradeflow.warehouse.db import Warehouse, sql_dir

__all__ = ["Warehouse", "sql_dir"]
