"""Shared fixtures: a refreshed sample warehouse (built once per session), the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TRADEFLOW_SHARED", ROOT.parent / "shared"))


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Every test talks to 127.0.0.1 only: the default API URLs point at a closed loopback port."""
    for var in ("TRADEFLOW_COMTRADE_URL", "TRADEFLOW_WITS_URL", "TRADEFLOW_UNSD_URL"):
        if not os.environ.get(var, "").startswith("http://127.0.0.1"):
            monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.setenv("TRADEFLOW_HTTP_BACKOFF", "0.05")
    # the UNSD workbooks at the closed port above: refused at once, not at one attempt per second (a live refresh
    # asks for them every run a test does not serve them)
    monkeypatch.setenv("TRADEFLOW_UNSD_RATE", "1000")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # each TRADEFLOW_HOME has its own Dagster instance


@pytest.fixture(scope="session")
def shared() -> Path:
    """``../shared`` (read-only reference data); tests needing it skip cleanly without it."""
    if not (SHARED / "data").is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture
def tf_env(tmp_path, monkeypatch):
    """An empty TRADEFLOW_HOME and reports folder for one test."""
    home, reports = tmp_path / "home", tmp_path / "reports"
    monkeypatch.setenv("TRADEFLOW_HOME", str(home))
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(reports))
    monkeypatch.delenv("COMTRADE_API_KEY", raising=False)
    return home, reports


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory):
    """One full in-process refresh from the sample, shared by read-only tests."""
    from pipelines.refresh import run_refresh

    base = tmp_path_factory.mktemp("sample")
    home, reports = base / "home", base / "reports"
    old = {k: os.environ.get(k) for k in ("TRADEFLOW_HOME", "TRADEFLOW_REPORTS_DIR", "DAGSTER_HOME")}
    os.environ["TRADEFLOW_HOME"], os.environ["TRADEFLOW_REPORTS_DIR"] = str(home), str(reports)
    os.environ.pop("DAGSTER_HOME", None)  # the instance under TRADEFLOW_HOME
    try:
        outcome = run_refresh("sample")
        assert outcome.success, outcome.error
        yield home, reports, outcome
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def sample_copy(sample_home, tmp_path, monkeypatch):
    """A private copy of the shared sample run (home and reports) that a test may change and refresh."""
    import shutil

    home, reports, _ = sample_home
    work = tmp_path / "home"
    shutil.copytree(home, work)
    shutil.copytree(reports, tmp_path / "reports")
    monkeypatch.setenv("TRADEFLOW_HOME", str(work))
    monkeypatch.setenv("TRADEFLOW_REPORTS_DIR", str(tmp_path / "reports"))
    return work


@pytest.fixture(scope="module")
def sample_db(sample_home):
    """A read-only connection to the published snapshot of the shared sample run."""
    import duckdb

    home, _, _ = sample_home
    conn = duckdb.connect(str(home / "published" / "tradeflow.duckdb"), read_only=True)
    yield conn
    conn.close()
