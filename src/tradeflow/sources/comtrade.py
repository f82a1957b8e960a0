"""UN Comtrade+ client (``comtradeapi.un.org``): final data, data availability, reference lists.

With ``COMTRADE_API_KEY`` the keyed endpoints are used (``data/v1/get``, ``data/v1/getDa``;
key in the ``Ocp-Apim-Subscription-Key`` header); without it the keyless preview
(``public/v1/preview``), which has no availability endpoint. Every body is archived before it
is parsed; a body that does not parse (truncated, count not matching its data) is marked failed
and the request is sent again; one with records the query did not ask for is marked failed and
its period fails (:meth:`FinalDataQuery.outside`). A response whose record count reaches the endpoint's cap is
incomplete: it is marked ``capped`` in the manifest (never loaded) and the query is split — by
HS chapter, then heading, then halves of the code list, then by flow and partner — until every
piece is under the cap, or the partition fails loudly.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

from tradeflow import progress
from tradeflow.archive import ManifestEntry, RawArchive
from tradeflow.errors import ParseError, SourceError
from tradeflow.settings import Settings
from tradeflow.sources.comtrade_query import FinalDataQuery
from tradeflow.sources.http import HttpClient, RetryableError

log = logging.getLogger(__name__)

#: Record caps: the keyless preview returns at most 500 records; keyed calls up to 250,000
#: (comtradeapicall README). TRADEFLOW_COMTRADE_CAP can set it lower, never higher.
PREVIEW_CAP = 500
KEYED_CAP = 250_000
#: A free subscription key gets at most 100,000 records a call, whatever maxRecords asks for (UN Comtrade
#: developer portal, free APIs; comtradr "Querying large amounts of data"): a keyed body of exactly this many
#: records may be cut short, so it is treated as capped and split (for a premium key: one split too many).
FREE_KEYED_CAP = 100_000

#: HS version reported by default for a year, when availability does not say.
def default_classification(year: int) -> str:
    return "H6" if year >= 2022 else "H5" if year >= 2017 else "H4" if year >= 2012 else "H3"


@dataclass(frozen=True)
class Availability:
    """One row of ``getDa``: what is published for a reporter and period, and when."""

    reporter: int
    freq: str
    period: str
    classification: str
    total_records: int
    checksum: str
    last_released: str
    has_modes: bool

    def release(self) -> dict:
        return {
            "vintage": self.last_released[:10],
            "last_released": self.last_released,
            "checksum": self.checksum,
            "total_records": self.total_records,
            "classification": self.classification,
        }


class ComtradeClient:
    """One small class over the shared HTTP layer; every body goes to the archive first."""

    def __init__(self, settings: Settings, archive: RawArchive, http: HttpClient | None = None, cap: int | None = None):
        key = settings.comtrade_api_key
        self.keyed = bool(key)
        self.base = settings.comtrade_url
        self.archive = archive
        self.http = http or HttpClient(
            headers={"Ocp-Apim-Subscription-Key": key} if key else {},
            secrets=settings.secrets(),
            rate_per_second=settings.comtrade_rate,
        )
        # a 401/403 here is about the key (the HTTP layer's default hint is for hosts that need none)
        self.http.refused_hint = ("check COMTRADE_API_KEY" if key
                                  else "the keyless preview was refused: set COMTRADE_API_KEY")
        # the endpoint's limit bounds any configured cap: a keyless body stops at 500 records whatever
        # maxRecords asks, so a larger cap would take a cut-short preview as complete
        limit = KEYED_CAP if self.keyed else PREVIEW_CAP
        self.cap = min(cap or settings.comtrade_cap or limit, limit)
        self._codes: dict[str, list[str]] = {}
        self._unavailable: set[str] = set()  # HS lists an unknown-classification split could not get
        self.records = 0  # records kept (complete pieces only)
        self.classifications: set[str] = set()  # HS versions availability listed (their reference lists are needed)
        self.progress = progress.current()
        self.http.on_call = self.progress.call

    # -- availability ----------------------------------------------------------------------
    def availability(self, freq: str, reporters: list[int] | None, periods: list[str]) -> dict[tuple[int, str], Availability]:
        """What is published for each (reporter, period); keyed only. ``reporters=None``: every reporter."""
        out: dict[tuple[int, str], Availability] = {}
        for chunk in (periods[i : i + 12] for i in range(0, len(periods), 12)):
            url = f"{self.base}/data/v1/getDa/C/{freq}/HS"
            params = {"reportercode": ",".join(map(str, reporters))} if reporters is not None else {}
            params["period"] = ",".join(chunk)
            entry, doc = self._get_json("comtrade.availability", url, params, partition={"freq": freq})
            for row in _rows(doc):
                a = _availability(row, entry)
                if a.freq == freq:
                    out[(a.reporter, a.period)] = a
                    if a.classification:
                        self.classifications.add(a.classification)
        return out

    # -- final data ------------------------------------------------------------------------
    def fetch(self, query: FinalDataQuery, release: dict, classification: str | None = None) -> list[ManifestEntry]:
        """Every record of ``query``, split until each piece is under the cap; archived entries."""
        url = f"{self.base}/{'data/v1/get' if self.keyed else 'public/v1/preview'}/C/{query.freq}/HS"
        # classic mode answers the all-modes total only: a by-mode query needs the plus breakdown
        # (partner2Code=0 and customsCode=C00 stay pinned, so nothing else is broken down)
        mode = "plus" if query.by_mode else "classic"
        params = {**query.params(), "maxRecords": str(self.cap), "format": "JSON", "breakdownMode": mode}
        entry, doc = self._get_json("comtrade.final", url, params, partition=query.partition(), release=release,
                                    check=query.outside)
        cap = FREE_KEYED_CAP if self.keyed and doc["count"] == FREE_KEYED_CAP < self.cap else self.cap
        if doc["count"] < cap:
            self.records += doc["count"]
            self.progress.answered(doc["count"])
            return [entry]
        pieces = self._split(query, classification)
        note = f"reached the {cap}-record cap; split into {len(pieces)} queries"
        log.info("%s %s", self.http.describe(url, params), note)
        self.archive.mark_capped(entry, note)  # incomplete: never loaded
        self.progress.answered(0)
        self.progress.plan(len(pieces))
        return [e for piece in pieces for e in self.fetch(piece, release, classification)]

    def reference(self, name: str) -> tuple[ManifestEntry, dict]:
        """A reference list (``Reporters``, ``partnerAreas``, ``H5``, ``H6``…), archived like data."""
        url = f"{self.base}/files/v1/app/reference/{name}.json"
        return self._get_json("comtrade.reference", url, {}, envelope="results", partition={"list": name})

    def hs6_codes(self, classification: str) -> list[str]:
        """HS6 codes of one HS version, from Comtrade's reference list."""
        if classification not in self._codes:
            try:
                entry, doc = self.reference(classification)
                url = entry.url
                codes = sorted({str(r["id"]) for r in doc["results"] if str(r.get("aggrLevel", r.get("aggrlevel", ""))) == "6"
                                or (len(str(r.get("id", ""))) == 6 and str(r["id"]).isdigit())})
                if not codes:
                    raise ParseError(f"{url}: reference list has no six-digit codes")
            except (ParseError, SourceError) as exc:  # the last archived copy, if any, still tells the codes
                from tradeflow.warehouse.reference_load import archived_hs6_codes

                codes = archived_hs6_codes(self.archive, classification)
                if not codes:
                    raise
                log.warning("reference list %s not available (%s); splitting with the last archived copy", classification, exc)
            self._codes[classification] = codes
        return self._codes[classification]

    def split_codes(self, year: int, classification: str | None) -> list[str]:
        """The HS6 codes a split asks for. Classification unknown (keyless runs, all-reporters queries, where each
        reporter answers in the HS version it reports in): every version in force by ``year`` (H4 from 2012, H5
        from 2017, H6 from 2022), so a code that only an older version has is still asked for."""
        if classification:
            return self.hs6_codes(classification)
        default = default_classification(year)
        codes = set(self.hs6_codes(default))
        versions = ("H4", "H5", "H6")
        for older in versions[: versions.index(default)] if default in versions else ():
            if older in self._unavailable:
                continue
            try:
                codes.update(self.hs6_codes(older))
            except (ParseError, SourceError) as exc:
                self._unavailable.add(older)
                log.warning("reference list %s not available (%s): the %d split asks for the codes of the "
                            "other versions only", older, exc, year)
        return sorted(codes)

    def _split(self, q: FinalDataQuery, classification: str | None) -> list[FinalDataQuery]:
        if q.cmd == "AG6":
            groups = defaultdict(list)
            for code in self.split_codes(int(q.period[:4]), classification):
                groups[code[:2]].append(code)
            return [q.narrowed(",".join(codes)) for _, codes in sorted(groups.items())]
        codes = q.cmd.split(",")
        if len({c[:4] for c in codes}) > 1:
            groups = defaultdict(list)
            for code in codes:
                groups[code[:4]].append(code)
            return [q.narrowed(",".join(c)) for _, c in sorted(groups.items())]
        if len(codes) > 1:
            half = len(codes) // 2
            return [q.narrowed(",".join(codes[:half])), q.narrowed(",".join(codes[half:]))]
        if len(q.flows) > 1:
            return [FinalDataQuery(q.reporter, q.freq, q.period, q.partners, (f,), q.cmd, q.modes) for f in q.flows]
        if len(q.partners) > 1:
            return [FinalDataQuery(q.reporter, q.freq, q.period, (p,), q.flows, q.cmd, q.modes) for p in q.partners]
        if len(q.modes) > 1:
            return [FinalDataQuery(q.reporter, q.freq, q.period, q.partners, q.flows, q.cmd, (m,)) for m in q.modes]
        raise SourceError(f"cannot split {q} further, yet it still reaches the {self.cap}-record cap")

    # -- one request -----------------------------------------------------------------------
    def _get_json(self, dataset: str, url: str, params: dict, *, partition: dict | None = None,
                  release: dict | None = None, envelope: str = "data",
                  check: Callable[[list], str | None] | None = None) -> tuple[ManifestEntry, dict]:
        """GET, archive the body, then parse it; a broken body is marked failed and the request sent again.

        An API error in a well-formed body is not retried (it names a bad request): ParseError. So is an answer
        ``check`` finds fault with (records the query did not ask for): the service's cache would send the same
        bytes again, and every retry would count against the host's circuit breaker; the period fails, named, and
        the next run asks again.
        """
        described = self.http.describe(url, params)

        def accept(resp) -> tuple[ManifestEntry, dict]:
            entry = self.archive.store(dataset=dataset, source="live", url=url, params=params, status=resp.status,
                                       body=resp.body, partition=partition, release=release)
            self.progress.body()
            try:
                doc = json.loads(resp.body)
                if not isinstance(doc, dict) or not isinstance(doc.get(envelope), list):
                    raise ValueError(f"no '{envelope}' array in the response")
                if envelope == "data" and not doc.get("error"):
                    if not isinstance(doc.get("count"), int) or doc["count"] != len(doc["data"]):
                        raise ValueError(f"count {doc.get('count')!r} does not match {len(doc['data'])} records (truncated?)")
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                self.archive.mark_failed(entry, f"{described}: unusable response ({exc})")
                raise RetryableError(f"unusable response ({exc})") from None
            if doc.get("error"):
                msg = f"{described}: API error: {self.http.scrub(str(doc['error']))}"
                self.archive.mark_failed(entry, msg)
                raise ParseError(msg)
            if check and (problem := check(doc[envelope])):
                msg = f"{described}: {problem}"
                self.archive.mark_failed(entry, msg)
                raise ParseError(msg)
            return entry, doc

        return self.http.get(url, params, accept=accept)


def _rows(doc: dict) -> list[dict]:
    return [{k.lower(): v for k, v in row.items()} for row in doc["data"]]


def _flag(v) -> bool:
    """A JSON flag as Comtrade may serve it: true/false, 1/0, or their text ("false" is false, not a non-empty string)."""
    return v.strip().lower() in ("true", "1") if isinstance(v, str) else bool(v)


def _availability(row: dict, entry: ManifestEntry) -> Availability:
    try:
        return Availability(
            reporter=int(row["reportercode"]),
            freq=str(row["freqcode"]),
            period=str(row["period"]),
            classification=str(row.get("classificationcode") or ""),
            total_records=int(row.get("totalrecords") or 0),
            checksum=str(row.get("datasetchecksum") or ""),
            last_released=str(row["lastreleased"]),
            has_modes=_flag(row.get("isextendedmotcode")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ParseError(f"{entry.url}: availability row lacks {exc}") from None
