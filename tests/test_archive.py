import gzip
import hashlib
import json
import logging
import os
import stat

import pytest

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


# -- integrity: strict manifest, re-hashed objects, publish -------------------------------------

def _archive_with(tmp_path, n=3):
    a = RawArchive(tmp_path)
    entries = [a.store(dataset="d", source="live", url=f"u{i}", params={"i": i}, status=200, body=f"body {i}".encode())
               for i in range(n)]
    return a, entries


def test_corrupt_middle_manifest_line_is_an_error_naming_file_and_line(tmp_path):
    from tradeflow.archive import ArchiveError

    a, _ = _archive_with(tmp_path)
    lines = a.manifest_path.read_text().splitlines()
    lines[1] = lines[1][:40]  # damaged, and not the last line
    a.manifest_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ArchiveError, match=f"{a.manifest_path}:2"):
        list(a.entries())


def test_non_utf8_manifest_line_is_an_error_naming_file_and_line(tmp_path):
    from tradeflow.archive import ArchiveError

    a, _ = _archive_with(tmp_path)
    raw = a.manifest_path.read_bytes().split(b"\n")
    raw[0] = raw[0].replace(b'"u0"', b'"u\xff0"')
    a.manifest_path.write_bytes(b"\n".join(raw))
    with pytest.raises(ArchiveError, match=f"{a.manifest_path}:1.*not UTF-8"):
        list(a.entries())


def test_torn_last_line_is_skipped_with_a_warning_even_if_not_utf8(tmp_path, caplog):
    a, entries = _archive_with(tmp_path)
    with open(a.manifest_path, "ab") as fh:
        fh.write(b'{"request_id": "\xff')
    with caplog.at_level(logging.WARNING):
        assert [e.url for e in a.entries()] == [e.url for e in entries]
        assert len(list(a.entries())) == len(entries)  # read again, as a refresh does many times: warned once
    assert "torn line" in caplog.text and f"{a.manifest_path}:4" in caplog.text
    assert caplog.text.count("torn line") == 1


def test_verify_lists_the_temporary_file_of_a_write_killed_before_its_rename(tmp_path, monkeypatch):
    """`tradeflow verify` names it safe to delete, but not while a refresh runs (it may be that refresh's write)."""
    import os
    import socket

    from click.testing import CliRunner

    from tradeflow.cli import main
    from tradeflow.refresh_lock import HOLDER

    home = tmp_path / "home"
    a, _ = _archive_with(home / "raw")
    sha = next(a.objects.glob("*/*.json.gz"))
    leftover = sha.parent / ".tmp-abc123"
    leftover.write_bytes(b"half a body")
    report = a.verify()
    assert report.ok and report.leftovers == [str(leftover)]
    monkeypatch.setenv("TRADEFLOW_HOME", str(home))
    out = " ".join(CliRunner().invoke(main, ["verify"]).output.split())
    assert f"1 temporary file(s) of writes cut short (a killed refresh), safe to delete: {leftover}" in out
    (home / HOLDER).write_text(f"pid {os.getpid()} on {socket.gethostname()}, started 2026-12-08T00:00:00Z\n")
    out = " ".join(CliRunner().invoke(main, ["verify"]).output.split())
    assert "a refresh is running, they may be its writes in progress" in out and "safe to delete" not in out


