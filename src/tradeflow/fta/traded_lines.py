"""Which national tariff lines carry an HS6 heading's trade (for qualifying untapped lines).

HS6 trade cannot say which of a heading's national lines it moved on. Where a source names the
traded lines (UN Comtrade tariff-line data; the synthetic sample's trade-carrying lines), they
are listed here; headings without such a list are judged by all their lines (conservative: a
heading counts as open only when every line is). The sample's list is synthetic like the rest.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["importer", "tariff_line", "source", "is_sample"]


def traded_lines_frame(schedule: pd.DataFrame) -> pd.DataFrame:
    """(importer, tariff_line, source, is_sample) for every party whose schedule is the sample's."""
    from tradeflow.sample.schedules import KEY_LINES

    rows = []
    for party, keys in KEY_LINES.items():
        mine = schedule[schedule["party"] == party]
        if mine.empty or not mine["is_sample"].all():
            continue  # an imported (real) schedule: the sample's lines say nothing about it
        known = set(mine["tariff_line"])
        rows += [(party, f"{hs6}00", "sample", True) for hs6 in sorted(keys) if f"{hs6}00" in known]
    return pd.DataFrame(rows, columns=COLUMNS)
