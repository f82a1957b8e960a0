"""Synthetic CPFTA Phase-II schedules for both parties, shaped like the published structure.

Each party's national lines (HS2017, 8 digits) sit under the sample's HS6 codes. Categories
are assigned to hit the published shares exactly (China: 45 % duty-free at entry into force
including 313 priority lines, 15 % over 5 and 10 years, 5 % partial, 20 % excluded;
Pakistan: C1 45 %, C2 15 %, C3 15 %, 350 partial lines, 1,410 sensitive lines — see
``fta/categories.yaml`` for sources). The line that carries each product's trade gets a
category chosen to be plausible. Base rates follow the sample's MFN rates. SAMPLE: not the
real schedules, which are published by MOFCOM and Pakistan's Ministry of Commerce.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradeflow.sample.generator import products
from tradeflow.sample.tariffs import mfn_rate

SEED = 2019_04_28  # the Phase-II protocol was signed on 28 April 2019
LINES = {"CHN": 7500, "PAK": 7050}  # at most 100 national lines under each of the 75 sample HS6 codes
PRIORITY_LINES = 313

#: Category of the trade-carrying line of each sample product, by importer (plausible, not real).
KEY_LINES = {
    "CHN": {"520512": "A0", "520522": "A0", "520523": "A0", "120740": "A0", "030389": "A0", "030499": "A0",
            "030617": "A0", "080290": "A0", "740311": "A0", "740200": "A0", "260300": "A0", "261000": "A0",
            "410390": "A0", "090421": "A0", "160250": "A5", "630260": "A0", "620342": "A5", "611020": "A5",
            "220710": "A5", "100630": "E", "100640": "E", "170199": "E", "040221": "A10", "080450": "A5",
            "080521": "A10", "080929": "A5", "121490": "A0"},
    "PAK": {"720839": "S", "721049": "S", "721391": "S", "730690": "S", "870421": "S", "871120": "S", "871410": "S",
            "870899": "S", "401110": "S", "841810": "S", "841510": "S", "940540": "P", "851712": "C1", "854140": "C1",
            "847989": "C1", "844630": "C1", "845229": "C1", "291736": "C1", "290243": "C1", "550320": "C3",
            "540233": "C3", "540752": "S", "600632": "S", "520932": "S", "310530": "C1", "390110": "C2",
            "390210": "C2", "390761": "C2", "392690": "S", "320417": "C2", "380893": "C1", "300490": "C2",
            "293399": "C1", "760612": "C3", "731815": "S", "070320": "C2", "080810": "S", "090210": "C1",
            "120999": "C1", "850440": "C3", "850231": "C1", "854442": "C3", "850760": "C2", "853710": "P",
            "850164": "C1", "848180": "C2", "847130": "C1"},
}
SHARES = {"CHN": {"A0": 0.45, "A5": 0.15, "A10": 0.15, "P": 0.05, "E": 0.20},
          "PAK": {"C2": 0.15, "C3": 0.15}}
FIXED = {"PAK": {"P": 350, "S": 1410}}


def category_counts(party: str) -> dict[str, int]:
    n = LINES[party]
    counts = {c: round(s * n) for c, s in SHARES[party].items()}
    counts.update(FIXED.get(party, {}))
    first = "A0" if party == "CHN" else "C1"
    counts[first] = n - sum(v for c, v in counts.items() if c != first)
    return counts


def sample_schedule(party: str) -> pd.DataFrame:
    """The synthetic schedule of ``party`` (the importer) in the import-file format, plus is_sample."""
    rng = np.random.default_rng(SEED + (0 if party == "CHN" else 1))
    codes = sorted(products()["hs2017"])
    n = LINES[party]
    per, extra = divmod(n, len(codes))
    lines = [f"{c}{i:02d}" for j, c in enumerate(codes) for i in range(per + (1 if j < extra else 0))]
    key = {f"{c}00": cat for c, cat in KEY_LINES[party].items()}
    # lines under an HS6 whose MFN rate is zero are duty-free already: immediate category
    first = "A0" if party == "CHN" else "C1"
    for line in lines:
        if mfn_rate(party_m49(party), line[:6]) == 0:
            key[line] = first
    counts = category_counts(party)
    for cat in key.values():
        counts[cat] -= 1
    pool = [cat for cat, k in counts.items() for _ in range(k)]
    rng.shuffle(pool)
    rest = iter(pool)
    cats = [key.get(line) or next(rest) for line in lines]
    # Lines already duty-free (from Phase I or MFN) can only sit in the immediate category.
    immediate = np.isin(cats, ["A0", "C1"])
    spread = np.where(immediate, rng.choice([0.0, 0.5, 1.0, 1.0, 1.5], size=n), rng.choice([0.5, 1.0, 1.0, 1.5], size=n))
    mfn = np.array([mfn_rate(party_m49(party), line[:6]) for line in lines])
    base = np.round(np.where(immediate, mfn, np.maximum(mfn, 1.0)) * spread * 2) / 2  # half points
    base = np.where(~immediate & (base == 0), 1.0, base)
    desc = []
    a0 = 0
    for line, cat in zip(lines, cats):
        label = f"{line[:4]}.{line[4:6]}.{line[6:]} sample national line"
        if party == "CHN" and cat == "A0" and a0 < PRIORITY_LINES:
            label += " (priority line)"
            a0 += 1
        desc.append(label)
    return pd.DataFrame({"tariff_line": lines, "description": desc, "base_rate": base, "category": cats})


def party_m49(party: str) -> str:
    return {"CHN": "156", "PAK": "586"}[party]
