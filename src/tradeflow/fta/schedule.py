"""Phase-II schedule files: read (CSV or XLSX), validate, store.

File format, one row per national tariff line (header names are case-insensitive):

| column | meaning |
|---|---|
| ``tariff_line`` | 8-digit national tariff line (dots and spaces are ignored: ``5205.1200`` = ``52051200``) |
| ``description`` | text |
| ``base_rate`` | base rate, ad valorem %, 0–1000 |
| ``category`` | staging category, one of the party's categories (``categories.yaml``, or ``--categories TABLE``) |

The HS version of the codes is declared on import (``--hs-version``, default HS2017, the
vintage of the Phase-II schedules). Validation rejects, with the row and field: duplicate
lines, rates out of range, unknown categories, malformed codes, and lines whose HS6 is not in
the declared HS version. Indicators compare lines with HS2017 trade and MFN rates: a line of
another HS version must convert cleanly to one HS2017 code, or the file is refused, naming the
line. Clean (marts.hs_concordance): the HS6 has exactly one HS2017 target and the pair is not
``is_ambiguous``, i.e. its UNSD correlation is 1:1 or n:1 (the code lies wholly within that one
HS2017 code) and the code has no correlation pair with another HS2017 code. A 1:n or n:n code
(e.g. HS2022 852411 display modules, n:n with HS2017 851712 telephones) would be priced and
weighted on a heading that is not its own: split such lines by HS2017 code, or import the
schedule in HS2017. A rejected file changes nothing: the schedule loaded before stays.

Category tables: a schedule is validated against the built-in table, or the one passed with
``--categories TABLE``, which is kept as ``$TRADEFLOW_HOME/schedules/categories.<PARTY>.yaml`` and
prices that party's lines only (an import without ``--categories`` goes back to the built-in
table). A ``schedules/categories.yaml`` saved by an earlier tradeflow still prices each party it
has a table for, until the next import makes it the other party's file. A refresh fails, naming
party, line, category and table, when a stored line's category is not in its party's table.

XLSX: the sheet whose header holds these columns is read; a workbook with several such
sheets is refused (naming them) unless ``--sheet NAME`` picks one. A formula cell is read as
the result Excel stored with it (and said so); one with no stored result is an error. A code
that was stored as a number and lost its leading zero is reported as such. A base_rate cell
formatted as a percentage is read as the percent Excel shows (0.05 shown as 5 % is 5, like a
CSV's "5%"). Rates that all look like fractions (every rate ≤ 1, some non-zero) are loaded with
a warning: rates are percent.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import AfterValidator, Field, model_validator

from tradeflow.configfile import Model, Url, Year, check, keyed_entries, read_yaml
from tradeflow.errors import ConfigError, TradeflowError

PARTIES = {"CHN": "China", "PAK": "Pakistan"}
COLUMNS = ["tariff_line", "description", "base_rate", "category"]


class ScheduleError(TradeflowError):
    """A schedule file failed validation (the message names the row and field)."""


@dataclass(frozen=True)
class Category:
    """A staging category. Its rate path is computed in SQL only (marts.fta_tariff_lines)."""

    code: str
    kind: str
    years: int = 0
    cut: float = 0.0
    label: str = ""
    first_cut_offset: int = 0


# -- categories.yaml as pydantic models ---------------------------------------------------------

class CategorySpec(Model):
    kind: Literal["immediate", "linear", "partial", "excluded"]
    years: int = Field(0, ge=0, le=50, strict=True)  # strict: `years: true` is not 1
    cut: float = 0.0
    label: str = ""
    share: float | None = Field(None, ge=0, le=1)  # share of the party's lines (the sample reproduces it)
    lines: int | None = Field(None, ge=0)  # number of lines, where the sources give a count

    @model_validator(mode="after")
    def _parameters(self) -> CategorySpec:
        if self.kind == "linear" and self.years < 1:
            raise ValueError("a linear category needs years >= 1")
        if self.kind == "partial" and not 0 < self.cut < 1:
            raise ValueError("a partial category needs 0 < cut < 1")
        # a parameter the kind does not use would be ignored: a category meant to be linear but typed immediate
        if self.kind != "linear" and "years" in self.model_fields_set:
            raise ValueError(f"years: kind {self.kind} takes no years (only linear does)")
        if self.kind != "partial" and "cut" in self.model_fields_set:
            raise ValueError(f"cut: kind {self.kind} takes no cut (only partial does)")
        return self


def _one_of(*allowed: int):
    def check(v: int) -> int:
        if v not in allowed:
            raise ValueError(f"must be {' or '.join(map(str, allowed))}, got {v}")
        return v
    return AfterValidator(check)


def _quoted(clause: str) -> str:
    if not clause.strip():
        raise ValueError("must quote the clause the convention comes from")
    return clause


class Conventions(Model):
    first_cut_offset: Annotated[int, Field(strict=True), _one_of(0, 1)]  # strict: `true` is not 1
    base_rate_year: Year  # Comtrade's and TRAINS' years
    status: str | None = None
    clause: Annotated[str, AfterValidator(_quoted)]
    sources: list[Url] = []


def _party_tables(raw: dict) -> dict:
    """Party → code → spec, codes as text (a YAML key 1 is category "1")."""
    return {str(party): ({str(code): spec for code, spec in cats.items()} if isinstance(cats, dict) else cats or {})
            for party, cats in raw.items() if party != "conventions"}


def _read_table(path: Path | None) -> tuple[dict, str]:
    if path is None:
        where = "categories.yaml (built in)"
        raw = read_yaml(where, text=resources.files("tradeflow.fta").joinpath("categories.yaml").read_text(encoding="utf-8"))
    else:
        where = str(path)
        raw = read_yaml(where, path=Path(path))
    if raw is None:
        return {}, where
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of conventions and party → category → settings")
    return raw, where


def load_conventions(path: Path | None = None) -> dict:
    """The schedule-reading conventions (``conventions`` in categories.yaml; the built-in ones when absent).

    first_cut_offset: schedule year of the first linear cut (0 = at entry into force, zero in year N−1);
    base_rate_year: the MFN year the base rates stand for; clause, sources, status: where it comes from."""
    raw, where = _read_table(path)
    conv = raw.get("conventions")
    if conv is None:
        if path is None:  # the built-in table must carry them: every schedule is read by them
            raise ConfigError(f"{where}: conventions: missing (required: first_cut_offset, base_rate_year, clause)")
        return load_conventions(None)
    checked = check(Conventions, conv, where, lambda loc, data: ("conventions", loc))
    return checked.model_dump(exclude_unset=True)


def load_categories(path: Path | None = None) -> dict[str, dict[str, Category]]:
    """Per party: category code → Category. Validates kinds and parameters."""
    raw, where = _read_table(path)
    offset = load_conventions(path).get("first_cut_offset", 0)
    tables = check(dict[str, dict[str, CategorySpec]], _party_tables(raw), where, keyed_entries(2))
    return {party: {code: Category(code, s.kind, s.years, s.cut, s.label, offset) for code, s in cats.items()}
            for party, cats in tables.items()}


def _cell_text(v, number_format: str = "") -> str:
    """A cell as text; a number formatted as a percentage (Excel shows 0.05 as 5 %) as the percent it shows, exactly."""
    if v is None:
        return ""
    if isinstance(v, int | float) and not isinstance(v, bool) and "%" in re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", number_format):
        return format((Decimal(repr(v)) * 100).normalize(), "f")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _read_xlsx(path: Path, sheet: str | None) -> tuple[pd.DataFrame, list[str]]:
    """The schedule sheet of a workbook as text, plus notes on formula cells read as stored results."""
    import openpyxl

    formulas = openpyxl.load_workbook(path, data_only=False)
    values = openpyxl.load_workbook(path, data_only=True)

    def header(ws) -> list[str]:
        first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
        return [_cell_text(c).strip().lower() for c in first]

    if sheet is not None:
        if sheet not in values.sheetnames:
            raise ScheduleError(f"{path}: no sheet {sheet!r}; the workbook has {values.sheetnames}")
        name = sheet
    else:
        candidates = [n for n in values.sheetnames if all(c in header(values[n]) for c in COLUMNS)]
        if len(candidates) > 1:
            raise ScheduleError(f"{path}: {len(candidates)} sheets hold schedule columns ({', '.join(candidates)}); "
                                "say which with --sheet NAME (or merge them into one sheet)")
        name = candidates[0] if candidates else values.sheetnames[0]
    ws_f, ws_v = formulas[name], values[name]
    cols = header(ws_v)
    rows, notes, empty = [], [], []
    for r, (frow, vrow) in enumerate(zip(ws_f.iter_rows(min_row=2), ws_v.iter_rows(min_row=2)), 2):
        for c, (fcell, v) in enumerate(zip(frow, vrow)):
            if c < len(cols) and cols[c] in COLUMNS and fcell.data_type == "f":
                (empty if v.value is None else notes).append(f"row {r}, field {cols[c]}: {fcell.value}")
        rows.append([_cell_text(v.value, v.number_format if c < len(cols) and cols[c] == "base_rate" else "")
                     for c, v in enumerate(vrow)])
    if empty:
        more = f" (and {len(empty) - 1} more)" if len(empty) > 1 else ""
        raise ScheduleError(f"{path} sheet {name!r}: {empty[0]} is a formula with no stored result{more}; "
                            "open and save the workbook in Excel, or paste the values, then import again")
    if notes:
        more = f" (and {len(notes) - 1} more)" if len(notes) > 1 else ""
        notes = [f"{path} sheet {name!r}: {len(notes)} formula cell(s) read as the results stored with them, "
                 f"e.g. {notes[0]}{more}"]
    width = max([len(cols), *map(len, rows)]) if rows else len(cols)
    names = [c or f"column_{i + 1}" for i, c in enumerate(cols + [""] * (width - len(cols)))]
    df = pd.DataFrame([row + [""] * (width - len(row)) for row in rows], columns=names, dtype=str)
    return df, notes


def read_schedule(path: Path, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV or XLSX schedule as text columns (validation happens in validate_schedule); rows whose every field
    is empty (a spreadsheet's trailing rows) are left out, the others keep their row numbers.

    Notes for the user (formula cells read as stored results) are in ``df.attrs["notes"]``."""
    path = Path(path)
    notes: list[str] = []
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            df, notes = _read_xlsx(path, sheet)
        elif path.suffix.lower() == ".csv":
            # blank lines kept (and dropped below as empty rows), the header the first line with text: row numbers
            # stay the file's
            with open(path, encoding="utf-8-sig") as f:
                lead = next((i for i, line in enumerate(f) if line.strip()), 0)
            df = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False, skiprows=lead)
            df.index += lead
        else:
            raise ScheduleError(f"{path}: schedule files must be .csv or .xlsx")
    except ScheduleError:
        raise
    except Exception as exc:  # pandas/openpyxl raise many types for unreadable files
        raise ScheduleError(f"{path}: cannot read the file ({type(exc).__name__}: {exc})") from None
    names = [str(c).strip().lower() for c in df.columns]
    # a header naming a schedule column twice (pandas reads a CSV's second one as "base_rate.1"; "Base_Rate" and
    # "base_rate" are one name here): which one holds the rates is unknowable, so it is refused
    named = [re.sub(r"\.\d+$", "", n) if re.sub(r"\.\d+$", "", n) in names else n for n in names]
    twice = sorted({n for n in named if n in COLUMNS and named.count(n) > 1})
    if twice:
        raise ScheduleError(f"{path}: the header names column {twice[0]!r} more than once; keep one {twice[0]} column")
    df.columns = names
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ScheduleError(f"{path}: missing column(s) {missing}; expected {COLUMNS}")
    df = df.fillna("")
    out = df[df.apply(lambda c: c.astype(str).str.strip()).ne("").any(axis=1)][COLUMNS]  # rows with every field empty: none
    out.attrs["notes"] = notes
    return out


