"""WITS/TRAINS: the SDMX-JSON reader on the real samples, the client against a fake server."""

import json

import pytest

from tests.fakes.wits_server import FakeWits
from tradeflow.archive import RawArchive
from tradeflow.errors import ParseError
from tradeflow.settings import Settings
from tradeflow.sources.http import HttpClient
from tradeflow.sources.sdmx_json import read_sdmx_json
from tradeflow.sources.wits import WitsClient, tariff_frame


def test_real_trains_sample_reads_despite_its_key_order(shared):
    doc = json.loads((shared / "data/api_samples/wits_trains_tariff_sdmxjson_USA_WLD_2017.json").read_text())
    f = read_sdmx_json(doc)
    assert len(f) == 5388 and f["PRODUCTCODE"].nunique() == 5388
    assert set(f["PARTNER"]) == {"000"} and set(f["REPORTER"]) == {"840"} and set(f["TARIFFTYPE"]) == {"MFN"}
    row = f[f["PRODUCTCODE"] == "010190"].iloc[0]
    # two national lines at 0 % and 4 %: simple average 2, min 0, max 4
    assert (row["OBS_VALUE"], row["MIN_RATE"], row["MAX_RATE"], row["TOTALNOOFLINES"]) == (2.0, "0", "4", "2")


def test_real_tradestats_sample_reads_in_declared_order(shared):
    doc = json.loads((shared / "data/api_samples/wits_tradestats_trade_sdmxjson_USA_WLD_2017.json").read_text())
    f = read_sdmx_json(doc)
    assert f["PRODUCTCODE"].nunique() == 29 and set(f["REPORTER"]) == {"USA"}
    assert f.loc[f["PRODUCTCODE"] == "01-05_Animal", "OBS_VALUE"].iloc[0] == pytest.approx(32320233.669)


@pytest.mark.parametrize("doc,match", [({"header": {}}, "not an SDMX-JSON"),
                                       ({"structure": {"dimensions": {"series": [{"id": "A", "values": []}], "observation": []}},
                                         "dataSets": [{"series": {"0:0": {"observations": {"0": [1]}}}}]}, "2 parts")])
def test_malformed_sdmx_is_a_clear_error(doc, match):
    with pytest.raises(ParseError, match=match):
        read_sdmx_json(doc, where="test")


def client(fake, tmp_path):
    s = Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "TRADEFLOW_WITS_URL": fake.url})
    archive = RawArchive(s.raw_dir)
    return WitsClient(s, archive, http=HttpClient(rate_per_second=1000, backoff_initial=0.01)), archive


def test_client_archives_parses_and_tolerates_missing_years(tmp_path):
    with FakeWits(years={2021}) as fake:
        c, archive = client(fake, tmp_path)
        entry = c.tariffs("156", "586", 2021)
        assert c.tariffs("156", "586", 2019) is None  # WITS has no such year: not an error
    frame = tariff_frame(archive, archive.loadable("wits.trains"))
    assert entry is not None and set(frame["TARIFFTYPE"]) == {"PRF"} and len(frame) > 20
    assert frame["vintage"].iloc[0] == "2022-09-30"


def test_broken_body_fails_and_is_never_loaded(tmp_path):
    with FakeWits(years={2021}, broken={("586", "000", 2021)}) as fake:
        c, archive = client(fake, tmp_path)
        with pytest.raises(ParseError, match="reporter/586/partner/000"):
            c.tariffs("586", "000", 2021)
    assert archive.loadable("wits.trains") == []