def test_damaged_last_line_that_ends_in_a_newline_is_damage_not_a_torn_write(tmp_path, caplog):
    """Every writer ends a line with '\\n', so a killed one never leaves one: a newline-terminated unreadable last
    line (bytes lost inside it) was skipped as torn, `verify` said intact, and the next append moved it to the
    middle, where it became an error. It is an error naming file:line now, before any append and after."""
    from tradeflow.archive import ArchiveError

    a, _ = _archive_with(tmp_path)
    lines = a.manifest_path.read_bytes().rstrip(b"\n").split(b"\n")
    lines[-1] = lines[-1][:40] + lines[-1][80:]
    a.manifest_path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(ArchiveError, match=f"{a.manifest_path}:3: unreadable manifest line"):
        list(a.entries())
    report = a.verify()
    assert not report.ok and f"{a.manifest_path}:3" in report.problems[0]
    a.store(dataset="d", source="live", url="u9", params={}, status=200, body=b"later")  # the next refresh appends
    with pytest.raises(ArchiveError, match=f"{a.manifest_path}:3: unreadable manifest line"):
        list(a.entries())
    assert b"_torn_line_repaired" not in a.manifest_path.read_bytes()  # damage is never marked as a torn write
    # a torn write (no newline) stays skippable: before the next append and after it (marked by the repair row)
    b, entries = _archive_with(tmp_path / "torn")
    raw = b.manifest_path.read_bytes()
    b.manifest_path.write_bytes(raw[:-30])
    with caplog.at_level(logging.WARNING):
        assert [e.url for e in b.entries()] == ["u0", "u1"]
        assert b.verify().ok
        b.store(dataset="d", source="live", url="u9", params={}, status=200, body=b"later")
        assert [e.url for e in b.entries()] == ["u0", "u1", "u9"]
    assert "torn line" in caplog.text


def test_read_body_rehashes_and_names_the_object(tmp_path):
    from tradeflow.archive import ArchiveError

    a, entries = _archive_with(tmp_path)
    e = entries[0]
    a.object_path(e.sha256).write_bytes(gzip.compress(b"body 9", mtime=0))  # valid gzip, other content
    with pytest.raises(ArchiveError, match=f"{e.sha256}.*does not match its sha256 name"):
        a.read_body(e.sha256)
    report = a.verify()
    assert not report.ok and report.objects_ok == 2 and e.sha256 in report.problems[0]


def test_verify_counts_every_object(tmp_path):
    a, entries = _archive_with(tmp_path)
    report = a.verify()
    assert report.ok and report.manifest_rows == 3 and report.objects_ok == 3


def _warehouse(tmp_path):
    from tradeflow.warehouse import Warehouse

    wh = Warehouse(tmp_path / "home" / "tradeflow.duckdb")
    with wh.writer() as conn:
        conn.execute("CREATE TABLE raw.wits_tariffs AS SELECT 'r1' AS request_id, false AS is_sample")
    return wh


def test_publish_is_readable_by_others_cleans_stale_copies_and_is_in_the_ledger(tmp_path):
    from tradeflow import runlog
    from tradeflow.warehouse.snapshot import publish

    wh = _warehouse(tmp_path)
    home = tmp_path / "home"
    target = home / "published" / "tradeflow.duckdb"
    target.parent.mkdir(parents=True)
    stale = target.parent / ".publish-killed.duckdb"
    stale.write_bytes(b"x" * 1000)  # what a SIGKILL during a publish leaves behind
    old = os.umask(0o022)
    try:
        publish(wh, target)
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert not stale.exists() and sorted(p.name for p in target.parent.iterdir()) == ["tradeflow.duckdb"]
    pub = runlog.last_publish(home)
    assert pub is not None and pub.kind == "publish" and pub.inputs == {"wits.trains": {"live": 1}}
    assert json.loads((home / "runs.jsonl").read_text().splitlines()[-1])["kind"] == "publish"


def test_archive_rebuild_checks_completeness_against_the_last_publish(tmp_path):
    from tradeflow import runlog
    from tradeflow.archive import ArchiveError
    from tradeflow.warehouse.snapshot import check_archive_complete

    home = tmp_path / "home"
    a = RawArchive(home / "raw")
    e1 = a.store(dataset="wits.trains", source="live", url="w", params={"y": 1}, status=200, body=b"1")
    a.store(dataset="wits.trains", source="live", url="w", params={"y": 2}, status=200, body=b"2")
    runlog.append(home, runlog.RunRecord(run_id="p", started_at="", finished_at="2026-01-01T00:00:00Z", source="",
                                         years="", success=True, kind="publish", inputs={"wits.trains": {"live": 2}}))
    check_archive_complete(home, a)  # all there
    a.mark_failed(e1, "lost")
    with pytest.raises(ArchiveError, match="built from 2 live wits.trains request.*now offers 1"):
        check_archive_complete(home, a)