def validate_schedule(df: pd.DataFrame, party: str, categories: dict[str, Category], known_hs6: set[str] | None,
                      where: str) -> pd.DataFrame:
    """Return the normalised schedule or raise ScheduleError naming the first bad row and field.

    Row numbers are those of the file (header = row 1)."""
    if party not in PARTIES:
        raise ConfigError(f"--party must be one of {sorted(PARTIES)}, got {party!r}")
    if df.empty:
        raise ScheduleError(f"{where}: the schedule has no rows")
    out = pd.DataFrame({"row": df.index + 2}, index=df.index)
    raw_line = df["tariff_line"].astype(str).str.strip()
    # dots only in the HS layout (0901.11.00, 090111.00): a first dot elsewhere is a number's decimal point, as a
    # spreadsheet writes 09011100 stored as a number (9011100.0), whose digits would read as another line
    dotted = raw_line.str.contains(".", regex=False) & ~raw_line.str.fullmatch(r"\d{4}(\d{2})?(\.[\d.\s]*)?")
    out["tariff_line"] = raw_line.str.replace(r"[.\s]", "", regex=True).where(~dotted, raw_line)
    out["description"] = df["description"].astype(str).str.strip()
    out["category"] = df["category"].astype(str).str.strip()
    rate_text = df["base_rate"].astype(str).str.strip().str.replace(r"\s*%$", "", regex=True)  # one "%", as "5 %"
    out["base_rate"] = pd.to_numeric(rate_text, errors="coerce")

    def fail(mask: pd.Series, field: str, why) -> None:
        if mask.any():
            first = out[mask].iloc[0]
            value = df.loc[first.name, field] if field in df else ""
            more = f" (and {int(mask.sum()) - 1} more rows)" if mask.sum() > 1 else ""
            raise ScheduleError(f"{where}: row {first['row']}, field {field}: {why(value)}{more}")

    def not_a_line(v) -> str:
        text = str(v).strip()
        if re.fullmatch(r"\d+\.0*", text):
            return (f"{v!r} is a number written with a decimal point, not a tariff line: store tariff lines as text "
                    "(digits, or dotted as 0901.11.00)")
        code = text.replace(".", "").replace(" ", "")
        if code.isdigit() and len(code) == 7:
            return (f"{v!r} is not an 8-digit tariff line: it looks like a number that lost its leading zero "
                    f"(0{code}?); store tariff lines as text")
        return f"{v!r} is not an 8-digit tariff line"

    fail(~out["tariff_line"].str.fullmatch(r"\d{8}"), "tariff_line", not_a_line)
    fail(out["base_rate"].isna(), "base_rate",
         lambda v: f"{v!r} is a spreadsheet formula, not a number: save the computed values (paste values) and "
                   "import again" if str(v).startswith("=") else f"{v!r} is not a number")
    fail((out["base_rate"] < 0) | (out["base_rate"] > 1000), "base_rate", lambda v: f"{v} is outside 0–1000 %")
    fail(~out["category"].isin(list(categories)), "category",
         lambda v: f"{v!r} is not a {party} category ({', '.join(categories)})")
    fail(out["tariff_line"].duplicated(keep="first"), "tariff_line", lambda v: f"{v!r} appears twice")
    if known_hs6 is not None:
        fail(~out["tariff_line"].str[:6].isin(known_hs6), "tariff_line",
             lambda v: f"{v!r}: HS6 {str(v).replace('.', '')[:6]} is not in the declared HS version")
    out["party"] = party
    return out.drop(columns="row")


