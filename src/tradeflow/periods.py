"""Periods tradeflow tracks, as partition keys: ``"2021"`` (annual) and ``"2021-03"`` (monthly).

Annual data from 2015 to last year, monthly data from January 2019 to December of this year
(what is not yet published is simply reported as not available). Keys sort chronologically,
each year's annual key first, so a year range is a contiguous key range.
"""

from __future__ import annotations

from datetime import date

FIRST_ANNUAL, FIRST_MONTHLY = 2015, 2019


def period_keys(today: date | None = None) -> list[str]:
    today = today or date.today()
    keys = []
    for y in range(FIRST_ANNUAL, today.year + 1):
        if y < today.year:
            keys.append(str(y))
        if y >= FIRST_MONTHLY:
            keys += [f"{y}-{m:02d}" for m in range(1, 13)]
    return keys


def keys_for_years(first: int, last: int, today: date | None = None) -> list[str]:
    return [k for k in period_keys(today) if first <= int(k[:4]) <= last]


def to_query(key: str) -> tuple[str, str]:
    """Partition key → (Comtrade freq, Comtrade period): "2021" → ("A", "2021"), "2021-03" → ("M", "202103")."""
    if len(key) == 4:
        return "A", key
    return "M", key.replace("-", "")


def from_query(freq: str, period: str) -> str:
    return period if freq == "A" else f"{period[:4]}-{period[4:6]}"
