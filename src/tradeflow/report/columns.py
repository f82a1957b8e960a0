"""Column labels, units and formats for report tables, from the one registry in src/tradeflow/report/display.yaml.

Every table on every page goes through :func:`build_table`: each column is looked up under
``display.reports.<query>`` (the report query's own columns) or ``display.columns`` (marts
columns), a header tooltip comes from the column's description in the dbt schema files, and each cell gets its text
(nulls as an em dash, dates as dates, numbers in the column's unit) and the value it sorts by.
The CSV download carries the same header and rows as the table, with full-precision values.
"""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

from typing import Literal

import pandas as pd
from markupsafe import Markup

from tradeflow.configfile import Model, Text, check, keyed_entries, read_yaml
from tradeflow.errors import ConfigError, TradeflowError

#: What a null looks like on a page.
NULL = "—"
#: The first column of every CSV row of a table built from the synthetic sample.
SAMPLE_MARK = "SAMPLE (synthetic)"
#: Formats whose cells are numbers (right-aligned, numeric sort).
NUMERIC = {"int", "year", "usd", "share", "pct", "pp", "num", "ratio", "factor", "metric", "metric_diff", "change"}
FORMATS = NUMERIC | {"text", "code", "date", "month", "timestamp", "bool", "html"}
#: Tables longer than this are paged, with a filter box.
PAGE_ROWS = 25
#: What an empty table says when its page has nothing more precise to say.
EMPTY_NOTE = "No rows: the data loaded have none for this table."


