"""Reference data into ``raw``: Comtrade country and HS lists (H4, H5, H6) and the UNSD
correspondence tables (HS2022 → HS2017, HS2017 → HS2012) from the archive when live runs
fetched them; otherwise the small seeds the sample needs.

Each list is read from its newest archived copy. A copy that cannot be read does not fail the
build: a warning names its URL and the previous archived copy is used; only when no copy of a
list can be read does it count as missing (an HS version without its list then fails the
unknown-HS gate for the records of that version alone).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable

import pandas as pd

from tradeflow.archive import ArchiveError, ManifestEntry, RawArchive
from tradeflow.reference import seed_path
from tradeflow.sample.generator import products
from tradeflow.sources.unsd import COLUMNS as CONCORDANCE_COLUMNS, DATASET as CONCORDANCE, entry_pair, read_workbook

log = logging.getLogger("tradeflow.reference")

REFERENCE = "comtrade.reference"


def _copies(entries: Iterable[ManifestEntry], key: Callable[[ManifestEntry], object]) -> dict[object, list[ManifestEntry]]:
    """Archived copies per list, newest first."""
    out: dict[object, list[ManifestEntry]] = {}
    for e in entries:
        name = key(e)
        if name is not None:
            out.setdefault(name, []).append(e)
    return {k: sorted(v, key=lambda e: (e.fetched_at, e.sha256), reverse=True) for k, v in out.items()}


def _first_readable(name, copies: list[ManifestEntry], read: Callable[[ManifestEntry], list]) -> list:
    """Rows of the newest copy that reads; each unreadable copy warns with its URL."""
    for i, e in enumerate(copies):
        try:
            return read(e)
        except ArchiveError:  # a damaged archive object is not an upstream quirk: stop, naming it
            raise
        except Exception as exc:  # a broken body of any kind: fall back to the previous copy
            older = f"using the copy archived {copies[i + 1].fetched_at}" if i + 1 < len(copies) else "no older copy"
            log.warning("reference %s from %s (archived %s) is unreadable (%s: %s); %s",
                        name, e.url, e.fetched_at, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "", older)
    return []


def _lists(archive: RawArchive) -> dict[str, list[ManifestEntry]]:
    return _copies(archive.loadable(REFERENCE), lambda e: e.partition.get("list"))


def _results(archive: RawArchive, e: ManifestEntry) -> list[dict]:
    doc = json.loads(archive.read_body(e.sha256, e))
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ValueError("no 'results' array")
    return doc["results"]


def archived_hs6_codes(archive: RawArchive, classification: str) -> list[str]:
    """Six-digit codes of one HS list from its newest readable archived copy ([] when none)."""
    copies = _lists(archive).get(classification, [])
    rows = _first_readable(classification, copies, lambda e: [str(r.get("id", "")) for r in _results(archive, e)])
    return sorted({c for c in rows if len(c) == 6 and c.isdigit()})


def reference_countries(archive: RawArchive) -> pd.DataFrame:
    def read(name):
        def rows(e):
            out = []
            for r in _results(archive, e):
                r = {k.lower(): v for k, v in r.items()}
                code = r.get("reportercode", r.get("partnercode", r.get("id")))
                iso3 = r.get("reportercodeisoalpha3") or r.get("partnercodeisoalpha3")
                if code is None or str(code).lower() == "all":
                    continue
                out.append((int(code), iso3, r.get("text") or r.get("reporterdesc") or r.get("partnerdesc"),
                            bool(r.get("isgroup")), name))
            return out
        return rows

    rows = []
    for name, copies in _lists(archive).items():
        if name in ("Reporters", "partnerAreas"):
            rows += _first_readable(name, copies, read(name))
    return pd.DataFrame(rows, columns=["m49", "iso3", "name", "is_group", "list"])


def reference_hs(archive: RawArchive) -> pd.DataFrame:
    """HS codes per version: Comtrade's H4/H5/H6 lists when archived, else the sample's own codes."""
    def read(name):
        def rows(e):
            out = []
            for r in _results(archive, e):
                code = str(r.get("id", ""))
                if code.isdigit() and len(code) in (2, 4, 6):
                    text = str(r.get("text") or "")
                    out.append((name, code, text.split(" - ", 1)[-1] if text.startswith(code) else text, "comtrade"))
            if not out:
                raise ValueError("no HS codes in the list")
            return out
        return rows

    rows = []
    for name, copies in _lists(archive).items():
        if len(name) == 2 and name[0] == "H":
            rows += _first_readable(name, copies, read(name))
    if not rows:
        p = products()
        for col, version in (("hs2017", "H5"), ("hs2022", "H6")):
            for code, label in zip(p[col], p["label"]):
                rows.append((version, code, label, "sample"))
                rows.append((version, code[:4], None, "sample"))
        conc = pd.read_csv(seed_path("hs_concordance_sample.csv"), dtype=str)
        rows += [("H6", c, None, "sample") for c in conc["hs2022"]] + [("H5", c, None, "sample") for c in conc["hs2017"]]
    df = pd.DataFrame(rows, columns=["classification", "code", "description", "source"])
    return df.sort_values(["classification", "code", "description"], na_position="last").drop_duplicates(
        ["classification", "code"]).reset_index(drop=True)


def concordance_pairs(archive: RawArchive) -> pd.DataFrame:
    """Correspondence pairs (:data:`tradeflow.sources.unsd.COLUMNS` + source): every UNSD workbook
    archived (newest readable copy per pair of versions); the sample seed for HS2022 → HS2017
    when no UNSD copy of that table can be read."""
    frames = []
    for (newer, older), copies in _copies(archive.loadable(CONCORDANCE), entry_pair).items():
        rows = _first_readable(f"{newer}→{older} correspondence", copies,
                               lambda e: read_workbook(archive.read_body(e.sha256, e), where=e.url, newer=newer,
                                                       older=older).to_dict("records"))
        if rows:
            frames.append(pd.DataFrame(rows, columns=CONCORDANCE_COLUMNS).assign(source="unsd"))
    if not any((f["newer_version"] == "HS2022").any() for f in frames):
        seed = pd.read_csv(seed_path("hs_concordance_sample.csv"), dtype=str)
        frames.append(pd.DataFrame({"newer_version": "HS2022", "newer_code": seed["hs2022"], "older_version": "HS2017",
                                    "older_code": seed["hs2017"], "relationship": seed["relationship"],
                                    "older_conversion": seed["hs2017"], "source": "sample"}))
    return pd.concat(frames, ignore_index=True)[[*CONCORDANCE_COLUMNS, "source"]]
