"""Which archived bodies the warehouse is built from when batches fail, retry, repeat and revise (issue 10)."""

from tradeflow.archive import RawArchive

PART = {"reporter": 586, "freq": "A", "period": "2021", "by_mode": False}


def body(a: RawArchive, batch: str, rid_param: str, data: bytes, vintage: str = "2024-06-30"):
    return a.store(dataset="comtrade.final", source="live", url="http://x/get", params={"cmd": rid_param}, status=200,
                   body=data, partition=PART, release={"vintage": vintage, "batch": batch})


def test_an_identical_body_counts_for_the_batch_that_completed(tmp_path):
    a = RawArchive(tmp_path)
    x1 = body(a, "A", "01", b"piece-01")  # batch A fails after its first piece
    a.mark_failed(body(a, "A", "02", b"broken"), "truncated")
    x2 = body(a, "B", "01", b"piece-01")  # the retry gets the same bytes
    y2 = body(a, "B", "02", b"piece-02")
    a.complete_batch("B", PART, {"vintage": "2024-06-30"}, [x2.request_id, y2.request_id])
    got = a.loadable("comtrade.final")
    assert [(e.request_id, e.sha256, e.release["batch"]) for e in got] == sorted(
        [(x2.request_id, x2.sha256, "B"), (y2.request_id, y2.sha256, "B")])
    assert x1.sha256 == x2.sha256
    assert list(a.loadable_batches()) == ["B"]


def test_the_newest_complete_batch_of_a_vintage_wins_and_every_vintage_is_kept(tmp_path):
    a = RawArchive(tmp_path)
    for batch, vintage in (("A", "2024-06-30"), ("B", "2024-06-30"), ("C", "2025-03-01")):
        e = body(a, batch, "01", b"same bytes every time", vintage)
        a.complete_batch(batch, PART, {"vintage": vintage}, [e.request_id])
    got = a.loadable("comtrade.final")
    assert sorted((e.release["batch"], e.release["vintage"]) for e in got) == [("B", "2024-06-30"), ("C", "2025-03-01")]


def test_capped_bodies_and_bodies_failed_in_their_batch_are_never_loaded(tmp_path):
    a = RawArchive(tmp_path)
    capped = body(a, "A", "AG6", b"500 records: the cap")
    a.mark_capped(capped, "reached the 500-record cap; split into 2 queries")
    p1, p2 = body(a, "A", "01", b"piece-01"), body(a, "A", "02", b"piece-02")
    # a batch that (wrongly) lists the capped body is incomplete, never half-loaded
    a.complete_batch("A", PART, {"vintage": "2024-06-30"}, [capped.request_id, p1.request_id, p2.request_id])
    assert a.loadable("comtrade.final") == [] and a.loadable_batches() == {}
    # the failure mark of a body holds in its own batch only: the same bytes in a later batch are fine
    q1 = body(a, "B", "01", b"piece-01")
    a.mark_failed(body(a, "B", "02", b"piece-02"), "lacks primaryValue")
    a.complete_batch("B", PART, {"vintage": "2024-06-30"}, [q1.request_id, p2.request_id])
    assert a.loadable_batches() == {}
    r1, r2 = body(a, "C", "01", b"piece-01"), body(a, "C", "02", b"piece-02")
    a.complete_batch("C", PART, {"vintage": "2024-06-30"}, [r1.request_id, r2.request_id])
    assert sorted(e.release["batch"] for e in a.loadable("comtrade.final")) == ["C", "C"]
    assert all(not e.capped for e in a.loadable())
