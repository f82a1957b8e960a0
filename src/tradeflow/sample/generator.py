"""Generate the synthetic sample as UN Comtrade ``data/v1/get`` response bodies.

Everything is vectorised with numpy and seeded (:data:`calibration.SEED`): the same code
gives the same bytes. The bodies carry the same 47 fields and JSON types as the real API
and go through the same archive and parser as live data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from tradeflow.archive import ManifestEntry, RawArchive, request_id
from tradeflow.periods import from_query
from tradeflow.sample import calibration as cal
from tradeflow.sample.world import world_exports
from tradeflow.sources.comtrade_query import (
    ALL_REPORTERS,
    CHINA,
    PAKISTAN,
    WORLD,
    FinalDataQuery,
    bilateral_queries,
    mode_query,
    world_exports_queries,
)
from tradeflow.sources.comtrade_schema import RECORD_FIELDS

SAMPLE_BASE_URL = "sample://comtrade"
DATASET = "comtrade.final"

COUNTRIES = {PAKISTAN: ("PAK", "Pakistan"), CHINA: ("CHN", "China"), WORLD: ("W00", "World"),
             699: ("IND", "India"), 842: ("USA", "USA"), 276: ("DEU", "Germany"), 704: ("VNM", "Viet Nam"),
             50: ("BGD", "Bangladesh"), 792: ("TUR", "Türkiye")}
FLOW_DESC = {"M": "Import", "X": "Export", "RM": "Re-import", "RX": "Re-export"}
MOT_DESC = {0: "TOTAL MOT", 1000: "Air", 2100: "Sea", 3200: "Road"}
QTY_ABBR = {-1: "N/A", 5: "u", 7: "l", 8: "kg"}
#: Products Pakistan re-exports to China in the sample (a small RX flow kept apart from X).
RE_EXPORTS = {"847130": 0.004, "540233": 0.003}


@dataclass(frozen=True)
class SampleResponse:
    """One synthetic response, addressed like the live request it stands for."""

    query: FinalDataQuery
    body: bytes
    vintage: str
    rows: int = 0

    @property
    def url(self) -> str:
        return f"{SAMPLE_BASE_URL}/{self.query.path}"


@cache
def products() -> pd.DataFrame:
    """The sample's product basket (typed by hand; see products.csv)."""
    with resources.files("tradeflow.sample").joinpath("products.csv").open() as fh:
        df = pd.read_csv(fh, dtype={"hs2017": str, "hs2022": str})
    df["exporter"] = np.where(df["direction"] == "CHN>PAK", CHINA, PAKISTAN)
    df["importer"] = np.where(df["direction"] == "CHN>PAK", PAKISTAN, CHINA)
    return df


def _annual_base(rng: np.random.Generator, prod: pd.DataFrame, years: np.ndarray) -> np.ndarray:
    """China-reported value (US$) per product × year: CHN exports for CHN>PAK, CHN imports for PAK>CHN."""
    k = len(prod)
    noise = rng.lognormal(0.0, 0.15, size=(k, len(years)))
    trend = np.exp(rng.normal(0.0, 0.03, size=(k, 1)) * (years - years[0]))  # slow product drift
    opened = np.array(
        [[y >= cal.MARKET_OPENINGS.get(code, (0, 0))[0] for y in years] for code in prod["hs2017"]]
    )
    raw = prod["weight"].to_numpy()[:, None] * noise * trend * opened
    out = np.zeros_like(raw)
    for direction, totals in (("CHN>PAK", cal.CHN_EXPORTS_TO_PAK), ("PAK>CHN", cal.CHN_IMPORTS_FROM_PAK)):
        rows = (prod["direction"] == direction).to_numpy()
        target = np.array([totals[int(y)] for y in years]) * 1e9
        out[rows] = raw[rows] / raw[rows].sum(axis=0) * target
    return out


