"""Reference data into ``raw``: Comtrade country and HS lists and the UNSD concordance from the
archive when live runs fetched them; otherwise the small seeds the sample needs."""

from __future__ import annotations

import json

import pandas as pd

from tradeflow.archive import RawArchive
from tradeflow.reference import seed_path
from tradeflow.sample.generator import products
from tradeflow.sources.unsd import DATASET as CONCORDANCE, read_workbook


def _latest(archive: RawArchive, dataset: str, key: str | None = None) -> dict:
    out = {}
    for e in archive.loadable(dataset):
        name = e.partition.get("list") if key else "_"
        if name is not None and (name not in out or e.fetched_at > out[name].fetched_at):
            out[name] = e
    return out


def reference_countries(archive: RawArchive) -> pd.DataFrame:
    rows = []
    for name, e in _latest(archive, "comtrade.reference", key="list").items():
        if name not in ("Reporters", "partnerAreas"):
            continue
        for r in json.loads(archive.read_body(e.sha256))["results"]:
            r = {k.lower(): v for k, v in r.items()}
            code = r.get("reportercode", r.get("partnercode", r.get("id")))
            iso3 = r.get("reportercodeisoalpha3") or r.get("partnercodeisoalpha3")
            if code is None or str(code).lower() == "all":
                continue
            rows.append((int(code), iso3, r.get("text") or r.get("reporterdesc") or r.get("partnerdesc"),
                         bool(r.get("isgroup")), name))
    return pd.DataFrame(rows, columns=["m49", "iso3", "name", "is_group", "list"])


def reference_hs(archive: RawArchive) -> pd.DataFrame:
    """HS codes per version: Comtrade's H5/H6 lists when archived, else the sample's own codes."""
    rows = []
    for name, e in _latest(archive, "comtrade.reference", key="list").items():
        if not (len(name) == 2 and name[0] == "H"):
            continue
        for r in json.loads(archive.read_body(e.sha256))["results"]:
            code = str(r.get("id", ""))
            if code.isdigit() and len(code) in (2, 4, 6):
                text = str(r.get("text") or "")
                rows.append((name, code, text.split(" - ", 1)[-1] if text.startswith(code) else text, "comtrade"))
    if not rows:
        p = products()
        for col, version in (("hs2017", "H5"), ("hs2022", "H6")):
            for code, label in zip(p[col], p["label"]):
                rows.append((version, code, label, "sample"))
                rows.append((version, code[:4], None, "sample"))
        conc = pd.read_csv(seed_path("hs_concordance_sample.csv"), dtype=str)
        rows += [("H6", c, None, "sample") for c in conc["hs2022"]] + [("H5", c, None, "sample") for c in conc["hs2017"]]
    df = pd.DataFrame(rows, columns=["classification", "code", "description", "source"])
    return df.sort_values("description", na_position="last").drop_duplicates(["classification", "code"])


def concordance_pairs(archive: RawArchive) -> pd.DataFrame:
    """(hs2022, hs2017, relationship, hs2017_conversion, source): UNSD table if archived, else the sample seed."""
    latest = _latest(archive, CONCORDANCE)
    if latest:
        e = latest["_"]
        df = read_workbook(archive.read_body(e.sha256), where=e.url)
        df["source"] = "unsd"
        return df[["hs2022", "hs2017", "relationship", "hs2017_conversion", "source"]]
    df = pd.read_csv(seed_path("hs_concordance_sample.csv"), dtype=str)
    df["hs2017_conversion"] = df["hs2017"]
    df["source"] = "sample"
    return df[["hs2022", "hs2017", "relationship", "hs2017_conversion", "source"]]
