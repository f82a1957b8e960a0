"""A local fake of the UN Comtrade+ API on 127.0.0.1, serving the real payload shapes.

It implements the paths tradeflow calls — ``data/v1/get``, ``public/v1/preview``,
``data/v1/getDa`` and ``files/v1/app/reference/{H?}.json`` — filters a store of records by the
query parameters (case-insensitive names, as the real service accepts), truncates at the
record cap exactly as the API does, and can be scripted to misbehave: 429 with Retry-After,
5xx, slow responses, truncated bodies, records missing a field, extra fields.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """Misbehave on the next ``times`` requests whose path contains ``path`` (and period, if given)."""

    kind: str  # "status", "slow", "truncate", "drop_field", "extra_field", "api_error"
    path: str = "/"
    times: int = 1
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0
    period: str | None = None
    field: str = "primaryValue"


@dataclass
class FakeComtrade:
    records: list[dict]
    preview_cap: int = 500
    key: str | None = None  # when set, keyed paths demand this key in Ocp-Apim-Subscription-Key
    release: dict[tuple[int, str], str] = field(default_factory=dict)  # (reporter, period) → lastReleased
    faults: list[Fault] = field(default_factory=list)
    log: list[dict] = field(default_factory=list)
    served: Counter = field(default_factory=Counter)  # record identity → times served

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
        fault = self._fault(parts.path, params)
        if fault and fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return self._send(h, fault.status, b'{"statusCode": %d, "message": "fake failure"}' % fault.status, headers)
        if fault and fault.kind == "slow":
            time.sleep(fault.seconds)
        keyed = parts.path.startswith("/data/")
        if keyed and self.key and h.headers.get("Ocp-Apim-Subscription-Key") != self.key:
            return self._send(h, 401, b'{"statusCode": 401, "message": "Access denied due to invalid subscription key."}')
        path = parts.path.split("/")
        if parts.path.startswith(("/data/v1/get/", "/public/v1/preview/")):
            body = self._final(path[-2], params, keyed, fault)
        elif parts.path.startswith("/data/v1/getDa/"):
            body = self._availability(path[-2], params)
        elif parts.path.startswith("/files/v1/app/reference/"):
            body = self._reference(path[-1].removesuffix(".json"))
        else:
            return self._send(h, 404, b'{"statusCode": 404, "message": "Resource not found"}')
        if fault and fault.kind == "truncate":
            body = body[: len(body) // 2]
        self._send(h, 200, body)

    def _fault(self, path: str, params: dict) -> Fault | None:
        for f in self.faults:
            if f.times > 0 and f.path in path and (f.period is None or params.get("period") == f.period):
                f.times -= 1
                return f
        return None

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
        cmd = p.get("cmdcode", "AG6")
        codes = None if cmd in ("AG6", "ALL") else set(cmd.split(","))
        rows = [
            r for r in self._index().get((freq, p.get("period")), [])
            if (reporters is None or str(r["reporterCode"]) in reporters)
            and (partners is None or str(r["partnerCode"]) in partners)
            and (flows is None or r["flowCode"] in flows)
            and str(r["motCode"]) in modes
            and str(r["partner2Code"]) == p.get("partner2code", "0")
            and r["customsCode"] == p.get("customscode", "C00")
            and (codes is None or r["cmdCode"] in codes)
        ]
        cap = min(int(p.get("maxrecords", 10**9)), 250_000 if keyed else self.preview_cap)
        rows = rows[:cap]
        if fault and fault.kind == "drop_field":
            rows = [{k: v for k, v in r.items() if k != fault.field} for r in rows]
        if fault and fault.kind == "extra_field":
            rows = [{**r, "brandNewField": "x"} for r in rows]
        for r in rows:
            self.served[_identity(r)] += 1
        error = "fake API error" if fault and fault.kind == "api_error" else ""
        return json.dumps({"elapsedTime": f"{time.time() % 1:.2f} secs", "count": len(rows), "data": rows,
                           "error": error}).encode()

    def _availability(self, freq: str, p: dict) -> bytes:
        reporters = set(p.get("reportercode", "").split(","))
        periods = set(p.get("period", "").split(","))
        groups: dict[tuple[int, str], list[dict]] = {}
        for r in self.records:
            if r["freqCode"] == freq and str(r["reporterCode"]) in reporters and r["period"] in periods:
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

    def _reference(self, classification: str) -> bytes:
        codes = sorted({r["cmdCode"] for r in self.records if r["classificationCode"] == classification})
        results = [{"id": c, "text": f"{c} - product", "parent": c[:4], "isLeaf": 1, "aggrLevel": 6,
                    "standardUnitAbbr": "kg"} for c in codes]
        results += [{"id": c, "text": c, "parent": c[:2], "isLeaf": 0, "aggrLevel": 4} for c in sorted({c[:4] for c in codes})]
        return json.dumps({"more": False, "results": results}).encode()


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