def _month_profiles(rng: np.random.Generator, prod: pd.DataFrame, years: np.ndarray):
    """Per product × year × month shares of the annual value: (total, road) each summing to ≤ 1."""
    k, ny = len(prod), len(years)
    yy, mm = np.meshgrid(years, np.arange(1, 13), indexing="ij")  # (ny, 12)
    winter = np.isin(mm, cal.WINTER_MONTHS)
    after = (yy * 100 + mm) >= cal.YEAR_ROUND_FROM[0] * 100 + cal.YEAR_ROUND_FROM[1]
    road_level = np.where(winter & ~after, 0.0, np.where(winter & after, cal.WINTER_LEVEL_AFTER, 1.0))
    for (y, m), level in cal.ADHOC_WINTER_OPENINGS.items():
        road_level[(yy == y) & (mm == m)] = level

    codes = prod["hs2017"].tolist()
    crop = np.ones((k, 1, 12))
    opened = np.ones((k, ny, 12))
    for i, code in enumerate(codes):
        if code in cal.CROP_MONTHS:
            crop[i, 0] = np.isin(np.arange(1, 13), cal.CROP_MONTHS[code])
        if code in cal.MARKET_OPENINGS:
            oy, om = cal.MARKET_OPENINGS[code]
            opened[i] = (yy * 100 + mm) >= oy * 100 + om
    seasonal = prod["seasonal"].to_numpy()[:, None, None] == 1
    # Agro goods also thin out in winter before the year-round regime (cold chain, the pass).
    agro_winter = np.where(seasonal & (winter & ~after)[None], 0.75, 1.0)

    base = rng.lognormal(0.0, 0.12, size=(k, ny, 12)) * crop * opened
    flat = base * agro_winter
    road = base * road_level[None]
    rho = prod["road_share"].to_numpy()[:, None, None]

    def norm(a):
        s = a.sum(axis=2, keepdims=True)
        return np.divide(a, s, out=np.zeros_like(a), where=s > 0)

    flat_n, road_n = norm(flat), norm(road)
    has_road = road.sum(axis=2, keepdims=True) > 0
    road_part = np.where(has_road, rho * road_n, 0.0)
    total = np.where(has_road, (1 - rho) * flat_n, flat_n) + road_part
    return total, road_part


def _mirror_factors(rng: np.random.Generator, prod: pd.DataFrame, base: np.ndarray, years: np.ndarray):
    """Pakistan-reported value ÷ China-reported value, per product × year, hitting the yearly ratios."""
    f = rng.lognormal(0.0, 0.25, size=base.shape)
    out = np.ones_like(base)
    for direction in ("CHN>PAK", "PAK>CHN"):
        rows = (prod["direction"] == direction).to_numpy()
        if direction == "CHN>PAK":
            ratio = np.array([cal.PAK_IMPORT_RATIO[int(y)] for y in years])
        else:
            ratio = cal.PAK_EXPORT_RATIO * (1 + rng.uniform(-0.03, 0.03, size=len(years)))
        weighted = (base[rows] * f[rows]).sum(axis=0)
        out[rows] = f[rows] * ratio * base[rows].sum(axis=0) / np.where(weighted > 0, weighted, 1)
    return out


