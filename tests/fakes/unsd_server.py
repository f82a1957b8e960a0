"""A local fake of the UNSD correspondence tables on 127.0.0.1, in the real workbook layout.

``/unsd/classifications/Econ/tables/HS2022toHS2017ConversionAndCorrelationTables.xlsx`` and
``…/HS2017toHS2012ConversionAndCorrelationTables.xlsx``: a conversion sheet ("From HS 2022",
"To HS 2017") and a correlation sheet ("HS 2022", "HS 2017", "Relationship"), as UNSD
publishes them. The HS2022 table is built at test time from shared/data/hs/unstats_*.csv (the
real UNSD sheets); the HS2017 table from the pairs given.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREFIX = "/unsd/classifications/Econ/tables/"


def workbook(newer: str, older: str, conversion: list[tuple[str, str]], correlation: list[tuple[str, str, str]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    conv = wb.active
    conv.title = "Conversion Table"
    conv.append([f"From HS {newer}", f"To HS {older}"])
    for row in conversion:
        conv.append(list(row))
    corr = wb.create_sheet("Correlation Table")
    corr.append([f"HS {newer}", f"HS {older}", "Relationship"])
    for row in correlation:
        corr.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def hs2022_workbook(shared: Path) -> bytes:
    """The real UNSD HS2022 → HS2017 tables (shared/data/hs), as the workbook UNSD serves."""
    with open(shared / "data/hs/unstats_HS2022_to_HS2017_conversion.csv", encoding="utf-8") as fh:
        conversion = [(r["hs2022"], r["hs2017"]) for r in csv.DictReader(fh)]
    with open(shared / "data/hs/unstats_HS2022_HS2017_correlation.csv", encoding="utf-8") as fh:
        correlation = [(r["hs2022"], r["hs2017"], r["relationship"]) for r in csv.DictReader(fh)]
    return workbook("2022", "2017", conversion, correlation)


@dataclass
class FakeUnsd:
    files: dict[str, bytes]  # workbook name → body
    status: dict[str, int] = field(default_factory=dict)  # workbook name → forced HTTP status
    log: list[str] = field(default_factory=list)

    def __enter__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                fake.log.append(self.path)
                name = self.path.split("?")[0].removeprefix(PREFIX)
                status = fake.status.get(name, 200 if name in fake.files else 404)
                body = fake.files.get(name, b"Not found") if status == 200 else b"<html>error</html>"
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/unsd/classifications/Econ/tables"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
