"""Synthetic "all reporters' exports to the World" (HS6 and TOTAL) and total imports from the World.

World exports of each sample product are scaled from the pair's own World flows; eight real
reporters share them (Pakistan and China with their sample values, six others with seeded
random shares). Country totals of exports and of imports are round synthetic figures, near
the published orders of magnitude (China's imports ≈ US$1.7–2.6 tn, Pakistan's ≈ US$44–55 bn,
2015–2024): the denominators of Balassa's RCA, the trade complementarity index and the trade
intensity index. They come as the live refresh asks for them: all reporters, partner World,
cmdCode TOTAL, flows X and M. SAMPLE, not real statistics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Other exporters carrying the rest of world exports, and synthetic total exports (US$ bn, 2015 → 2024 linear).
OTHERS = {699: "IND", 842: "USA", 276: "DEU", 704: "VNM", 50: "BGD", 792: "TUR"}
TOTALS_BN = {586: (22, 31), 156: (2270, 3400), 699: (265, 440), 842: (1500, 2060), 276: (1330, 1690),
             704: (160, 400), 50: (32, 45), 792: (143, 260)}
#: Synthetic total imports from the World (US$ bn, 2015 → 2024 linear), every reporter.
IMPORT_TOTALS_BN = {586: (44, 55), 156: (1680, 2590), 699: (390, 700), 842: (2310, 3360), 276: (1060, 1570),
                    704: (165, 380), 50: (40, 65), 792: (207, 345)}


def world_exports(flows: pd.DataFrame, prod: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Rows (reporter, year, k, value, cmd, flow) for annual HS6 exports to the World of every reporter, plus
    TOTAL rows of exports (flow X) and imports (flow M)."""
    annual = flows[(flows["freq"] == "A") & (flows["partner"] == 0) & (flows["flow"] == "X") & (flows["mot"] == 0)]
    own = annual.pivot_table(index=["k", "year"], columns="reporter", values="value", aggfunc="sum").fillna(0.0)
    rows = []
    pak_to_chn = (prod["direction"] == "PAK>CHN").to_numpy()
    # each other exporter keeps its share of a product's world market from year to year
    market_shares = {k: rng.dirichlet(np.ones(len(OTHERS)) * 4) for k in range(len(prod))}
    # Pakistan's and China's share of each product's world exports, fixed per product
    pak_world_share = np.clip(np.exp(rng.normal(np.log(0.02), 0.9, len(prod))), 0.002, 0.15)
    chn_world_share = np.clip(np.exp(rng.normal(np.log(0.30), 0.4, len(prod))), 0.05, 0.7)
    for (k, year), r in own.iterrows():
        pak, chn = r.get(586, 0.0), r.get(156, 0.0)
        # world market of the product: Pakistan's goods are small in world trade, China's large
        world = pak / pak_world_share[k] if pak_to_chn[k] else chn / chn_world_share[k]
        rest = max(world - pak - chn, 0.0)
        for (code, _), share in zip(OTHERS.items(), market_shares[k]):
            rows.append((code, year, k, rest * share, "AG6"))
        # Pakistan and China as their own queries report them (partner World): a line one of them does not export
        # is not in the all-reporters answer either (the refresh keeps a reporter's own copy of its batch)
        if pak > 0:
            rows.append((586, year, k, pak, "AG6"))
        if chn > 0:
            rows.append((156, year, k, chn, "AG6"))
    years = sorted(own.index.get_level_values("year").unique())
    for year in years:
        f = (year - 2015) / 9
        for code, (a, b) in TOTALS_BN.items():
            rows.append((code, year, -1, (a + (b - a) * f) * 1e9, "TOTAL"))
    out = pd.DataFrame(rows, columns=["reporter", "year", "k", "value", "cmd"]).assign(flow="X")
    imports = [(code, year, -1, (a + (b - a) * (year - 2015) / 9) * 1e9, "TOTAL", "M")
               for year in years for code, (a, b) in IMPORT_TOTALS_BN.items()]
    return pd.concat([out, pd.DataFrame(imports, columns=out.columns)], ignore_index=True)
