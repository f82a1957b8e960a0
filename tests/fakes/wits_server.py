"""A local fake of the WITS SDMX API on 127.0.0.1 (TRAINS tariffs in the real SDMX-JSON shape)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tradeflow.sample.generator import products
from tradeflow.sample.tariffs import mfn_rate, sample_body

PATH = re.compile(r"/API/V1/SDMX/V21/datasource/TRN/reporter/(\d+)/partner/(\d+)/product/all/year/(\d{4})/datatype/reported")


@dataclass
class FakeWits:
    years: set[int] = field(default_factory=lambda: {2021, 2022})
    broken: set[tuple[str, str, int]] = field(default_factory=set)
    log: list[str] = field(default_factory=list)

    def __enter__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                fake.log.append(self.path)
                m = PATH.fullmatch(urlsplit(self.path).path)
                if not m or int(m.group(3)) not in fake.years:
                    return self._send(404, b'{"message": "No data"}')
                importer, partner, year = m.group(1), m.group(2), int(m.group(3))
                col = "hs2022" if year >= 2022 else "hs2017"
                rates = {c: mfn_rate(importer, c) * (1 if partner == "000" else 0.5) for c in products()[col]}
                body = sample_body(importer, partner, year, rates, "MFN" if partner == "000" else "PRF")
                if (importer, partner, year) in fake.broken:
                    body = body[:100]
                self._send(200, body)

            def _send(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