def store_schedule(home: Path, party: str, schedule: pd.DataFrame, hs_version: str, source: str) -> Path:
    """Atomically replace ``$TRADEFLOW_HOME/schedules/<party>.csv`` (the previous one stays on any error)."""
    folder = Path(home) / "schedules"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{party}.csv"
    frame = schedule.assign(hs_version=hs_version, source=source)
    tmp = _staged(folder, f".{party}-", lambda path: frame.to_csv(path, index=False))
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _staged(folder: Path, prefix: str, write) -> Path:
    """A temporary file in ``folder`` written by ``write(path)`` and readable by analysts on other accounts (0644
    under the usual umask), to move into place with ``os.replace``; removed again if writing fails."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _file_mode())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def stored_schedules(home: Path) -> pd.DataFrame | None:
    """Schedules imported by users, or None when none were.

    Every column is read as the text stored (a category "01" or "NA" stays that code), the base rate as a number."""
    folder = Path(home) / "schedules"
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(folder.glob("*.csv"))] if folder.is_dir() else []
    if not frames:
        return None
    out = pd.concat(frames, ignore_index=True)
    return out.assign(base_rate=pd.to_numeric(out["base_rate"]))


def category_file(home: Path, party: str) -> Path | None:
    """The category table ``party``'s stored schedule was validated against: the one imported with it
    (``schedules/categories.<PARTY>.yaml``), else one an earlier tradeflow saved for both parties
    (``schedules/categories.yaml``) when it has the party, else None: the built-in table."""
    folder = Path(home) / "schedules"
    own, legacy = folder / f"categories.{party}.yaml", folder / "categories.yaml"
    if own.exists():
        return own
    return legacy if legacy.exists() and party in load_categories(legacy) else None


def schedules_frame(home: Path, known_hs6: dict[str, set[str]] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(schedule lines, category table) for both parties: imported ones where a user imported
    them, else the synthetic sample (is_sample = true). Each party's lines come with the category
    table they were validated against (the sample's: the built-in one); a stored line whose
    category that table lacks is an error, never a line left out."""
    from tradeflow.sample.schedules import sample_schedule

    stored = stored_schedules(home)
    frames, tables = [], []
    for party in PARTIES:
        mine = stored[stored["party"] == party] if stored is not None else None
        imported = mine is not None and not mine.empty
        path = category_file(home, party) if imported else None
        categories, conv = load_categories(path).get(party, {}), load_conventions(path)
        if imported:
            unknown = mine[~mine["category"].isin(list(categories))]
            if not unknown.empty:
                first = unknown.iloc[0]
                more = f" (and {len(unknown) - 1} more lines)" if len(unknown) > 1 else ""
                raise ScheduleError(
                    f"{Path(home) / 'schedules' / f'{party}.csv'}: row {unknown.index[0] - mine.index[0] + 2}: "
                    f"{party} line {first['tariff_line']!r} has category {first['category']!r}, which is not in the "
                    f"{party} category table in use ({path or 'categories.yaml (built in)'}){more}; import the "
                    f"schedule again (`tradeflow schedule import FILE --party {party} --categories TABLE` if its "
                    "categories are not the built-in ones)")
            frames.append(mine.assign(is_sample=False))
        else:
            s = sample_schedule(party)
            frames.append(validate_schedule(s, party, categories, None, "sample schedule")
                          .assign(hs_version="HS2017", source="sample", is_sample=True))
        tables += [(party, c.code, c.kind, c.years, c.cut, c.label, c.first_cut_offset, conv["base_rate_year"])
                   for c in categories.values()]
    lines = pd.concat(frames, ignore_index=True)[
        ["party", "tariff_line", "description", "base_rate", "category", "hs_version", "source", "is_sample"]]
    cats = pd.DataFrame(tables, columns=["party", "category", "kind", "years", "cut", "label", "first_cut_offset",
                                         "base_rate_year"])
    return lines, cats


