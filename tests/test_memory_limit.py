"""Bounded memory by default (issue 14): DuckDB's memory_limit is derived from the threads tradeflow runs and
the machine's memory unless TRADEFLOW_MEMORY_LIMIT says otherwise, and the same limit reaches the raw load
(tradeflow's own connections) and the dbt build (profiles.yml reads the dbt var)."""

import pytest

from tradeflow import settings as settings_module
from tradeflow.settings import Settings

GiB = 2**30


@pytest.mark.parametrize("threads,memory,expected", [
    (2, 24 * GiB, "896MiB"),  # this box: 448 MiB per thread
    (1, 24 * GiB, "448MiB"),
    (16, 24 * GiB, "6144MiB"),  # a quarter of the memory caps it
    (8, 8 * GiB, "2048MiB"),
    (4, None, "1792MiB"),  # memory unknown: per thread alone
    (2, 512 * 2**20, "256MiB"),  # a tiny machine: never below 256 MiB
    (1, 1 * GiB, "256MiB"),
])
def test_the_default_limit_rule(threads, memory, expected):
    assert settings_module.default_memory_limit(threads, memory) == expected


@pytest.fixture
def machine(monkeypatch):
    """A 2-core, 24 GiB machine, whatever this one is."""
    monkeypatch.setattr(settings_module, "physical_memory", lambda: 24 * GiB, raising=False)
    monkeypatch.setattr(settings_module, "available_cores", lambda: 2, raising=False)
    monkeypatch.delenv("TRADEFLOW_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("TRADEFLOW_THREADS", raising=False)


def test_unset_means_bounded_and_follows_the_threads(machine):
    assert Settings.from_env({}).memory_limit == "896MiB"
    assert Settings.from_env({"TRADEFLOW_THREADS": "3"}).memory_limit == "1344MiB"
    assert Settings.from_env({"TRADEFLOW_MEMORY_LIMIT": ""}).memory_limit == "896MiB"  # empty: the default
    assert Settings.from_env({"TRADEFLOW_MEMORY_LIMIT": "80%", "TRADEFLOW_THREADS": "3"}).memory_limit == "80%"


def test_the_physical_memory_is_known_here():
    memory = settings_module.physical_memory()
    assert memory is None or memory >= 256 * 2**20


def _limit(conn) -> str:
    return conn.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_the_limit_reaches_the_raw_load_and_dbt_default_or_the_users(machine, tmp_path, monkeypatch):
    from tradeflow.warehouse import dbt_project
    from tradeflow.warehouse.db import Warehouse

    with Warehouse(tmp_path / "tradeflow.duckdb").writer() as conn:  # the raw load's connection
        assert _limit(conn) == "896.0 MiB"  # was DuckDB's default, 80 % of RAM
        # spills stay inside the home, next to the warehouse
        assert conn.execute("SELECT current_setting('temp_directory')").fetchone()[0] == str(tmp_path / "tradeflow.duckdb.tmp")
    assert dbt_project.dbt_vars()["memory_limit"] == "896MiB"  # profiles.yml: memory_limit: "{{ var('memory_limit') }}"

    monkeypatch.setenv("TRADEFLOW_MEMORY_LIMIT", "700MB")  # the user's limit wins, in both
    with Warehouse(tmp_path / "tradeflow.duckdb").writer() as conn:
        assert _limit(conn) == "667.5 MiB"  # DuckDB shows 700 MB in MiB
    assert dbt_project.dbt_vars()["memory_limit"] == "700MB"
