"""Calibration targets for the synthetic sample, with their sources.

Calibrated (published GACC figures, ``shared/data/FIGURES.md`` §1):

* China's exports to Pakistan, US$ bn: 2019 16.17, 2020 15.36
  (https://centreline.com.pk/2021/01/30/pakistans-export-to-china-up-41pc-last-december/),
  2021 24.23 (https://www.brecorder.com/news/40149148/exports-to-china-surge-by-69pc-in-2021),
  2022 23.089 (https://www.nation.com.pk/19-Mar-2023/zhejiang-becomes-top-destination-of-pakistan-s-exports-to-china).
* China's imports from Pakistan, US$ bn: 2019 ≈1.80 (implied by the 17.97 bn total),
  2020 2.12, 2021 3.58, 2022 3.41 (same sources).

Not calibrated: every other year is a smooth synthetic value chosen only so the demo
charts have a plausible shape. They are not estimates of anything.

Mirror gap: Pakistan-reported imports from China sit 20–30 % below China-reported exports
(2018 finance-minister figures ≈ US$12 bn vs ≈ US$16 bn,
https://atfcp.com/2018/06/11/pakistan-reveals-scale-of-under-invoicing-in-trade-with-china-and-the-uae/);
the sample narrows the gap slowly after the 2018 electronic data exchange. Pakistan-reported
exports to China: China's CIF imports ÷ 1.10, less 21 % (PBC, CY2022,
https://propakistani.pk/2023/10/09/exports-to-china-under-reported-by-nearly-600-million-pbc/).
"""

from __future__ import annotations

#: Seed of every random draw in the sample. Change it and the sample changes.
SEED = 20250904

#: Years with annual records; months with monthly records (inclusive).
ANNUAL_YEARS = tuple(range(2015, 2025))
MONTHLY_YEARS = tuple(range(2019, 2026))

#: The published GACC figures the sample reproduces (US$ bn), by direction.
GACC_CHN_EXPORTS_TO_PAK = {2019: 16.17, 2020: 15.36, 2021: 24.23, 2022: 23.089}
GACC_CHN_IMPORTS_FROM_PAK = {2019: 1.80, 2020: 2.12, 2021: 3.58, 2022: 3.41}

#: China-reported totals used to build the sample (US$ bn): GACC where published, else synthetic.
CHN_EXPORTS_TO_PAK = {
    2015: 14.0, 2016: 15.5, 2017: 16.5, 2018: 16.3, **GACC_CHN_EXPORTS_TO_PAK,
    2023: 20.5, 2024: 21.8, 2025: 22.5,
}
CHN_IMPORTS_FROM_PAK = {
    2015: 2.1, 2016: 1.8, 2017: 1.75, 2018: 1.9, **GACC_CHN_IMPORTS_FROM_PAK,
    2023: 3.0, 2024: 3.2, 2025: 3.4,
}

#: Pakistan-reported imports from China (CIF) ÷ China-reported exports (FOB), by year.
#: Inside the known 0.70–0.80 band, narrowing slowly after 2018.
PAK_IMPORT_RATIO = {
    2015: 0.72, 2016: 0.72, 2017: 0.73, 2018: 0.73, 2019: 0.74, 2020: 0.75,
    2021: 0.75, 2022: 0.76, 2023: 0.77, 2024: 0.77, 2025: 0.78,
}

#: Pakistan-reported exports to China (FOB) ÷ China-reported imports from Pakistan (CIF).
PAK_EXPORT_RATIO = round((1 - 0.21) / 1.10, 4)

#: Khunjerab–Sost: closed 1 Dec–31 Mar under the 1985 agreement (dawn.com/news/1876341);
#: year-round from 2 Dec 2024. Ad-hoc winter openings (share of a normal month's road flow):
#: 15–25 Dec 2020 (tribune.com.pk/story/2277608) and Jan–Feb 2023 (gwadartoday.pk).
WINTER_MONTHS = (12, 1, 2, 3)
YEAR_ROUND_FROM = (2024, 12)
ADHOC_WINTER_OPENINGS = {(2020, 12): 0.35, (2023, 1): 0.3, (2023, 2): 0.25}
#: Winter road flow after the regime change, relative to a normal month.
WINTER_LEVEL_AFTER = 0.6

#: First month with exports after a GACC market-access event (FIGURES.md §3):
#: cherries (orchards approved Jul 2023), heat-treated beef (Jun 2023, first shipments
#: assumed two months later), dried chillies (protocol 10 Aug 2023), dairy (2024, assumed).
MARKET_OPENINGS = {"080929": (2023, 7), "160250": (2023, 8), "090421": (2023, 10), "040221": (2024, 3)}

#: Harvest windows (months) for fresh fruit: outside them nothing ships.
CROP_MONTHS = {
    "080450": (5, 6, 7, 8, 9),  # mangoes
    "080521": (12, 1, 2, 3),  # kinnow
    "080929": (6, 7),  # cherries
    "080810": (8, 9, 10, 11, 12),  # apples
}

#: The vintage (release date) the sample claims for each period: annual data released the
#: following June, monthly data two months after the month.
def sample_vintage(year: int, month: int | None) -> str:
    if month is None:
        return f"{year + 1}-06-30"
    m = month + 2
    y = year + (m - 1) // 12
    return f"{y}-{(m - 1) % 12 + 1:02d}-15"
