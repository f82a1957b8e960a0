"""Periods tradeflow tracks, as partition keys: ``"2021"`` (annual) and ``"2021-03"`` (monthly).

Annual data from 2015 to last year, monthly data from January 2019 to the current month (what
is not yet published is simply reported as not available; later months cannot have been).
Keys sort chronologically, each year's annual key first, so a year range is a contiguous key
range. The Dagster code location partitions annual and monthly data apart, with time-window
partitions built from :data:`FIRST_ANNUAL` and :data:`FIRST_MONTHLY` that yield the same keys as
:func:`period_keys` at any date (a test holds them together); this module stays Dagster-free.
"""

from __future__ import annotations

from datetime import date

FIRST_ANNUAL, FIRST_MONTHLY = 2015, 2019
ANNUAL_FORMAT, MONTHLY_FORMAT = "%Y", "%Y-%m"  # the partition key formats


def annual_keys(today: date | None = None) -> list[str]:
    """"2015" … last year: a year is tracked once it has ended."""
    today = today or date.today()
    return [str(y) for y in range(FIRST_ANNUAL, today.year)]


def monthly_keys(today: date | None = None) -> list[str]:
    """"2019-01" … the current month."""
    today = today or date.today()
    return [f"{y}-{m:02d}" for y in range(FIRST_MONTHLY, today.year + 1) for m in range(1, 13)
            if (y, m) <= (today.year, today.month)]


def period_keys(today: date | None = None) -> list[str]:
    """Every tracked period, annual and monthly, in time order (each year's annual key first)."""
    return sorted(annual_keys(today) + monthly_keys(today))


def is_annual(key: str) -> bool:
    return len(key) == 4


def keys_for_years(first: int, last: int, today: date | None = None) -> list[str]:
    return [k for k in period_keys(today) if first <= int(k[:4]) <= last]


def to_query(key: str) -> tuple[str, str]:
    """Partition key → (Comtrade freq, Comtrade period): "2021" → ("A", "2021"), "2021-03" → ("M", "202103")."""
    if len(key) == 4:
        return "A", key
    return "M", key.replace("-", "")


def from_query(freq: str, period: str) -> str:
    return period if freq == "A" else f"{period[:4]}-{period[4:6]}"