def _flows_frame() -> pd.DataFrame:
    """Long frame: one row per (reporter, partner, flow, freq, year, month, product, mode) with a value."""
    rng = np.random.default_rng(cal.SEED)
    prod = products()
    years = np.arange(min(cal.ANNUAL_YEARS), max(cal.MONTHLY_YEARS) + 1)
    base = _annual_base(rng, prod, years)  # (k, ny) China-reported
    mirror = _mirror_factors(rng, prod, base, years)  # Pakistan-reported / China-reported
    mi = np.searchsorted(years, np.array(cal.MONTHLY_YEARS))
    total_p, road_p = _month_profiles(rng, prod, years[mi])

    chn_is_exporter = (prod["exporter"] == CHINA).to_numpy()
    k_idx = np.arange(len(prod))
    frames = []

    def add(values, freq, yrs, months, k, mot=0, bilateral=True):
        """Emit exporter/importer reports for bilateral and World partners."""
        chn_val = values
        pak_val = values * (mirror[k, np.searchsorted(years, yrs)])
        exp_val = np.where(chn_is_exporter[k], chn_val, pak_val)
        imp_val = np.where(chn_is_exporter[k], pak_val, chn_val)
        exporter, importer = prod["exporter"].to_numpy()[k], prod["importer"].to_numpy()[k]
        parts = [(exporter, importer, "X", exp_val), (importer, exporter, "M", imp_val)]
        if not bilateral:
            parts = [
                (exporter, np.zeros_like(exporter), "X", exp_val / prod["exp_share"].to_numpy()[k]),
                (importer, np.zeros_like(importer), "M", imp_val / prod["imp_share"].to_numpy()[k]),
            ]
        for rep, par, flow, val in parts:
            frames.append(
                pd.DataFrame(
                    {"reporter": rep, "partner": par, "flow": flow, "freq": freq, "year": yrs,
                     "month": months, "k": k, "mot": mot, "value": val}
                )
            )

    # Annual: 2015–2018 straight from the base; 2019–2024 as the sum of their months.
    ann_years = np.array(cal.ANNUAL_YEARS)
    ann_vals = base[:, np.searchsorted(years, ann_years)].copy()
    monthly_total = base[:, mi, None] * total_p  # (k, nm_years, 12)
    for j, y in enumerate(cal.MONTHLY_YEARS):
        if y in cal.ANNUAL_YEARS:
            ann_vals[:, list(ann_years).index(y)] = monthly_total[:, j, :].sum(axis=1)
    kk, yy = np.meshgrid(k_idx, ann_years, indexing="ij")
    for bilateral in (True, False):
        add(ann_vals.ravel(), "A", yy.ravel(), np.full(kk.size, 52), kk.ravel(), bilateral=bilateral)

    kk, yy, mm = np.meshgrid(k_idx, np.array(cal.MONTHLY_YEARS), np.arange(1, 13), indexing="ij")
    for bilateral in (True, False):
        add(monthly_total.ravel(), "M", yy.ravel(), mm.ravel(), kk.ravel(), bilateral=bilateral)

    # Transport modes, bilateral and monthly, as reported by Pakistan only.
    road = (base[:, mi, None] * road_p).ravel()
    rest = monthly_total.ravel() - road
    for mot, val in ((3200, road), (2100, rest * 0.9), (1000, rest * 0.1)):
        add(val, "M", yy.ravel(), mm.ravel(), kk.ravel(), mot=mot)

    df = pd.concat(frames, ignore_index=True)
    df = df[(df["value"] > 0.5) & ~((df["mot"] != 0) & (df["reporter"] != PAKISTAN))]

    # Pakistan's re-exports to China of a few Chinese goods (RX, never summed into X).
    codes = prod["hs2017"].to_numpy()
    rx = df[(df["reporter"] == PAKISTAN) & (df["flow"] == "M") & (df["partner"] == CHINA) & (df["mot"] == 0)]
    rx = rx[np.isin(codes[rx["k"]], list(RE_EXPORTS))].copy()
    rx["flow"] = "RX"
    rx["value"] = rx["value"] * np.array([RE_EXPORTS[c] for c in codes[rx["k"]]])
    df = pd.concat([df, rx], ignore_index=True)
    df["cmd"] = "AG6"

    # Every reporter's exports to the World (HS6 and TOTAL), annual: the RCA inputs.
    world = world_exports(df, prod, rng)
    world = world.assign(partner=WORLD, freq="A", month=52, mot=0, world=True)  # flow: X, or M for import totals
    df = pd.concat([df.assign(world=False), world], ignore_index=True)
    return df.reset_index(drop=True), rng


