import gzip
import hashlib

from tradeflow.archive import RawArchive, request_id


def test_store_is_content_addressed_and_scrubs_keys(tmp_path):
    a = RawArchive(tmp_path)
    body = b'{"count":0,"data":[],"error":""}'
    e = a.store(dataset="d", source="live", url="http://x/data", params={"period": "2021", "subscription-key": "SECRET"},
                status=200, body=body)
    assert e.sha256 == hashlib.sha256(body).hexdigest()
    assert gzip.decompress(a.object_path(e.sha256).read_bytes()) == body
    assert "SECRET" not in a.manifest_path.read_text()
    assert e.params == {"period": "2021"}
    # same body again: one object, two manifest rows, one loadable body
    a.store(dataset="d", source="live", url="http://x/data", params={"period": "2021"}, status=200, body=body)
    assert len(list(a.objects.rglob("*.json.gz"))) == 1
    assert len(list(a.entries())) == 2
    assert len(a.loadable("d")) == 1
    assert e.request_id == request_id("d", "http://x/data", {"period": "2021", "token": "other"})


def test_failed_bodies_are_never_loadable_and_good_ones_survive(tmp_path):
    a = RawArchive(tmp_path)
    good = a.store(dataset="d", source="live", url="u", params={"p": 1}, status=200, body=b"good")
    bad = a.store(dataset="d", source="live", url="u", params={"p": 1}, status=200, body=b"{broken", ok=False, error="broken")
    assert [e.sha256 for e in a.loadable("d")] == [good.sha256]
    a.mark_failed(good, "found unusable later")
    assert a.loadable("d") == []
    assert bad.error == "broken"


def test_torn_manifest_line_is_skipped(tmp_path):
    a = RawArchive(tmp_path)
    a.store(dataset="d", source="live", url="u", params={}, status=200, body=b"x")
    with open(a.manifest_path, "a") as fh:
        fh.write('{"request_id": "abc", "datas')  # a process killed mid-write
    assert len(list(a.entries())) == 1
    a.store(dataset="d", source="live", url="u2", params={}, status=200, body=b"y")  # the next run appends cleanly
    assert [e.url for e in a.entries()] == ["u", "u2"]
