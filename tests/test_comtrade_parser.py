"""The one Comtrade parser (DuckDB over archived bodies), on the real API samples and on bad input."""

import json
from pathlib import Path

import duckdb
import pytest

from tradeflow.archive import RawArchive
from tradeflow.errors import ParseError
from tradeflow.sources.comtrade_schema import RECORD_FIELDS
from tradeflow.warehouse.comtrade_load import check_entries, load_raw

SAMPLES = "data/api_samples/comtrade"


def archived(tmp_path, bodies: dict[str, bytes]):
    a = RawArchive(tmp_path / "raw")
    entries = [
        a.store(dataset="comtrade.final", source="live", url=f"http://127.0.0.1/{name}", params={"n": name},
                status=200, body=body, release={"vintage": "2024-01-16"})
        for name, body in bodies.items()
    ]
    return a, entries


def parse(a, entries):
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw")
    load_raw(conn, a, entries)
    return conn


def test_real_samples_parse_with_all_fields(tmp_path, shared):
    files = ["comtrade_data_v1_get_C_A_HS_chn_2010_arg_deu.json", "comtrade_public_v1_preview_C_A_HS_IND_USA_2022_wrapped.json",
             "comtradr_fixture_HS-60a6ad.json", "comtrade_data_v1_get_S_A_EB_sample.json"]
    bodies = {f: (shared / SAMPLES / f).read_bytes() for f in files}
    a, entries = archived(tmp_path, bodies)
    assert check_entries(a, entries) == []
    conn = parse(a, entries)
    expected = sum(len(json.loads(b)["data"]) for b in bodies.values())
    assert conn.execute("SELECT count(*) FROM raw.comtrade_records").fetchall()[0][0] == expected == 9
    cols = {c for (c,) in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name='comtrade_records'").fetchall()}
    assert set(RECORD_FIELDS) <= cols
    row = conn.execute("SELECT reporterCode, partnerISO, flowCode, primaryValue, cifvalue, isReported, classificationCode "
                       "FROM raw.comtrade_records WHERE reporterCode=156 AND partnerCode=32 AND flowCode='M' LIMIT 1").fetchall()[0]
    assert row == (156, "ARG", "M", 6804128143.0, 6804128143.0, True, "H3")
    # the preview body carries extra envelope keys (url, status_code): tolerated
    assert conn.execute("SELECT primaryValue FROM raw.comtrade_records WHERE reporterCode=699").fetchall() == [(80230193279.727,)]


def record(**overrides):
    rec = {f: None for f in RECORD_FIELDS}
    rec.update(typeCode="C", freqCode="A", refYear=2021, refMonth=52, period="2021", reporterCode=586, flowCode="X",
               partnerCode=156, partner2Code=0, classificationCode="H5", cmdCode="100630", aggrLevel=6, customsCode="C00",
               motCode=0, qtyUnitCode=8, qty=1.0, netWgt=1.0, isNetWgtEstimated=False, primaryValue=10.0)
    rec.update(overrides)
    return rec


def body(records, count=None, **env):
    return json.dumps({"count": len(records) if count is None else count, "data": records, "error": "", **env}).encode()


def test_unknown_extra_fields_are_tolerated(tmp_path):
    a, entries = archived(tmp_path, {"x": body([record(brandNewField=1)])})
    assert check_entries(a, entries) == []
    assert parse(a, entries).execute("SELECT primaryValue FROM raw.comtrade_records").fetchall() == [(10.0,)]


def test_missing_required_field_is_named(tmp_path):
    rec = record()
    del rec["primaryValue"]
    a, entries = archived(tmp_path, {"bad": body([rec, record()])})
    [(entry, msg)] = check_entries(a, entries)
    assert "primaryValue" in msg and "http://127.0.0.1/bad" in msg and "1 records" in msg


def test_truncated_count_and_api_error_and_empty(tmp_path):
    a, entries = archived(tmp_path, {
        "short": body([record()], count=5),
        "apierr": json.dumps({"count": 0, "data": [], "error": "Invalid period"}).encode(),
        "nothing": b"",
        "empty": body([]),
    })
    problems = {e.params["n"]: m for e, m in check_entries(a, entries)}
    assert set(problems) == {"short", "apierr", "nothing"}
    assert "count says 5" in problems["short"]
    assert "Invalid period" in problems["apierr"]


def test_broken_json_names_the_request(tmp_path):
    a, entries = archived(tmp_path, {"fine": body([record()]), "broken": body([record()])[:-40]})
    [(entry, msg)] = check_entries(a, entries)
    assert entry.params == {"n": "broken"}
    assert "http://127.0.0.1/broken" in msg and "Malformed JSON" in msg


def test_wrong_type_in_required_field_fails_loudly(tmp_path):
    a, entries = archived(tmp_path, {"x": body([record(primaryValue="lots")])})
    with pytest.raises(Exception, match="lots|cast|Cast"):
        parse(a, entries)


def test_empty_archive_is_a_clear_error(tmp_path):
    a = RawArchive(tmp_path / "raw")
    with pytest.raises(ParseError, match="no usable UN Comtrade responses"):
        parse(a, [])


@pytest.mark.parametrize("served,modes", [(True, True), (False, False), ("true", True), ("false", False), ("False", False),
                                          (1, True), (0, False), (None, False)])
def test_availability_reads_the_transport_mode_flag_however_it_is_served(served, modes):
    """isExtendedMotCode as JSON true/false, 0/1 or text: "false" is no mode breakdown (bool("false") is True, which
    sent mode queries for months without one and their road series read 0)."""
    from tradeflow.archive import ManifestEntry
    from tradeflow.sources.comtrade import _availability

    row = {"reportercode": 586, "freqcode": "M", "period": "202401", "lastreleased": "2024-03-01T00:00:00",
           "isextendedmotcode": served}
    entry = ManifestEntry.__new__(ManifestEntry)
    assert _availability(row, entry).has_modes is modes
