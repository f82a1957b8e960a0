"""Load and validate the curated YAML configuration (Khunjerab calendar, GACC events, baskets, goals)."""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from tradeflow.errors import ConfigError

URL = re.compile(r"https?://\S+")
CALENDAR_START, CALENDAR_END = dt.date(2010, 1, 1), dt.date(2030, 12, 1)


def _read(name: str, path: Path | None = None):
    where = str(path) if path else f"tradeflow/green_channel/{name}"
    try:
        text = Path(path).read_text(encoding="utf-8") if path else \
            resources.files("tradeflow.green_channel").joinpath(name).read_text(encoding="utf-8")
        return yaml.safe_load(text), where
    except (OSError, yaml.YAMLError, ValueError) as exc:  # ValueError: YAML dates such as 2023-13-01
        raise ConfigError(f"{where}: cannot read ({exc}; dates must be valid YYYY-MM-DD)") from None


def _date(value, where: str, field: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: {field} {value!r} is not a date (YYYY-MM-DD)") from None


def _source(entry: dict, where: str) -> str:
    src = str(entry.get("source") or "")
    if not URL.fullmatch(src):
        raise ConfigError(f"{where}: source must be a URL, got {src!r}")
    return src


def _hs(codes, where: str) -> list[str]:
    if not isinstance(codes, list) or not codes:
        raise ConfigError(f"{where}: hs must be a non-empty list of HS codes")
    out = [str(c) for c in codes]
    bad = [c for c in out if not re.fullmatch(r"\d{2}|\d{4}|\d{6}", c)]
    if bad:
        raise ConfigError(f"{where}: {bad} are not HS codes (2, 4 or 6 digits, quoted)")
    return out


def khunjerab_months(path: Path | None = None) -> pd.DataFrame:
    """One row per month: whether road trade could cross Khunjerab–Sost, and why (with the source).

    regime: seasonal_closure, or year_round from the month of year_round.from; closure_month: the
    calendar month is one of the seasonal closure's months (the winter months of the indicators);
    status: open, closed, adhoc_opening, or suspended for every month a suspension overlaps."""
    cfg, where = _read("khunjerab.yaml", path)
    try:
        closure, year_round, events = cfg["seasonal_closure"], cfg["year_round"], cfg.get("events") or []
        months, until = [int(m) for m in closure["months"]], _date(closure["until"], where, "seasonal_closure.until")
        since = _date(year_round["from"], where, "year_round.from")
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{where}: missing {exc}") from None
    src_closure, src_year_round = _source(closure, where), _source(year_round, where)
    parsed = []
    for i, e in enumerate(events):
        w = f"{where}: events[{i}]"
        if e.get("type") not in ("adhoc_opening", "suspension"):
            raise ConfigError(f"{w}: type must be adhoc_opening or suspension")
        if not e.get("start") or not e.get("end"):
            raise ConfigError(f"{w}: start and end dates are required (mark the first month the source allows)")
        start, end = _date(e["start"], w, "start"), _date(e["end"], w, "end")
        if end < start:
            raise ConfigError(f"{w}: end {end} is before start {start}")
        if e.get("start_source"):
            _source({"source": e["start_source"]}, f"{w} start_source")
        parsed.append((e["type"], start, end, str(e.get("note", "")), _source(e, w)))
    rows = []
    month = CALENDAR_START
    while month <= CALENDAR_END:
        last = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        regime = "year_round" if last >= since else "seasonal_closure"
        closed = regime == "seasonal_closure" and month.month in months and month <= until
        status, note, source = ("closed" if closed else "open"), "", (src_closure if regime == "seasonal_closure" else src_year_round)
        for kind, start, end, enote, esrc in parsed:
            overlaps = end >= month and start <= last
            if overlaps and kind == "adhoc_opening" and closed:
                status, note, source = "adhoc_opening", enote, esrc
            elif overlaps and kind == "suspension":
                status, note, source = "suspended", enote, esrc
        rows.append((month, regime, status, note, source, month.month in months))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return pd.DataFrame(rows, columns=["month_start", "regime", "status", "note", "source_url", "closure_month"])


def khunjerab_year_round(path: Path | None = None) -> tuple[dt.date, str]:
    """(date year-round operation began, its source) from khunjerab.yaml — for marts.policy_markers."""
    cfg, where = _read("khunjerab.yaml", path)
    try:
        entry = cfg["year_round"]
        return _date(entry["from"], where, "year_round.from"), _source(entry, where)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{where}: missing {exc}") from None


def gacc_events(path: Path | None = None) -> pd.DataFrame:
    cfg, where = _read("gacc_events.yaml", path)
    if not isinstance(cfg, list) or not cfg:
        raise ConfigError(f"{where}: expected a list of events")
    rows = []
    for i, e in enumerate(cfg):
        w = f"{where}: event {i + 1} ({e.get('product', '?')})"
        if e.get("event_type") not in ("market_opened", "protocol_signed", "exporters_approved"):
            raise ConfigError(f"{w}: event_type must be market_opened, protocol_signed or exporters_approved")
        if not e.get("product"):
            raise ConfigError(f"{w}: product is missing")
        d, src = _date(e.get("date"), w, "date"), _source(e, w)
        for code in _hs(e.get("hs"), w):
            if len(code) != 6:
                raise ConfigError(f"{w}: event HS codes must have 6 digits, got {code!r}")
            rows.append((i + 1, d, str(e["product"]), code, e["event_type"], src))
    return pd.DataFrame(rows, columns=["event_id", "event_date", "product", "hs6", "event_type", "source_url"])


def baskets(path: Path | None = None) -> pd.DataFrame:
    cfg, where = _read("baskets.yaml", path)
    rows = []
    for key, b in (cfg or {}).items():
        w = f"{where}: {key}"
        if not (b or {}).get("rationale"):
            raise ConfigError(f"{w}: every basket needs a rationale")
        for code in _hs(b.get("hs"), w):
            rows.append((key, str(b.get("label", key)), str(b["rationale"]), code))
    if not rows:
        raise ConfigError(f"{where}: no baskets")
    return pd.DataFrame(rows, columns=["basket", "label", "rationale", "hs_prefix"])


def goals(path: Path | None = None, basket_table: pd.DataFrame | None = None) -> list[dict]:
    """Goals from goals.yaml plus one trend goal per plan basket."""
    cfg, where = _read("goals.yaml", path)
    out = []
    for i, g in enumerate(cfg or []):
        w = f"{where}: goal {g.get('id', i + 1)}"
        for field in ("id", "label", "metric", "baseline_year"):
            if not g.get(field):
                raise ConfigError(f"{w}: {field} is missing")
        clause = g.get("clause") or {}
        if not clause.get("section") or not clause.get("paraphrase"):
            raise ConfigError(f"{w}: clause needs a section and a paraphrase of the plan text it serves")
        t = g.get("target")
        if t is not None:
            if not t.get("year") or not (t.get("value") or t.get("multiple_of_baseline")):
                raise ConfigError(f"{w}: a target needs a year and a value or multiple_of_baseline")
            _source(t, f"{w} target")
        out.append({**g, "section": clause["section"], "paraphrase": clause["paraphrase"]})
    if basket_table is not None:
        for key, b in basket_table.groupby("basket", sort=True):
            out.append({
                "id": f"basket_{key}", "label": f"Bilateral trade: {b['label'].iloc[0]} basket (exporters' records)",
                "section": "High-Quality Belt and Road Cooperation and CPEC",
                "paraphrase": f"cooperation in {b['label'].iloc[0].lower()}", "unit": "US$", "baseline_year": 2019,
                "metric": f"SELECT year, sum(value_usd) AS value FROM marts.basket_flows WHERE basket = '{key}' "
                          "AND flow = 'X' GROUP BY year",
            })
    ids = [g["id"] for g in out]
    if len(ids) != len(set(ids)):
        raise ConfigError(f"{where}: goal ids must be unique")
    return out