def known_hs6_codes(snapshot: Path, hs_version: str) -> tuple[set[str], str]:
    """HS6 codes of ``hs_version`` known to the published warehouse, and where they come from."""
    from tradeflow.warehouse.db import connect

    if not Path(snapshot).exists():
        raise ScheduleError("no published warehouse to validate HS codes against: run `tradeflow refresh` first")
    conn = connect(snapshot, read_only=True)
    try:
        rows = conn.execute("SELECT code, source FROM marts.dim_hs WHERE hs_version = ? AND level = 6",
                            [hs_version]).fetchall()
    finally:
        conn.close()
    if not rows:
        raise ScheduleError(f"--hs-version {hs_version}: no such HS version in the warehouse (HS2017, HS2022)")
    sources = {s for _, s in rows}
    return {c for c, _ in rows}, ("the sample's codes only" if sources == {"sample"} else "the full nomenclature")


def check_hs2017_conversion(snapshot: Path, hs_version: str, clean: pd.DataFrame, where: str) -> None:
    """The tariff-line model works in HS2017 (the basis of its trade and MFN): every line of a schedule in another HS
    version must convert cleanly to one HS2017 code (one target in marts.hs_concordance, not is_ambiguous: see the
    module docstring), else the import is refused, naming it."""
    from tradeflow.warehouse.db import connect

    if hs_version == "HS2017":
        return
    codes = pd.DataFrame({"tariff_line": clean["tariff_line"], "hs6": clean["tariff_line"].str[:6]})
    conn = connect(snapshot, read_only=True)
    try:
        conn.register("schedule_codes", codes)
        bad = conn.execute("""
            SELECT c.tariff_line, c.hs6, list(DISTINCT k.to_code ORDER BY k.to_code) FILTER (WHERE k.to_code IS NOT NULL),
                   string_agg(DISTINCT k.relationship, ', ')
            FROM schedule_codes AS c
            LEFT JOIN marts.hs_concordance AS k
              ON k.from_version = ? AND k.to_version = 'HS2017' AND k.from_code = c.hs6
            GROUP BY ALL HAVING count(DISTINCT k.to_code) <> 1 OR bool_or(k.is_ambiguous) ORDER BY 1""",
                           [hs_version]).fetchall()
    finally:
        conn.close()
    if bad:
        line, hs6, targets, relationship = bad[0]
        why = ("has no HS2017 conversion in the warehouse (marts.hs_concordance)" if not targets
               else f"converts to {len(targets)} HS2017 codes ({', '.join(targets)})" if len(targets) > 1
               else f"has no clean HS2017 equivalent: the UNSD correlation with HS2017 {targets[0]} is {relationship} "
                    "(is_ambiguous in marts.hs_concordance: the code takes in parts of other HS2017 codes), so the "
                    "line would be priced and weighted on a heading that is not its own")
        more = f" (and {len(bad) - 1} more lines)" if len(bad) > 1 else ""
        raise ScheduleError(f"{where}: tariff line {line!r}: {hs_version} HS6 {hs6} {why}{more}; tradeflow compares "
                            "lines with HS2017 trade and MFN rates: split such lines by HS2017 code, or import the "
                            "schedule in HS2017")


