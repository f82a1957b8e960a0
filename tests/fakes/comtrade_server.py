"""A local fake of the UN Comtrade+ API on 127.0.0.1, serving the real payload shapes.

It implements the paths tradeflow calls — ``data/v1/get``, ``public/v1/preview``,
``data/v1/getDa`` (one reporter list, or every reporter) and ``files/v1/app/reference/*.json``
— filters a store of records by the query parameters (case-insensitive names, as the real
service accepts), truncates at the record cap exactly as the API does, and can be scripted to
misbehave: 429 with Retry-After, 5xx, slow or drip-fed responses, truncated bodies, records
missing a field, extra fields, an empty ``data`` for a listed period, a record the query did not ask for
(another reporter's), errors that echo the key,
401, and a storm of first-attempt faults over a share of distinct queries (:class:`Storm`).

Like the real service (behind its cache), a repeated query gets byte-identical bodies
(``elapsedTime`` fixed) unless ``identical_bodies=False``. With ``reference=<shared data dir>``
the reference lists are the real ones: ``Reporters.json`` byte for byte, ``partnerAreas.json``,
``H5.json`` and ``H6.json`` rebuilt in the API's shape from the recorded lists (both country
lists hold 156 and 586, as the real ones do); read at test time, never copied into the repo.
"""

from __future__ import annotations

import csv
import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """Misbehave on the next ``times`` requests whose path contains ``path`` (and period, if given)."""

    #: "status", "slow", "drip" (one byte every ``seconds``), "truncate", "drop_field", "extra_field",
    #: "api_error", "empty" (200 with ``data: []``), "echo_key" (an error body echoing the key sent),
    #: "stray" (the answer also carries one record of ``reporter`` for the same period: not asked for)
    kind: str
    path: str = "/"
    times: int = 1
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0
    period: str | None = None
    field: str = "primaryValue"
    after: int = 0  # let this many matching requests through first
    reporter: int | None = None  # "stray": whose record is added
    cmd: str | None = None  # only requests for this cmdCode (e.g. "TOTAL")
    world: bool = False  # only the all-reporters requests (no reporterCode)


@dataclass
class Storm:
    """Fail the first attempt of a share of *distinct* queries (chosen by a hash of the query)."""

    rate_429: float = 0.20  # 429 with Retry-After
    rate_500: float = 0.12
    rate_truncate: float = 0.0  # 200 with half a body
    retry_after: str = "0"
    seed: str = "storm"