def test_archive_rebuild_refuses_a_partial_live_fetch_replacing_the_sample(tmp_path):
    """An interrupted live fetch left 1 live WITS body; the build would drop the 2 sample ones for it."""
    from tradeflow import runlog
    from tradeflow.archive import ArchiveError
    from tradeflow.warehouse.snapshot import check_archive_complete

    home = tmp_path / "home"
    a = RawArchive(home / "raw")
    for y in (1, 2):
        a.store(dataset="wits.trains", source="sample", url="w", params={"y": y}, status=200, body=str(y).encode())
    runlog.append(home, runlog.RunRecord(run_id="p", started_at="", finished_at="2026-01-01T00:00:00Z", source="",
                                         years="", success=True, kind="publish", inputs={"wits.trains": {"sample": 2}}))
    check_archive_complete(home, a)
    a.store(dataset="wits.trains", source="live", url="w", params={"y": 1}, status=200, body=b"live 1")
    with pytest.raises(ArchiveError, match="built from 2 sample wits.trains.*now offers 0 \\(it would use: 1 live\\)"):
        check_archive_complete(home, a)


def test_storing_the_same_body_again_heals_a_damaged_object(tmp_path):
    a, entries = _archive_with(tmp_path, 1)
    e = entries[0]
    a.object_path(e.sha256).write_bytes(b"\x1f\x8b garbage")
    assert not a.verify().ok
    a.store(dataset="d", source="live", url="u0", params={"i": 0}, status=200, body=b"body 0")
    assert a.read_body(e.sha256) == b"body 0" and a.verify().ok


def test_a_body_is_checked_by_its_gzip_file_digest_and_in_full_when_the_file_changed(tmp_path, monkeypatch):
    """Issue 14: the build's integrity check hashes the object file the manifest recorded (no
    decompression); a file whose bytes changed is decompressed and re-hashed against its name."""
    from dataclasses import replace

    from tradeflow.archive import ArchiveError

    a = RawArchive(tmp_path)
    body = b'{"count":0,"data":[],"error":""}'
    e = a.store(dataset="d", source="live", url="u", params={}, status=200, body=body)
    path = a.object_path(e.sha256)
    assert e.gzip_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert next(a.entries()).gzip_sha256 == e.gzip_sha256  # kept in the manifest row

    decompressed = []
    real = gzip.decompress
    monkeypatch.setattr(gzip, "decompress", lambda data: decompressed.append(1) or real(data))
    assert a.verify_objects([e]) == 1 and decompressed == []  # the written file: its digest is enough

    path.write_bytes(gzip.compress(body, compresslevel=1, mtime=0))  # recompressed: other bytes, same body
    assert a.verify_objects([e]) == 1 and decompressed == [1]
    assert a.verify_objects([replace(e, gzip_sha256=None)]) == 1  # a row from before the field: in full

    path.write_bytes(gzip.compress(b'{"count":1}', mtime=0))  # another body under this name
    with pytest.raises(ArchiveError, match="does not match its sha256 name"):
        a.verify_objects([e])
    path.unlink()
    with pytest.raises(ArchiveError, match="missing"):
        a.verify_objects([e])


def test_storing_a_body_already_archived_records_the_digest_of_the_file_on_disk(tmp_path):
    a = RawArchive(tmp_path)
    first = a.store(dataset="d", source="live", url="u", params={"i": 1}, status=200, body=b"same")
    path = a.object_path(first.sha256)
    path.write_bytes(gzip.compress(b"same", compresslevel=1, mtime=0))  # e.g. written by another tool
    again = a.store(dataset="d", source="live", url="u", params={"i": 2}, status=200, body=b"same")
    assert again.gzip_sha256 == hashlib.sha256(path.read_bytes()).hexdigest() != first.gzip_sha256