def _file_mode() -> int:
    from tradeflow.warehouse.snapshot import file_mode

    return file_mode()


def fraction_warning(clean: pd.DataFrame, where: str) -> str | None:
    """A warning when every rate is ≤ 1 and some are not zero: they look like fractions, not percent."""
    rates = clean["base_rate"]
    if len(rates) and (rates <= 1).all() and (rates > 0).any():
        return (f"{where}: every base_rate is at most 1 (largest {rates.max():g}): they look like fractions, but "
                f"rates are percent ({rates.max():g} is read as {rates.max():g} %, not {rates.max() * 100:g} %); "
                "if they are fractions, multiply them by 100 and import again")
    return None


def _keep_categories(folder: Path, party: str, categories_file: Path | None):
    """Stage the table ``party``'s schedule was validated against (none: the built-in one) and return the function
    that keeps it as ``categories.<PARTY>.yaml``, to call once the schedule itself is stored: a refused or failed
    store leaves both as they were (a new table beside the old schedule would price the old lines with it). A
    ``categories.yaml`` an earlier tradeflow saved for both parties becomes the other party's table then."""
    folder.mkdir(parents=True, exist_ok=True)
    legacy, other = folder / "categories.yaml", next(p for p in PARTIES if p != party)
    # decided now, before anything is stored: a legacy table that no longer loads stops the import here
    legacy_to_other = (legacy.exists() and not (folder / f"categories.{other}.yaml").exists()
                       and other in load_categories(legacy))
    text = Path(categories_file).read_text(encoding="utf-8") if categories_file is not None else None
    tmp = None if text is None else _staged(folder, ".categories-", lambda path: Path(path).write_text(text, encoding="utf-8"))

    def commit() -> None:
        if legacy_to_other:
            os.replace(legacy, folder / f"categories.{other}.yaml")
        else:
            legacy.unlink(missing_ok=True)
        target = folder / f"categories.{party}.yaml"
        if tmp is None:
            target.unlink(missing_ok=True)
        else:
            os.replace(tmp, target)

    def discard() -> None:
        if tmp is not None:
            tmp.unlink(missing_ok=True)

    return commit, discard


