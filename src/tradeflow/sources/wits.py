"""World Bank WITS client: UNCTAD TRAINS tariffs (MFN applied and preferential) at HS6.

``{base}/API/V1/SDMX/V21/datasource/TRN/reporter/{importer}/partner/{partner}/product/all/year/{year}/datatype/{datatype}?format=JSON``
with M49 codes ("156", "586", "000" = World). Against the World, TRAINS returns MFN lines;
against a partner, the rates that partner faces (preferential where a preference exists).
Bodies are archived before parsing, over the shared HTTP layer.

Rates are simple averages over a line's *ad valorem* national lines: a line with only
specific (or compound, mixed) duties comes back as ``OBS_VALUE`` 0 with no ad-valorem line
(``NBR_MFN_LINES``/``NBR_PREF_LINES`` 0, ``NBR_NA_LINES`` = all its national lines). That 0 is
not a zero duty: staging stores it as unknown (NULL) unless WITS publishes an ad valorem
equivalent (``datatype/aveestimated``), and says which each rate is (``rate_basis``).
"""

from __future__ import annotations

import json

import pandas as pd

from tradeflow.archive import ManifestEntry, RawArchive
from tradeflow.errors import ParseError
from tradeflow.settings import Settings
from tradeflow.sources.http import HttpClient
from tradeflow.sources.sdmx_json import read_sdmx_json

DATASET = "wits.trains"
#: Importer → partners asked for: the World (MFN) and the FTA partner (preferential).
PAIRS = (("156", "000"), ("156", "586"), ("586", "000"), ("586", "156"))
#: TRAINS data types: the rates as reported, and with WITS's ad valorem equivalents of non-ad-valorem duties.
DATATYPES = ("reported", "aveestimated")


class WitsClient:
    def __init__(self, settings: Settings, archive: RawArchive, http: HttpClient | None = None):
        self.base = settings.wits_url
        self.archive = archive
        self.http = http or HttpClient(rate_per_second=settings.wits_rate)

    def url(self, importer: str, partner: str, year: int, datatype: str = "reported") -> str:
        return (f"{self.base}/API/V1/SDMX/V21/datasource/TRN/reporter/{importer}/partner/{partner}"
                f"/product/all/year/{year}/datatype/{datatype}")

    def tariffs(self, importer: str, partner: str, year: int, datatype: str = "reported") -> ManifestEntry | None:
        """Fetch and archive one importer × partner × year (× data type); None when WITS has no data (404)."""
        url, params = self.url(importer, partner, year, datatype), {"format": "JSON"}
        resp = self.http.get(url, params, allow_status={404})
        partition = {"importer": importer, "partner": partner, "year": year}
        if datatype != "reported":
            partition["datatype"] = datatype
        entry = self.archive.store(dataset=DATASET, source="live", url=url, params=params, status=resp.status,
                                   body=resp.body, partition=partition, ok=resp.status == 200)
        if resp.status == 404:
            return None
        try:
            _check_one_rate_per_line(read_sdmx_json(json.loads(resp.body), where=self.http.describe(url, params)))
        except (ValueError, ParseError) as exc:
            msg = f"{self.http.describe(url, params)}: unusable response ({exc})"
            self.archive.mark_failed(entry, msg)
            raise ParseError(msg) from None
        return entry


#: What one TRAINS observation is of (the grain of ``raw.wits_tariffs`` within a body).
LINE_KEY = ("REPORTER", "PARTNER", "PRODUCTCODE", "TIME_PERIOD", "TARIFFTYPE", "DATATYPE")


def _check_one_rate_per_line(frame: pd.DataFrame) -> None:
    """A body giving one line two rates is refused at fetch time (so it is never archived as good and is fetched
    again next night), not left to fail every later build at the raw grain check."""
    key = [c for c in LINE_KEY if c in frame.columns]
    repeated = frame[frame.duplicated(key, keep=False)]
    if len(repeated):
        first = repeated.iloc[0]
        raise ParseError(f"{len(repeated)} observations repeat a line, e.g. "
                         + ", ".join(f"{c}={first[c]}" for c in key))


def tariff_frame(archive: RawArchive, entries: list[ManifestEntry]) -> pd.DataFrame:
    """All archived TRAINS bodies as one long table (what ``raw.wits_tariffs`` is built from)."""
    frames = []
    for e in entries:
        doc = json.loads(archive.read_body(e.sha256, e))
        f = read_sdmx_json(doc, where=e.url)
        prepared = str(doc.get("header", {}).get("prepared") or "")[:10]  # the dataset's preparation date
        f["request_id"], f["vintage"], f["is_sample"] = e.request_id, prepared or e.fetched_at[:10], e.is_sample
        f["requested_datatype"] = e.partition.get("datatype", "reported")
        f["sha256"], f["fetched_at"] = e.sha256, e.fetched_at  # a request fetched again may get another body
        frames.append(f)
    cols = ["FREQ", "REPORTER", "PARTNER", "PRODUCTCODE", "DATATYPE", "TIME_PERIOD", "OBS_VALUE", "NOMENCODE",
            "TARIFFTYPE", "MIN_RATE", "MAX_RATE", "TOTALNOOFLINES", "NBR_PREF_LINES", "NBR_MFN_LINES", "NBR_NA_LINES",
            "OBS_VALUE_MEASURE", "request_id", "vintage", "is_sample", "requested_datatype", "sha256", "fetched_at"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    out = pd.concat(frames, ignore_index=True)
    for c in cols:
        if c not in out:
            out[c] = None
    return out[cols].astype({c: "str" for c in cols if c not in ("OBS_VALUE", "is_sample")})