def _records(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Turn the long frame into Comtrade records with all 47 fields (k = -1: a TOTAL record)."""
    prod = products()
    n = len(df)
    total = df["k"].to_numpy() < 0
    kk = np.where(total, 0, df["k"].to_numpy())
    hs2022 = df["year"].to_numpy() >= 2022
    code = np.where(total, "TOTAL", np.where(hs2022, prod["hs2022"].to_numpy()[kk], prod["hs2017"].to_numpy()[kk]))
    annual = df["freq"].to_numpy() == "A"
    year, month = df["year"].to_numpy(), df["month"].to_numpy()
    period = np.where(annual, year.astype(str), np.char.add(year.astype(str), np.char.zfill(month.astype(str), 2)))
    value = np.round(df["value"].to_numpy(), 2)
    kg = np.where(total, np.nan, np.round(value / prod["usd_per_kg"].to_numpy()[kk] * rng.lognormal(0, 0.05, n), 0))
    wgt_est = (rng.random(n) < 0.05) & ~total  # some weights are estimated upstream; unit values must skip them
    unit = np.where(total, -1, prod["qty_unit"].to_numpy()[kk])
    qty = np.where(unit == 8, kg, np.where(unit == 7, np.round(kg * 1.27), np.where(unit == 5, np.round(kg * 2), np.nan)))
    is_m = np.isin(df["flow"].to_numpy(), ["M", "RM"])
    rep = df["reporter"].to_numpy()
    par = df["partner"].to_numpy()
    mot = df["mot"].to_numpy()
    iso = {c: v[0] for c, v in COUNTRIES.items()}
    desc = {c: v[1] for c, v in COUNTRIES.items()}
    label = np.where(total, "All Commodities", prod["label"].to_numpy()[kk])

    rec = pd.DataFrame(
        {
            "typeCode": "C",
            "freqCode": df["freq"].to_numpy(),
            "refPeriodId": np.where(annual, year * 10000 + 101, year * 10000 + month * 100 + 1),
            "refYear": year,
            "refMonth": month,
            "period": period,
            "reporterCode": rep,
            "reporterISO": [iso[c] for c in rep],
            "reporterDesc": [desc[c] for c in rep],
            "flowCode": df["flow"].to_numpy(),
            "flowDesc": [FLOW_DESC[f] for f in df["flow"]],
            "partnerCode": par,
            "partnerISO": [iso[c] for c in par],
            "partnerDesc": [desc[c] for c in par],
            "partner2Code": 0,
            "partner2ISO": "W00",
            "partner2Desc": "World",
            "classificationCode": np.where(hs2022, "H6", "H5"),
            "classificationSearchCode": "HS",
            "isOriginalClassification": True,
            "cmdCode": code,
            "cmdDesc": label,
            "aggrLevel": np.where(total, 0, 6),
            "isLeaf": ~total,
            "customsCode": "C00",
            "customsDesc": "TOTAL CPC",
            "mosCode": "0",
            "motCode": mot,
            "motDesc": [MOT_DESC[m] for m in mot],
            "qtyUnitCode": unit,
            "qtyUnitAbbr": [QTY_ABBR[u] for u in unit],
            "qty": qty,
            "isQtyEstimated": wgt_est & (unit == 8),
            "altQtyUnitCode": np.where(total, -1, 8),
            "altQtyUnitAbbr": np.where(total, "N/A", "kg"),
            "altQty": kg,
            "isAltQtyEstimated": wgt_est,
            "netWgt": kg,
            "isNetWgtEstimated": wgt_est,
            "grossWgt": np.round(kg * 1.04),
            "isGrossWgtEstimated": False,
            "cifvalue": np.where(is_m, value, np.nan),
            "fobvalue": np.where(is_m, np.nan, value),
            "primaryValue": value,
            "legacyEstimationFlag": 0,
            "isReported": True,
            "isAggregate": False,
        }
    )
    assert list(rec.columns) == list(RECORD_FIELDS)
    return rec


def generate_sample() -> list[SampleResponse]:
    """All sample responses, one per query the live client would send, in a stable order."""
    df, rng = _flows_frame()
    rec = _records(df, rng)
    rec["_query"] = np.where(df["world"].to_numpy(), np.where(df["cmd"].to_numpy() == "TOTAL", "world_total", "world_hs6"),
                             np.where(df["mot"].to_numpy() != 0, "mode", "final"))
    rec["_reporter"] = np.where(df["world"].to_numpy(), ALL_REPORTERS, rec["reporterCode"].to_numpy())
    rec = rec.sort_values(
        ["_reporter", "freqCode", "period", "_query", "reporterCode", "motCode", "partnerCode", "flowCode", "cmdCode"],
        kind="stable",
    )
    out: list[SampleResponse] = []
    for (reporter, freq, period, kind), group in rec.groupby(["_reporter", "freqCode", "period", "_query"], sort=True):
        group = group.drop(columns=["_query", "_reporter"])
        if kind == "mode":
            query = mode_query(int(reporter), period)
        elif kind.startswith("world"):
            query = world_exports_queries(period)[0 if kind == "world_hs6" else 1]
        else:
            query = next(q for q in bilateral_queries(freq, period) if q.reporter == reporter)
        data = group.to_json(orient="records", double_precision=15)
        body = f'{{"elapsedTime":"0.00 secs","count":{len(group)},"data":{data},"error":""}}'.encode()
        year, month = int(period[:4]), (int(period[4:]) if freq == "M" else None)
        out.append(SampleResponse(query=query, body=body, vintage=cal.sample_vintage(year, month), rows=len(group)))
    return out


#: Responses generated but not yet archived, with their period keys, in generation order; and every period key
#: the sample has. A refresh archives the annual and the monthly keys in two calls: generating the sample twice
#: would cost ~0.7 s, holding all of it for the rest of the process ~50 MB.
_pending: list[tuple[str, SampleResponse]] = []
_sample_keys: set[str] = set()


def _responses_for(keys: set[str] | None) -> list[SampleResponse]:
    """The sample responses of ``keys`` (all when None), in generation order."""
    global _pending
    have = {k for k, _ in _pending}
    if not _sample_keys or not (_sample_keys if keys is None else keys & _sample_keys) <= have:
        _pending = [(from_query(r.query.freq, r.query.period), r) for r in generate_sample()]
        _sample_keys.update(k for k, _ in _pending)
    out = [r for k, r in _pending if keys is None or k in keys]
    _pending = [(k, r) for k, r in _pending if not (keys is None or k in keys)]
    return out


def supersede_sample(archive: RawArchive, stored: list[ManifestEntry], rid: str, sha256: str) -> None:
    """Mark the sample bodies stored for request ``rid`` other than ``sha256`` (the body this version of the generator
    writes) unusable: two bodies of one request under one release would both load (old records beside new ones)."""
    for e in stored:
        if e.is_sample and e.request_id == rid and e.sha256 != sha256:
            archive.mark_failed(e, "superseded: this version of the sample generator writes another body for the request")


def write_sample(archive: RawArchive, keys: set[str] | None = None) -> list[ManifestEntry]:
    """Archive the sample responses for the period keys asked (all when None); identical bodies are skipped."""
    stored = archive.loadable(DATASET)
    have = {(e.request_id, e.sha256) for e in stored}
    rows = []
    for resp in _responses_for(keys):
        params = resp.query.params()
        rid, sha = request_id(DATASET, resp.url, params), hashlib.sha256(resp.body).hexdigest()
        supersede_sample(archive, stored, rid, sha)
        if (rid, sha) in have:
            continue
        rows.append(
            archive.store(
                dataset=DATASET, source="sample", url=resp.url, params=params, status=200, body=resp.body,
                partition=resp.query.partition(), release={"vintage": resp.vintage, "rows": resp.rows},
                fetched_at=f"{resp.vintage}T00:00:00Z",
            )
        )
    return rows