def import_schedule(settings, file: Path, party: str, hs_version: str, categories_file: Path | None,
                    sheet: str | None = None):
    """Validate and store a user's schedule; returns (stored path, lines, warnings)."""
    categories = load_categories(categories_file)
    if party not in categories:
        raise ScheduleError(f"{categories_file or 'categories.yaml'}: no categories for {party}")
    if sheet is not None and Path(file).suffix.lower() not in (".xlsx", ".xlsm"):
        raise ScheduleError(f"--sheet applies to XLSX workbooks; {file} is not one")
    known, coverage = known_hs6_codes(settings.snapshot, hs_version)
    df = read_schedule(file, sheet)
    notes = list(df.attrs.get("notes", []))
    try:
        clean = validate_schedule(df, party, categories[party], known, str(file))
    except ScheduleError as exc:
        if "not in the declared HS version" in str(exc) and coverage != "the full nomenclature":
            raise ScheduleError(f"{exc} (the warehouse holds {coverage}; a live refresh loads the full HS lists)") from None
        raise
    check_hs2017_conversion(settings.snapshot, hs_version, clean, str(file))
    if warning := fraction_warning(clean, str(file)):
        notes.append(warning)
    keep, discard = _keep_categories(Path(settings.home) / "schedules", party, categories_file)
    try:
        path = store_schedule(settings.home, party, clean, hs_version, source=str(Path(file).name))
    except BaseException:
        discard()
        raise
    keep()
    return path, len(clean), notes
