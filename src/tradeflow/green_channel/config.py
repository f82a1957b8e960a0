"""Load and validate the curated YAML configuration (Khunjerab calendar, GACC events, baskets, goals).

Each file is a pydantic model (below); a bad file raises a ConfigError naming the file, the entry
and the field (:mod:`tradeflow.configfile`).
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import AfterValidator, Field, model_validator

from tradeflow.configfile import Date, HsCode, Model, Number, Text, Url, Year, check, keyed_entries, list_entries, read_yaml
from tradeflow.errors import ConfigError

CALENDAR_START, CALENDAR_END = dt.date(2010, 1, 1), dt.date(2030, 12, 1)
EVENTS_START = dt.date(2000, 1, 1)  # GACC market-access events: the first Pakistan protocols came after 2000


def _read(name: str, path: Path | None = None):
    if path:
        return read_yaml(str(path), path=path), str(path)
    where = f"tradeflow/green_channel/{name}"
    return read_yaml(where, text=resources.files("tradeflow.green_channel").joinpath(name).read_text(encoding="utf-8")), where


# -- khunjerab.yaml ------------------------------------------------------------------------------

class SeasonalClosure(Model):
    months: list[Annotated[int, Field(ge=1, le=12)]] = Field(min_length=1)
    until: Date
    source: Url


class YearRound(Model):
    since: Date = Field(alias="from")
    source: Url


class KhunjerabEvent(Model):
    type: Literal["adhoc_opening", "suspension"]
    start: Date | None = None
    end: Date | None = None
    note: str = ""
    source: Url
    start_source: Url | None = None

    @model_validator(mode="after")
    def _span(self) -> KhunjerabEvent:
        if self.start is None or self.end is None:
            raise ValueError("start and end dates are required (mark the first month the source allows)")
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Khunjerab(Model):
    seasonal_closure: SeasonalClosure
    year_round: YearRound
    events: list[KhunjerabEvent] | None = None

    @model_validator(mode="after")
    def _order(self) -> Khunjerab:
        # every date must fall inside the calendar the marts are built on, and the seasonal regime must end before
        # year-round operation begins: a year typo (2042 for 2024) would otherwise move every winter to another regime
        until, since = self.seasonal_closure.until, self.year_round.since
        for what, day in (("seasonal_closure.until", until), ("year_round.from", since)):
            if not CALENDAR_START <= day <= CALENDAR_END:
                raise ValueError(f"{what} {day} is outside the calendar {CALENDAR_START} to {CALENDAR_END}")
        if since <= until:
            raise ValueError(f"year_round.from {since} must come after seasonal_closure.until {until}")
        if (since - until).days > 366:  # the months between would be winters of neither regime: read open
            raise ValueError(f"year_round.from {since} is over a year after seasonal_closure.until {until}: the "
                             "winters between would read open (a year typo?)")
        for i, e in enumerate(self.events or []):
            for what, day in (("start", e.start), ("end", e.end)):
                if not CALENDAR_START <= day <= CALENDAR_END + dt.timedelta(days=30):
                    raise ValueError(f"events[{i}] ({e.type}): {what} {day} is outside the calendar "
                                     f"{CALENDAR_START} to {CALENDAR_END}")
        return self


def _khunjerab_label(loc: tuple, data) -> tuple[str, tuple]:
    if loc[:1] == ("events",) and len(loc) > 1:
        return list_entries("events", "type")(loc[1:], (data or {}).get("events"))
    return "", loc


def _khunjerab(path: Path | None) -> Khunjerab:
    cfg, where = _read("khunjerab.yaml", path)
    return check(Khunjerab, cfg, where, _khunjerab_label)


# -- gacc_events.yaml ----------------------------------------------------------------------------

def _six(code: str) -> str:
    if len(code) != 6:
        raise ValueError(f"event HS codes must have 6 digits, got {code!r}")
    return code


class GaccEvent(Model):
    date: Date
    product: Text
    hs: list[Annotated[HsCode, AfterValidator(_six)]] = Field(min_length=1)
    event_type: Literal["market_opened", "protocol_signed", "exporters_approved"]
    source: Url


    @model_validator(mode="after")
    def _dated(self) -> GaccEvent:
        if not EVENTS_START <= self.date <= CALENDAR_END + dt.timedelta(days=30):
            raise ValueError(f"date {self.date} is outside {EVENTS_START} to {CALENDAR_END:%Y-%m} (a year typo?)")
        if dup := sorted({c for c in self.hs if self.hs.count(c) > 1}):
            raise ValueError(f"hs: {', '.join(dup)} listed twice")
        return self


def _distinct_events(events: list[GaccEvent]) -> list[GaccEvent]:
    seen: dict = {}
    for i, e in enumerate(events):
        key = (e.date, e.event_type, tuple(sorted(e.hs)))
        if key in seen:
            raise ValueError(f"events[{i}] repeats events[{seen[key]}] (same date, type and codes): it would be drawn twice")
        seen[key] = i
    return events


GaccEvents = Annotated[list[GaccEvent], Field(min_length=1), AfterValidator(_distinct_events)]


# -- baskets.yaml --------------------------------------------------------------------------------

class Basket(Model):
    label: Text | None = None
    rationale: Text
    hs: list[HsCode] = Field(min_length=1)

    @model_validator(mode="after")
    def _disjoint(self) -> Basket:
        # marts.basket_flows adds a line once per code it starts with: a code inside another would count it twice
        for i, code in enumerate(self.hs):
            for other in self.hs[:i]:
                if code.startswith(other) or other.startswith(code):
                    raise ValueError(f"hs: {code!r} overlaps {other!r} (a line under both would be counted twice)")
        return self


Baskets = Annotated[dict[str, Basket], Field(min_length=1)]


# -- goals.yaml ----------------------------------------------------------------------------------

class Clause(Model):
    section: Text
    paraphrase: Text


class Target(Model):
    year: Year
    value: Number | None = None  # any sign: a metric can be below zero (the mirror gap)
    multiple_of_baseline: Annotated[Number, Field(gt=0)] | None = None
    statement: str | None = None
    source: Url

    @model_validator(mode="after")
    def _amount(self) -> Target:
        if (self.value is None) == (self.multiple_of_baseline is None):
            raise ValueError("a target needs exactly one of value and multiple_of_baseline")
        return self


class Goal(Model):
    id: Text
    label: Text
    clause: Clause
    unit: str | None = None
    metric: Text
    monthly_metric: Text | None = None
    baseline_year: Year
    target: Target | None = None

    @model_validator(mode="after")
    def _after_baseline(self) -> Goal:
        if self.target is not None and self.target.year <= self.baseline_year:
            raise ValueError(f"target.year {self.target.year} must come after baseline_year {self.baseline_year}")
        return self


Goals = Annotated[list[Goal], Field(min_length=1)]


def khunjerab_months(path: Path | None = None) -> pd.DataFrame:
    """One row per month: whether road trade could cross Khunjerab–Sost, and why (with the source).

    regime: seasonal_closure, or year_round from the month of year_round.from; closure_month: the
    calendar month is one of the seasonal closure's months (the winter months of the indicators);
    status: open, closed, adhoc_opening, or suspended for every month a suspension overlaps."""
    cfg = _khunjerab(path)
    closure, year_round = cfg.seasonal_closure, cfg.year_round
    months, until, since = closure.months, closure.until, year_round.since
    src_closure, src_year_round = closure.source, year_round.source
    parsed = [(e.type, e.start, e.end, e.note, e.source) for e in cfg.events or []]
    rows = []
    month = CALENDAR_START
    while month <= CALENDAR_END:
        last = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        regime = "year_round" if last >= since else "seasonal_closure"
        closed = regime == "seasonal_closure" and month.month in months and month <= until
        status, note, source = ("closed" if closed else "open"), "", (src_closure if regime == "seasonal_closure" else src_year_round)
        overlapping = [(kind, enote, esrc) for kind, start, end, enote, esrc in parsed if end >= month and start <= last]
        # a suspension wins over an ad-hoc opening in the same month, whatever order the file lists them in
        suspension = next((e for e in overlapping if e[0] == "suspension"), None)
        opening = next((e for e in overlapping if e[0] == "adhoc_opening"), None)
        if suspension:
            status, note, source = "suspended", suspension[1], suspension[2]
        elif opening and closed:
            status, note, source = "adhoc_opening", opening[1], opening[2]
        rows.append((month, regime, status, note, source, month.month in months))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return pd.DataFrame(rows, columns=["month_start", "regime", "status", "note", "source_url", "closure_month"])


def khunjerab_year_round(path: Path | None = None) -> tuple[dt.date, str]:
    """(date year-round operation began, its source) from khunjerab.yaml — for marts.policy_markers."""
    cfg = _khunjerab(path)
    return cfg.year_round.since, cfg.year_round.source


def gacc_events(path: Path | None = None) -> pd.DataFrame:
    cfg, where = _read("gacc_events.yaml", path)
    events = check(GaccEvents, cfg, where, list_entries("events", "product"))
    rows = [(i + 1, e.date, e.product, code, e.event_type, e.source) for i, e in enumerate(events) for code in e.hs]
    return pd.DataFrame(rows, columns=["event_id", "event_date", "product", "hs6", "event_type", "source_url"])


def baskets(path: Path | None = None) -> pd.DataFrame:
    cfg, where = _read("baskets.yaml", path)
    table = check(Baskets, cfg, where, keyed_entries())
    rows = [(key, b.label or key, b.rationale, code) for key, b in table.items() for code in b.hs]
    return pd.DataFrame(rows, columns=["basket", "label", "rationale", "hs_prefix"])


def goals(path: Path | None = None, basket_table: pd.DataFrame | None = None) -> list[dict]:
    """Goals from goals.yaml plus one trend goal per plan basket."""
    cfg, where = _read("goals.yaml", path)
    if cfg is None:
        raise ConfigError(f"{where}: the file holds no goals (it is empty): every plan goal would drop out")
    out = [{**g.model_dump(exclude_unset=True, by_alias=True), "section": g.clause.section, "paraphrase": g.clause.paraphrase}
           for g in check(Goals, cfg, where, list_entries("goals", "id"))]
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
    if dup := sorted({i for i in ids if ids.count(i) > 1}):
        raise ConfigError(f"{where}: goal ids must be unique: {', '.join(dup)} appear(s) more than once")
    return out
