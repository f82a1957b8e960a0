"""A local fake of the WITS SDMX API on 127.0.0.1 (TRAINS tariffs in the real SDMX-JSON shape).

Bodies follow the real TRAINS message (shared/data/api_samples/wits_trains_tariff_sdmxjson_USA_WLD_2017.json):
series dimensions FREQ, REPORTER, PARTNER, PRODUCTCODE, DATATYPE declared at keyPositions 0–4,
but series keys written with the product index third and the partner index fourth (as TRAINS
does: the declared order does not hold); observation values OBS_VALUE then the eleven
observation attributes. Lines with only specific duties come back as TRAINS serves them:
OBS_VALUE 0 with no ad-valorem line (NBR_MFN_LINES / NBR_PREF_LINES 0, NBR_NA_LINES = the
national lines); ``datatype/aveestimated`` carries WITS's ad valorem equivalents for them.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tradeflow.sample.generator import products
from tradeflow.sample.tariffs import mfn_rate

PATH = re.compile(r"/API/V1/SDMX/V21/datasource/TRN/reporter/(\d+)/partner/(\d+)/product/all/year/(\d{4})"
                  r"/datatype/(reported|aveestimated)")
ATTRIBUTES = ("NOMENCODE", "EXCLUDEDFROM", "TARIFFTYPE", "SUM_OF_RATES", "MIN_RATE", "MAX_RATE", "TOTALNOOFLINES",
              "NBR_PREF_LINES", "NBR_MFN_LINES", "NBR_NA_LINES", "OBS_VALUE_MEASURE")


@dataclass
class Line:
    """One HS6 line of a TRAINS answer: the simple average over its ad-valorem national lines."""

    partner: str
    product: str
    rate: float  # OBS_VALUE (0 when no national line is ad valorem)
    tariff_type: str = "MFN"
    lines: int = 1  # TOTALNOOFLINES
    na_lines: int = 0  # non-ad-valorem (specific, compound, …) national lines
    datatype: str = "Reported"


def trains_body(importer: str, year: int, lines: list[Line], nomen: str | None = None) -> bytes:
    """An SDMX-JSON TRAINS message, built the way WITS writes it (see the module docstring)."""
    partners = sorted({ln.partner for ln in lines})
    codes = sorted({ln.product for ln in lines})
    datatypes = sorted({ln.datatype for ln in lines})
    vals: dict[str, list[str]] = {a: [] for a in ATTRIBUTES}

    def pos(attr: str, value) -> int | None:
        if value is None:
            return None
        text = f"{value:g}" if isinstance(value, float) else str(value)
        if text not in vals[attr]:
            vals[attr].append(text)
        return vals[attr].index(text)

    series = {}
    for ln in lines:
        ad_valorem = ln.lines - ln.na_lines
        obs = [ln.rate, pos("NOMENCODE", nomen or ("H6" if year >= 2022 else "H5")), None,
               pos("TARIFFTYPE", ln.tariff_type), pos("SUM_OF_RATES", float(ln.rate * ad_valorem)),
               pos("MIN_RATE", float(ln.rate)), pos("MAX_RATE", float(ln.rate)), pos("TOTALNOOFLINES", ln.lines),
               pos("NBR_PREF_LINES", ad_valorem if ln.tariff_type == "PRF" else 0),
               pos("NBR_MFN_LINES", ad_valorem if ln.tariff_type != "PRF" else 0),
               pos("NBR_NA_LINES", ln.na_lines), pos("OBS_VALUE_MEASURE", "SimpleAverage")]
        key = f"0:0:{codes.index(ln.product)}:{partners.index(ln.partner)}:{datatypes.index(ln.datatype)}"
        series[key] = {"attributes": [], "annotations": [], "observations": {"0": obs}}

    def dim(id_, name, position, ids):
        return {"id": id_, "name": name, "keyPosition": position, "role": None,
                "values": [{"id": i, "name": i} for i in ids]}

    doc = {
        "header": {"id": "DF_WITS_Tariff_TRAINS", "prepared": f"{year + 1}-09-30T00:00:00", "test": False,
                   "sender": {"id": "WBG_WITS", "name": "World Bank Group - WITS"}},
        "dataSets": [{"action": "Information", "attributes": [0], "series": series}],
        "structure": {
            "name": "WITS - UNCTAD TRAINS Tariff Data",
            "dimensions": {"dataset": [], "series": [
                dim("FREQ", "Freq", 0, ["A"]), dim("REPORTER", "Reporter_ISO_N", 1, [importer]),
                dim("PARTNER", "Partner", 2, partners), dim("PRODUCTCODE", "ProductCode", 3, codes),
                dim("DATATYPE", "DataType", 4, datatypes),
            ], "observation": [{"id": "TIME_PERIOD", "name": "Year", "keyPosition": 5, "role": "time",
                                "values": [{"id": str(year), "name": str(year)}]}]},
            "attributes": {"dataset": [{"id": "DATASOURCE", "name": "DataSource", "role": None,
                                        "values": [{"id": "TRN", "name": "UNCTAD TRAINS"}]}],
                           "series": [],
                           "observation": [{"id": a, "name": a, "role": None, "values": [{"id": v, "name": v} for v in vals[a]]}
                                           for a in ATTRIBUTES]},
            "annotations": [],
        },
    }
    return json.dumps(doc, separators=(",", ":")).encode()


@dataclass
class FakeWits:
    years: set[int] = field(default_factory=lambda: {2021, 2022})
    broken: set[tuple[str, str, int]] = field(default_factory=set)
    #: HS6 code → WITS's ad valorem equivalent (None: WITS publishes none) for lines with only specific duties
    specific: dict[str, float | None] = field(default_factory=dict)
    #: HS6 code → (national lines, of which non-ad-valorem) for lines that mix ad-valorem and specific duties
    mixed: dict[str, tuple[int, int]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def body(self, importer: str, partner: str, year: int, datatype: str) -> bytes:
        col = "hs2022" if year >= 2022 else "hs2017"
        tariff_type = "MFN" if partner == "000" else "PRF"
        lines = []
        for code in products()[col]:
            rate = mfn_rate(importer, code) * (1 if partner == "000" else 0.5)
            if code in self.mixed:
                if datatype == "reported":  # WITS publishes no equivalent for these in this fake
                    total, na = self.mixed[code]
                    lines.append(Line(partner, code, rate, tariff_type, lines=total, na_lines=na, datatype="Reported"))
            elif code not in self.specific:
                lines.append(Line(partner, code, rate, tariff_type, datatype=datatype.capitalize()))
            elif datatype == "reported":
                lines.append(Line(partner, code, 0.0, tariff_type, lines=1, na_lines=1, datatype="Reported"))
            elif self.specific[code] is not None:
                lines.append(Line(partner, code, self.specific[code], tariff_type, datatype="Aveestimated"))
        return trains_body(importer, year, lines)

    def __enter__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                fake.log.append(self.path)
                m = PATH.fullmatch(urlsplit(self.path).path)
                if not m or int(m.group(3)) not in fake.years:
                    return self._send(404, b'{"message": "No data"}')
                importer, partner, year, datatype = m.group(1), m.group(2), int(m.group(3)), m.group(4)
                body = fake.body(importer, partner, year, datatype)
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