@dataclass
class FakeComtrade:
    records: list[dict]
    preview_cap: int = 500
    keyed_cap: int = 250_000  # a free subscription key: 100,000 whatever maxRecords says
    key: str | None = None  # when set, keyed paths demand this key in Ocp-Apim-Subscription-Key
    release: dict[tuple[int, str], str] = field(default_factory=dict)  # (reporter, period) → lastReleased
    faults: list[Fault] = field(default_factory=list)
    log: list[dict] = field(default_factory=list)
    served: Counter = field(default_factory=Counter)  # record identity → times served
    reference: Path | None = None  # shared/data: serve the real reference lists
    identical_bodies: bool = True
    storm: Storm | None = None
    storm_hits: Counter = field(default_factory=Counter)  # fault kind → first attempts failed
    attempts: Counter = field(default_factory=Counter)  # distinct query → requests
    always: int | None = None  # answer every request with this status (a dead server)

    # -- server lifecycle ------------------------------------------------------------------
    def __enter__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                fake._handle(self)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def set_records(self, records: list[dict]) -> None:
        """Replace the store (a revision)."""
        self.records = records
        self.__dict__.pop("_by_period", None)

    def _index(self) -> dict[tuple[str, str], list[dict]]:
        if not hasattr(self, "_by_period"):
            self._by_period: dict[tuple[str, str], list[dict]] = {}
            for r in self.records:
                self._by_period.setdefault((r["freqCode"], r["period"]), []).append(r)
        return self._by_period

    def data_calls(self) -> int:
        return sum(1 for r in self.log if "/get/" in r["path"] or "/preview/" in r["path"])

    # -- routing ---------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler):
        parts = urlsplit(h.path)
        params = {k.lower(): v[0] for k, v in parse_qs(parts.query).items()}
        self.log.append({"path": parts.path, "params": params, "headers": dict(h.headers), "query": parts.query})
        if self.always is not None:
            return self._send(h, self.always, b'{"statusCode": %d, "message": "Internal server error"}' % self.always)
        query_id = (parts.path, tuple(sorted(params.items())))
        self.attempts[query_id] += 1
        storm = self._storm(query_id) if self.attempts[query_id] == 1 else None
        if storm:
            self.storm_hits[storm] += 1
        if storm == "429":
            return self._send(h, 429, b'{"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}',
                              {"Retry-After": self.storm.retry_after})
        if storm == "500":
            return self._send(h, 500, b'{"statusCode": 500, "message": "Internal server error"}')
        fault = self._fault(parts.path, params)
        if fault and fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            message = (b"Access denied due to invalid subscription key. Make sure to provide a valid key for an "
                       b"active subscription." if fault.status in (401, 403) else b"fake failure")
            return self._send(h, fault.status, b'{"statusCode": %d, "message": "%s"}' % (fault.status, message), headers)
        if fault and fault.kind == "slow":
            time.sleep(fault.seconds)
        if fault and fault.kind == "echo_key":
            sent = h.headers.get("Ocp-Apim-Subscription-Key", "")
            body = json.dumps({"statusCode": fault.status, "message": f"Request rejected for key {sent}",
                               "count": 0, "data": [], "error": f"Invalid request with subscription key {sent}"}).encode()
            return self._send(h, fault.status, body)
        keyed = parts.path.startswith("/data/")
        if keyed and self.key and h.headers.get("Ocp-Apim-Subscription-Key") != self.key:
            return self._send(h, 401, b'{"statusCode": 401, "message": "Access denied due to invalid subscription key. '
                                      b'Make sure to provide a valid key for an active subscription."}')
        path = parts.path.split("/")
        if parts.path.startswith(("/data/v1/get/", "/public/v1/preview/")):
            body = self._final(path[-2], params, keyed, fault)
        elif parts.path.startswith("/data/v1/getDa/"):
            body = self._availability(path[-2], params)
        elif parts.path.startswith("/files/v1/app/reference/"):
            body = self._reference(path[-1].removesuffix(".json"))
            if body is None:
                return self._send(h, 404, b'{"statusCode": 404, "message": "Resource not found"}')
        else:
            return self._send(h, 404, b'{"statusCode": 404, "message": "Resource not found"}')
        if (fault and fault.kind == "truncate") or storm == "truncate":
            body = body[: len(body) // 2]
        if fault and fault.kind == "drip":
            return self._drip(h, body, fault.seconds)
        self._send(h, 200, body)

    def _storm(self, query_id) -> str | None:
        if not self.storm:
            return None
        u = int(hashlib.sha256(f"{self.storm.seed}{query_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        s = self.storm
        if u < s.rate_429:
            return "429"
        if u < s.rate_429 + s.rate_500:
            return "500"
        if u < s.rate_429 + s.rate_500 + s.rate_truncate and query_id[0].startswith(("/data/v1/get/", "/public/v1/preview/")):
            return "truncate"
        return None

    def _fault(self, path: str, params: dict) -> Fault | None:
        for f in self.faults:
            if (f.times > 0 and f.path in path and (f.period is None or params.get("period") == f.period)
                    and (f.cmd is None or params.get("cmdcode") == f.cmd) and (not f.world or "reportercode" not in params)):
                if f.after > 0:
                    f.after -= 1
                    continue
                f.times -= 1
                return f
        return None

    @staticmethod
    def _drip(h, body: bytes, seconds: float):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        try:
            for i in range(len(body)):
                h.wfile.write(body[i : i + 1])
                h.wfile.flush()
                time.sleep(seconds)
        except OSError:
            pass  # the client gave up

    @staticmethod
    def _send(h, status: int, body: bytes, headers: dict | None = None):
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    # -- endpoints -------------------------------------------------------------------------
    def _final(self, freq: str, p: dict, keyed: bool, fault: Fault | None) -> bytes:
        def listed(name, default):
            return set(p[name].split(",")) if p.get(name) else default

        reporters = listed("reportercode", None)
        partners, flows, modes = listed("partnercode", None), listed("flowcode", None), listed("motcode", {"0"})
        if p.get("breakdownmode", "classic") == "classic":
            modes = modes & {"0"}  # classic mode: the all-modes total only, whatever motCode asks (as the API does)
        cmd = p.get("cmdcode", "AG6")
        codes = None if cmd in ("AG6", "ALL") else set(cmd.split(","))
        level = 6 if cmd == "AG6" else None  # AG6: every six-digit line, never TOTAL (as the API does)
        rows = [
            r for r in self._index().get((freq, p.get("period")), [])
            if (reporters is None or str(r["reporterCode"]) in reporters)
            and (partners is None or str(r["partnerCode"]) in partners)
            and (flows is None or r["flowCode"] in flows)
            and str(r["motCode"]) in modes
            and str(r["partner2Code"]) == p.get("partner2code", "0")
            and r["customsCode"] == p.get("customscode", "C00")
            and (codes is None or r["cmdCode"] in codes)
            and (level is None or r["aggrLevel"] == level)
        ]
        cap = min(int(p.get("maxrecords", 10**9)), self.keyed_cap if keyed else self.preview_cap)
        rows = rows[:cap]
        if fault and fault.kind == "drop_field":
            rows = [{k: v for k, v in r.items() if k != fault.field} for r in rows]
        if fault and fault.kind == "extra_field":
            rows = [{**r, "brandNewField": "x"} for r in rows]
        if fault and fault.kind == "empty":
            rows = []
        if fault and fault.kind == "stray":
            rows = rows + [next(r for r in self._index().get((freq, p.get("period")), [])
                                if r["reporterCode"] == fault.reporter and r["aggrLevel"] == 6)]
        for r in rows:
            self.served[_identity(r)] += 1
        error = "fake API error" if fault and fault.kind == "api_error" else ""
        elapsed = "0.42 secs" if self.identical_bodies else f"{time.time() % 1:.2f} secs"
        return json.dumps({"elapsedTime": elapsed, "count": len(rows), "data": rows, "error": error}).encode()

    def _availability(self, freq: str, p: dict) -> bytes:
        reporters = set(p["reportercode"].split(",")) if p.get("reportercode") else None  # none: every reporter
        periods = set(p.get("period", "").split(","))
        groups: dict[tuple[int, str], list[dict]] = {}
        for r in self.records:
            if r["freqCode"] == freq and (reporters is None or str(r["reporterCode"]) in reporters) and r["period"] in periods:
                groups.setdefault((r["reporterCode"], r["period"]), []).append(r)
        data = []
        for (rep, period), rows in sorted(groups.items()):
            data.append({
                "datasetCode": int(f"{rep}{period}"), "typeCode": "C", "freqCode": freq, "period": period,
                "reporterCode": rep, "reporterISO": rows[0]["reporterISO"], "reporterDesc": rows[0]["reporterDesc"],
                "classificationCode": rows[0]["classificationCode"], "classificationSearchCode": "HS",
                "isOriginalClassification": True, "isExtendedFlowCode": True, "isExtendedPartnerCode": True,
                "isExtendedPartner2Code": False, "isExtendedCmdCode": False, "isExtendedCustomsCode": False,
                "isExtendedMotCode": any(r["motCode"] != 0 for r in rows), "totalRecords": len(rows),
                "datasetChecksum": int(hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:9], 16),
                "firstReleased": "2023-01-01T00:00:00", "lastReleased": self.release.get((rep, period), "2024-06-30T10:00:00"),
            })
        return json.dumps({"elapsedTime": "0.01 secs", "count": len(data), "data": data, "error": ""}).encode()

    def _reference(self, name: str) -> bytes | None:
        if self.reference is not None:
            return real_reference(self.reference, name)
        return self._synthetic_reference(name)

    def _synthetic_reference(self, classification: str) -> bytes | None:
        if not (len(classification) == 2 and classification[0] == "H"):
            return None
        codes = sorted({r["cmdCode"] for r in self.records if r["classificationCode"] == classification
                        and r["aggrLevel"] == 6})
        results = [{"id": c, "text": f"{c} - product", "parent": c[:4], "isLeaf": 1, "aggrLevel": 6,
                    "standardUnitAbbr": "kg"} for c in codes]
        results += [{"id": c, "text": c, "parent": c[:2], "isLeaf": 0, "aggrLevel": 4} for c in sorted({c[:4] for c in codes})]
        return json.dumps({"more": False, "results": results}).encode()


def real_reference(data: Path, name: str) -> bytes | None:
    """A reference list as comtradeapi.un.org serves it, from the recorded lists in shared/data."""
    if name == "Reporters":
        return (data / "reference" / "comtrade_Reporters.json").read_bytes()  # the API's own bytes
    if name == "partnerAreas":
        results = []
        with open(data / "reference" / "comtrade_partners_from_comtradr.csv", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                code = int(r["id"])
                row = {"id": code, "text": r["country"].strip(), "PartnerCode": code, "PartnerDesc": r["country"].strip(),
                       "partnerNote": r["note"], "PartnerCodeIsoAlpha2": r["iso_2"],
                       # comtradr writes "World" where the API says W00
                       "PartnerCodeIsoAlpha3": "W00" if code == 0 else r["iso_3"],
                       "entryEffectiveDate": f"{int(float(r['entry_year'] or 1900))}-01-01T00:00:00",
                       "isGroup": r["group"] == "True"}
                if r["exit_year"]:
                    row["entryExpiredDate"] = f"{int(float(r['exit_year']))}-12-31T00:00:00"
                results.append(row)
        return json.dumps({"results": results}).encode()
    files = {"H5": "comtrade_HS2017_H5_codes.csv", "H6": "comtrade_HS2022_H6_codes.csv"}
    if name in files:
        results = []
        with open(data / "hs" / files[name], encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                results.append({"id": r["id"], "text": r["text"], "parent": r["parent"], "isLeaf": r["isLeaf"],
                                "aggrLevel": int(r["aggrlevel"]), "standardUnitAbbr": r["standardUnitAbbr"]})
        return json.dumps({"more": False, "minimumInputLength": 2, "classCode": name, "results": results}).encode()
    return None


def _identity(r: dict) -> tuple:
    return (r["reporterCode"], r["partnerCode"], r["flowCode"], r["freqCode"], r["period"], r["cmdCode"], r["motCode"])



def sample_records(periods: set[str]) -> list[dict]:
    """Records in the exact API shape (the synthetic sample's bodies) for the given API periods."""
    from tradeflow.sample.generator import generate_sample

    out, seen = [], set()
    for resp in generate_sample():
        if resp.query.period in periods:
            for r in json.loads(resp.body)["data"]:
                if _identity(r) not in seen:  # the "all reporters" bodies repeat the pair's own World rows
                    seen.add(_identity(r))
                    out.append(r)
    return out
