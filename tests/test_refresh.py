"""One full in-process run: empty folder → archive → raw → staging → marts → snapshot → reports."""

import hashlib
import re
from pathlib import Path

import duckdb

from tradeflow import runlog

def marts_digest(db: Path) -> dict[str, str]:
    """A digest of every marts table's full contents (sorted), to compare runs."""
    conn = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").fetchall()]
        return {t: hashlib.sha256(repr(conn.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").fetchall()).encode()).hexdigest()
                for t in tables}
    finally:
        conn.close()


def test_full_run_builds_every_layer(sample_home):
    home, reports, outcome = sample_home
    assert (home / "raw" / "manifest.jsonl").exists()
    from tradeflow.sample.generator import generate_sample

    calls = {f: outcome.assets[f"archive/comtrade_{f}"]["calls"] for f in ("annual", "monthly")}
    assert calls["annual"] + calls["monthly"] == len(generate_sample()) == 292
    assert calls == {"annual": sum(r.query.freq == "A" for r in generate_sample()),
                     "monthly": sum(r.query.freq == "M" for r in generate_sample())}
    assert outcome.assets["marts/trade_flows"]["rows"] > 20_000
    conn = duckdb.connect(str(home / "published" / "tradeflow.duckdb"), read_only=True)
    cols = [c for (c,) in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema='marts' "
                                       "AND table_name='trade_flows' ORDER BY ordinal_position").fetchall()]
    for c in ("reporter", "partner", "flow", "freq", "year", "month", "hs6", "hs_version", "value_usd",
              "net_weight_kg", "quantity", "quantity_unit", "vintage", "is_sample"):
        assert c in cols
    assert conn.execute("SELECT count(*) FROM marts.trade_flows WHERE freq='A' AND month IS NOT NULL").fetchall()[0][0] == 0
    conn.close()
    assert runlog.runs(home)[-1].success


def test_reports_carry_the_sample_banner_and_work_offline(sample_home):
    _, reports, _ = sample_home
    index = (reports / "index.html").read_text()
    overview = (reports / "overview.html").read_text()
    for page in (index, overview):
        assert "SAMPLE (synthetic data)" in page and 'id="sample-banner"' in page
        assert not re.search(r"""src=["']https?://""", page)  # nothing fetched from the network
    assert (reports / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    assert overview.count('class="chart"') == 5  # 4 charts and the calendar/fiscal table
    assert '"showSendToCloud": false' in overview


def test_second_run_changes_nothing_in_the_marts(sample_home):
    from pipelines.refresh import run_refresh

    home, reports, _ = sample_home
    before = marts_digest(home / "published" / "tradeflow.duckdb")
    page = (reports / "overview.html").read_bytes()
    outcome = run_refresh("sample", force=True)  # built again, though nothing changed: the same bytes
    assert outcome.success, outcome.error
    assert outcome.published and not outcome.unchanged
    assert outcome.assets["archive/comtrade_annual"]["new_bodies"] == outcome.assets["archive/comtrade_monthly"]["new_bodies"] == 0
    assert marts_digest(home / "published" / "tradeflow.duckdb") == before
    assert (reports / "overview.html").read_bytes() == page


def test_a_refresh_with_nothing_new_rebuilds_nothing_until_an_input_changes(sample_copy, monkeypatch):
    """Issue 14: a no-op refresh keeps staging, marts, snapshot and reports; any change to what the
    build reads (here a build parameter; a missing report; --force) builds, publishes and renders."""
    from pipelines.refresh import run_refresh
    from tradeflow import runlog
    from tradeflow.settings import Settings
    from tradeflow.warehouse import build_state

    s = Settings.from_env()
    downstream = ("staging/", "marts/", "published/", "reports/")

    def stamp(path):
        st = path.stat()
        return st.st_ino, st.st_mtime_ns

    before = stamp(s.snapshot), stamp(s.reports_dir / "index.html")
    fp = build_state.of_database(s.database)
    assert fp and build_state.of_database(s.snapshot) == fp == build_state.of_reports(s.reports_dir)

    outcome = run_refresh("sample")
    assert outcome.success, outcome.error
    assert outcome.unchanged and outcome.unchanged["fingerprint"] == fp[:16]
    assert not [k for k in outcome.assets if k.startswith(downstream)] and not outcome.published
    assert (stamp(s.snapshot), stamp(s.reports_dir / "index.html")) == before
    assert "raw/comtrade_records" in outcome.assets  # the raw load ran, and found nothing new
    assert runlog.last_run(s.home).unchanged == outcome.unchanged and runlog.last_run(s.home).success

    monkeypatch.setenv("TRADEFLOW_CIF_FOB_FACTORS", "1.07,1.10")  # a build parameter: every mirror mart moves
    outcome = run_refresh("sample")
    assert outcome.success and not outcome.unchanged and outcome.published
    assert {"marts/mirror_flows", "published/snapshot", "reports/html_suite"} <= set(outcome.assets)
    assert build_state.of_database(s.database) not in (None, fp)
    monkeypatch.delenv("TRADEFLOW_CIF_FOB_FACTORS")

    (s.reports_dir / "index.html").unlink()  # reports lost: nothing is assumed, everything is built again
    outcome = run_refresh("sample")
    assert outcome.success and not outcome.unchanged and "reports/html_suite" in outcome.assets
    assert build_state.of_database(s.database) == fp  # the same inputs as at first: the same fingerprint
    assert run_refresh("sample").unchanged
    assert not run_refresh("sample", force=True).unchanged


def test_archive_source_rebuilds_identical_marts(sample_home, tmp_path, monkeypatch):
    import shutil

    from pipelines.refresh import run_refresh

    home, _, _ = sample_home
    copy = tmp_path / "home"
    shutil.copytree(home / "raw", copy / "raw")
    monkeypatch.setenv("TRADEFLOW_HOME", str(copy))
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(tmp_path / "reports"))
    outcome = run_refresh("archive")
    assert outcome.success, outcome.error
    assert marts_digest(copy / "published" / "tradeflow.duckdb") == marts_digest(home / "published" / "tradeflow.duckdb")


def test_failed_run_names_the_step_and_keeps_the_previous_marts(sample_home, tmp_path, monkeypatch):
    from pipelines.refresh import run_refresh

    monkeypatch.setenv("TRADEFLOW_HOME", str(tmp_path / "empty"))
    outcome = run_refresh("archive")
    assert not outcome.success
    assert "comtrade_annual" in outcome.error and "no usable UN Comtrade responses" in outcome.error
    assert runlog.runs(tmp_path / "empty")[-1].success is False


def test_library_never_imports_dagster():
    src = Path(__file__).resolve().parents[1] / "src" / "tradeflow"
    offenders = [p for p in src.rglob("*.py") if re.search(r"^\s*(import|from)\s+dagster", p.read_text(), re.M)]
    assert offenders == []


_HOLDS_A_REFRESH = """
import sys
from contextlib import contextmanager

import pipelines.refresh as r

real = r.open_instance


@contextmanager
def paused(settings):  # the refresh has started: hold it here until told to go on
    print("started", flush=True)
    sys.stdin.readline()
    with real(settings) as instance:
        yield instance


r.open_instance = paused
r.run_refresh("sample")
"""


def test_a_second_refresh_of_a_home_fails_at_once_naming_the_first(tf_env):
    """Two `tradeflow refresh` side by side fetched and archived the same bodies twice (duplicate manifest rows)
    and rendered into one reports folder. The second fails before any work, naming the first's process."""
    import subprocess
    import sys

    import pytest

    from click.testing import CliRunner

    from pipelines.refresh import refresh_lock, run_refresh
    from tradeflow import refresh_lock as lock
    from tradeflow.cli import main
    from tradeflow.errors import TradeflowError

    home, _ = tf_env
    first = subprocess.Popen([sys.executable, "-c", _HOLDS_A_REFRESH], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert first.stdout.readline().strip() == "started"
        with pytest.raises(TradeflowError, match=rf"another refresh is running on TRADEFLOW_HOME=.*\(pid {first.pid} on "):
            run_refresh("sample")
        assert not (home / "raw").exists() and not (home / "runs.jsonl").exists()  # nothing fetched, nothing recorded
        running = lock.state(home)
        assert running.running and running.holder.startswith(f"pid {first.pid} on ")
        assert f"Refresh running pid {first.pid} on " in CliRunner().invoke(main, ["status"]).output
    finally:
        first.kill()  # kill -9: the refresh never ends, records no run, and leaves its holder line
        first.wait()
    # status used to say nothing of it: the last run recorded before read as the latest state of the home
    killed = lock.state(home)
    assert killed == lock.RefreshState(False, running.holder)
    out = CliRunner().invoke(main, ["status"]).output
    assert f"Last refresh interrupted: {running.holder} ended before it finished" in " ".join(out.split())
    with refresh_lock(home):  # the first is gone (killed): its lock went with it
        assert lock.state(home).running
    assert lock.state(home) is None  # a refresh that ends removes its holder line