class ReportError(TradeflowError):
    """A report table cannot be rendered (e.g. a column without a label in the registry)."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    label: str
    format: str
    doc: str = ""
    values: dict = field(default_factory=dict)


@dataclass
class Column:
    label: str  # header text, unit included
    numeric: bool
    doc: str = ""


@dataclass
class Cell:
    text: str
    sort: str  # the value the column sorts by, and the CSV value
    html: Markup | None = None  # replaces the text on the page when set
    css: str = ""


@dataclass
class Table:
    """A rendered-ready table: the template macro ``data_table`` draws it."""

    id: str
    caption: str
    columns: list[Column]
    rows: list[list[Cell]]
    csv_text: str  # the table as CSV: its labels, then each cell's sort value
    note: str = ""
    sample: bool = False  # set by the page shell on a page built from the synthetic sample
    # which rows come from a synthetic input, where a table mixes them with real ones (None: all rows, when .sample)
    sample_rows: list[bool] | None = None

    @property
    def csv_name(self) -> str:
        return f"{self.id}-SAMPLE.csv" if self.sample else f"{self.id}.csv"

    def is_sample_row(self, i: int) -> bool:
        return self.sample and (self.sample_rows is None or self.sample_rows[i])

    @property
    def mixed(self) -> bool:
        """Some rows from a synthetic input and some not: the page tags each sample row (the banner can't say which)."""
        return self.sample_rows is not None and any(self.sample_rows) and not all(self.sample_rows)

    @property
    def csv_href(self) -> str:
        """The CSV download; from the sample, every sample row says so in a first column (a CSV travels without its
        page); in a table mixing real rows with sample ones, a real row's mark is blank."""
        text = self.csv_text
        if self.sample:
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            for i, row in enumerate(csv.reader(io.StringIO(text))):
                w.writerow(["Data" if i == 0 else SAMPLE_MARK if self.is_sample_row(i - 1) else "", *row])
            text = buf.getvalue()
        return "data:text/csv;charset=utf-8;base64," + base64.b64encode(text.encode()).decode()

    @property
    def paged(self) -> bool:
        return len(self.rows) > PAGE_ROWS

    @property
    def page_rows(self) -> int:
        return PAGE_ROWS

    def html(self) -> Markup:
        """The table as the page shows it (the ``data_table`` macro)."""
        from tradeflow.report.shell import render_table

        return render_table(self)


class _ColumnEntry(Model):
    label: Text
    format: Literal[tuple(sorted(FORMATS))] = "text"  # type: ignore[valid-type]
    doc: str | None = None
    values: dict[str, str] | None = None


class _Display(Model):
    columns: dict[str, _ColumnEntry]
    reports: dict[str, dict[str, _ColumnEntry]] = {}


class _DisplayFile(Model):
    display: _Display


def _load_display(path: Path) -> _Display:
    """display.yaml, checked: a key given twice (the second silently won), a misspelt key (ignored) or an unknown
    format is a ConfigError naming the file, entry and field."""
    try:
        raw = read_yaml(str(path), path=path)
        return check(_DisplayFile, raw, str(path), keyed_entries(3)).display
    except ConfigError as exc:
        raise ReportError(str(exc)) from None


@cache
def _registry() -> tuple[dict, dict, dict, dict]:
    from tradeflow.contract import column_docs

    display = _load_display(Path(__file__).with_name("display.yaml"))
    dump = lambda e: e.model_dump(exclude_none=True)  # noqa: E731
    columns = {name: dump(e) for name, e in display.columns.items()}
    reports = {src: {name: dump(e) for name, e in cols.items()} for src, cols in display.reports.items()}
    tables, shared = column_docs()
    return columns, reports, shared, tables


def column_spec(name: str, source: str | None = None) -> ColumnSpec:
    """Label, format and doc of ``name`` in table or report query ``source``; ReportError when unregistered."""
    columns, reports, common, tables = _registry()
    entry = (reports.get(source) or {}).get(name) or columns.get(name)
    if not entry or not entry.get("label"):
        raise ReportError(f"column {name!r} of report table {source!r} has no label: add it under "
                          "display in src/tradeflow/report/display.yaml")
    fmt = entry.get("format", "text")
    if fmt not in FORMATS:
        raise ReportError(f"column {name!r}: unknown format {fmt!r} in src/tradeflow/report/display.yaml (one of {sorted(FORMATS)})")
    doc = entry.get("doc") or (tables.get(source) or {}).get(name) or common.get(name) or ""
    return ColumnSpec(name, entry["label"], fmt, str(doc), dict(entry.get("values") or {}))


def _isnull(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _num(v: float) -> str:
    """Full-precision number for sorting and CSV (no exponent for ordinary magnitudes)."""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(round(float(v), 10))


_USD_SCALES = ((1e9, "US$ bn", 2), (1e6, "US$ m", 1), (1e3, "US$ thousand", 1), (1.0, "US$", 0))


def _usd_scale(values: pd.Series) -> tuple[float, str, int]:
    nums = pd.to_numeric(values, errors="coerce").abs()
    nums = nums[nums > 0]
    typical = float(nums.median()) if len(nums) else 0.0
    for scale, unit, digits in _USD_SCALES:
        if typical >= scale * 0.95:
            return scale, unit, digits
    return _USD_SCALES[-1]


def _metric_text(v: float, unit: str, diff: bool = False) -> tuple[str, str]:
    if unit == "share":  # in % in the CSV too, like the share columns (its Unit column reads "share (%)")
        return (f"{100 * v:+,.1f} pp" if diff else f"{100 * v:,.1f} %"), _num(100 * v)
    return (f"US$ {v / 1e9:,.2f} bn" if abs(v) >= 1e9 else f"US$ {v / 1e6:,.1f} m"), _num(v)


def change_text(v: float, unit: str) -> str:
    """A ``change`` cell's text: ``v`` is a share's change (last − first, shown in pp) or else a relative change."""
    return f"{100 * v:+,.1f} pp" if unit == "share" else f"{100 * v:+,.0f} %"


def _date_text(v, fmt: str) -> str:
    if isinstance(v, str):
        v = pd.Timestamp(v)
    if isinstance(v, datetime | pd.Timestamp):
        if fmt == "month":
            return f"{v.year:04d}-{v.month:02d}"
        if fmt == "timestamp" and (v.hour or v.minute):
            return v.strftime("%Y-%m-%d %H:%M")
        return v.strftime("%Y-%m-%d")
    if isinstance(v, date):
        return f"{v.year:04d}-{v.month:02d}" if fmt == "month" else v.isoformat()
    return str(v)


def _cells(series: pd.Series, spec: ColumnSpec, units: pd.Series | None,
           usd: tuple[float, str, int] | None = None) -> tuple[str, list[Cell]]:
    """Header label (unit included) and the cells of one column (``usd``: the table's US$ scale)."""
    fmt, label = spec.format, spec.label
    cells: list[Cell] = []
    if fmt == "usd":
        own = _usd_scale(series)
        # one US$ unit per table, unless the column's values are too small to read in it (e.g. revisions)
        scale, unit, digits = usd if usd is not None and own[0] * 100 > usd[0] else own
        label = f"{label} ({unit})"
    elif fmt in ("share", "pct"):
        label = f"{label} (%)"
    elif fmt == "pp":
        label = f"{label} (pp)"
    elif fmt == "change":
        label = f"{label} (%, or pp for a share)"
    for i, v in enumerate(series.tolist()):
        if _isnull(v):
            cells.append(Cell(NULL, ""))
            continue
        if fmt in ("text", "code"):
            s = str(v)
            cells.append(Cell(str(spec.values.get(s, s)), str(spec.values.get(s, s))))
        elif fmt == "bool":
            cells.append(Cell("Yes" if bool(v) else "No", "1" if bool(v) else "0"))
        elif fmt in ("date", "month", "timestamp"):
            text = _date_text(v, fmt)
            cells.append(Cell(text, text))
        elif fmt == "year":
            cells.append(Cell(str(int(v)), str(int(v))))
        elif fmt == "int":
            cells.append(Cell(f"{int(v):,}", str(int(v))))
        elif fmt == "usd":
            x = float(v) / scale
            cells.append(Cell(f"{x:,.{digits}f}", _num(x)))
        elif fmt == "share":
            x = 100 * float(v)
            cells.append(Cell(f"{x:,.1f}", _num(x)))
        elif fmt in ("pct", "pp"):
            cells.append(Cell(f"{float(v):,.1f}", _num(float(v))))
        elif fmt in ("ratio", "factor"):
            cells.append(Cell(f"{float(v):,.2f}" if abs(float(v)) >= 0.1 or fmt == "factor" else f"{float(v):.3f}",
                              _num(float(v))))
        elif fmt in ("metric", "metric_diff"):
            unit = None if units is None else units.iloc[i]
            cells.append(Cell(*_metric_text(float(v), unit, diff=fmt == "metric_diff")))
        elif fmt == "change":
            unit = None if units is None else units.iloc[i]
            cells.append(Cell(change_text(float(v), unit), _num(100 * float(v))))
        else:  # num
            x = float(v)
            cells.append(Cell(f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.3g}", _num(x)))
    return label, cells


def build_table(df: pd.DataFrame, table_id: str, caption: str, source: str | None = None,
                html: dict[str, list] | None = None, css: dict[str, list[str]] | None = None, note: str = "",
                units: pd.Series | None = None, sample_rows=None) -> Table:
    """A table of ``df`` with every column labelled from the registry (``source``: marts table or report query).

    ``html`` gives page markup for a column's cells (their text and sort value still come from ``df``);
    ``css`` a class per cell; ``units`` the per-row unit of ``metric``, ``metric_diff`` and ``change`` columns
    (default: the ``unit`` column); ``sample_rows`` a flag per row: computed from a synthetic input (the row's
    ``is_sample``), for a table that may mix them with real rows. A table with no rows gets ``EMPTY_NOTE`` unless
    ``note`` says more.
    """
    html, css = html or {}, css or {}
    columns, grid = [], []
    if units is None and "unit" in df.columns:
        units = df["unit"]
    units = None if units is None else units.reset_index(drop=True)
    specs = {name: column_spec(str(name), source) for name in df.columns}
    money = [df[n] for n, sp in specs.items() if sp.format == "usd"]
    usd = _usd_scale(pd.concat(money, ignore_index=True)) if money else None
    for name in df.columns:
        spec = specs[name]
        label, cells = _cells(df[name], spec, units, usd)
        for i, cell in enumerate(cells):
            if name in html and html[name][i] is not None:
                cell.html = Markup(html[name][i])
            if name in css:
                cell.css = css[name][i] or ""
        columns.append(Column(label, spec.format in NUMERIC, spec.doc))
        grid.append(cells)
    rows = [list(r) for r in zip(*grid)] if grid else []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.label for c in columns])
    w.writerows([cell.sort for cell in row] for row in rows)
    flags = None
    if sample_rows is not None:
        flags = [bool(f) and not _isnull(f) for f in list(sample_rows)]
        if len(flags) != len(df):
            raise ReportError(f"table {table_id!r}: {len(df)} rows but {len(flags)} sample flags")
    return Table(table_id, caption, columns, rows, buf.getvalue(), note or ("" if len(df) else EMPTY_NOTE),
                 sample=any(flags or []), sample_rows=flags)

