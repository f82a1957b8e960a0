import pytest

from tradeflow.errors import ConfigError
from tradeflow.settings import Settings, parse_years


@pytest.mark.parametrize("text,expected", [("2019-2022", (2019, 2022)), ("2021", (2021, 2021)), (" 2015 - 2016 ", (2015, 2016))])
def test_parse_years(text, expected):
    assert parse_years(text) == expected


@pytest.mark.parametrize("text", ["", "20x", "2022-2019", "1900-1901", "2019-22"])
def test_parse_years_rejects(text):
    with pytest.raises(ConfigError, match="--years"):
        parse_years(text)


def test_settings_from_env(tmp_path):
    s = Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "COMTRADE_API_KEY": "k3y", "TRADEFLOW_COMTRADE_URL": "http://127.0.0.1:9/"})
    assert s.database == tmp_path / "tradeflow.duckdb"
    assert s.raw_dir == tmp_path / "raw"
    assert s.comtrade_url == "http://127.0.0.1:9"
    assert s.wits_url == "https://wits.worldbank.org"
    assert "k3y" not in repr(s)
    assert s.secrets() == ["k3y"]


# -- one Settings for every environment variable (issue 13) -----------------------------------
import ast
import re
from pathlib import Path

from tradeflow import settings as settings_mod

ROOT = Path(__file__).resolve().parents[1]


def test_every_variable_is_a_settings_field_and_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Configuration (environment)", 1)[1].split("\n### ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.M))
    assert documented == set(settings_mod.variables()), set(settings_mod.variables()) ^ documented


def _environment_reads(path: Path) -> list[str]:
    """``os.environ`` / ``os.getenv`` uses in one module (attribute access, any form)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb"}:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and {a.name for a in node.names} & {"environ", "getenv"}:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


#: Modules still reading the environment themselves. settings.py is the one reader;
#: dbt_project.py sets dbt's own variable DBT_INDIRECT_SELECTION for one command and restores it;
#: pipelines/instance.py points Dagster's own DAGSTER_HOME at the instance while it is open.
ENV_READERS = {"src/tradeflow/settings.py", "src/tradeflow/warehouse/dbt_project.py", "pipelines/instance.py"}


def test_nothing_but_settings_reads_the_environment():
    reads = [hit for d in ("src", "pipelines") for p in sorted((ROOT / d).rglob("*.py"))
             for hit in _environment_reads(p) if hit.split(":")[0] not in ENV_READERS]
    assert reads == []


@pytest.mark.parametrize("var,value,says", [
    ("TRADEFLOW_THREADS", "many", "valid integer"),
    ("TRADEFLOW_THREADS", "0", "greater than or equal to 1"),
    ("TRADEFLOW_CIF_FOB_FACTORS", "1.06,abc", "must be numbers in [1, 2)"),
    ("TRADEFLOW_CIF_FOB_FACTORS", "2.5", "must be numbers in [1, 2)"),
    ("TRADEFLOW_MEMORY_LIMIT", "1GB'; DROP TABLE x; --", "must be a size like 1GB"),
    ("TRADEFLOW_HTTP_BACKOFF", "soon", "valid number"),
    ("TRADEFLOW_HTTP_BREAKER_RATIO", "1.5", "less than or equal to 1"),
    ("TRADEFLOW_COMTRADE_RATE", "0", "greater than 0"),
    ("TRADEFLOW_COMTRADE_CAP", "-5", "greater than 0"),
    ("TRADEFLOW_WITS_URL", "wits.worldbank.org", "http:// or https:// URL"),
])
def test_a_bad_value_is_one_line_naming_the_variable(var, value, says):
    with pytest.raises(ConfigError) as err:
        Settings.from_env({var: value})
    msg = str(err.value)
    assert msg.startswith(f"{var}: ") and says in msg and repr(value) in msg and "\n" not in msg, msg


def test_values_are_parsed_and_empty_means_default(tmp_path):
    s = Settings.from_env({"TRADEFLOW_CIF_FOB_FACTORS": "1.08, 1.12", "TRADEFLOW_THREADS": "3", "TRADEFLOW_COMTRADE_CAP": "141",
                           "TRADEFLOW_HTTP_BACKOFF": "", "TRADEFLOW_MEMORY_LIMIT": "1GB", "TRADEFLOW_SQL_DIR": str(tmp_path)})
    assert s.cif_fob_factors == (1.08, 1.12) and s.threads == 3 and s.comtrade_cap == 141
    assert s.http_backoff == 1.0 and s.memory_limit == "1GB" and s.sql_dir == tmp_path
    d = Settings.from_env({})
    assert d.cif_fob_factors == (1.06, 1.10) and d.threads is None and d.comtrade_cap is None and d.home == Path("data").resolve()


def test_the_key_stays_out_of_repr_and_dumps(tmp_path):
    s = Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "COMTRADE_API_KEY": "k3y-SECRET"})
    assert s.comtrade_api_key == "k3y-SECRET"
    for text in (repr(s), str(s), s.model_dump_json(), str(s.model_dump())):
        assert "k3y-SECRET" not in text


def test_settings_are_read_when_asked_not_at_import(monkeypatch):
    from tradeflow.sources.http import HttpClient
    from tradeflow.sources.unsd import table_url
    from tradeflow.warehouse.db import cores

    monkeypatch.setenv("TRADEFLOW_THREADS", "3")
    monkeypatch.setenv("TRADEFLOW_HTTP_BACKOFF", "0.25")
    monkeypatch.setenv("TRADEFLOW_HTTP_BREAKER", "4")
    monkeypatch.setenv("TRADEFLOW_UNSD_URL", "http://127.0.0.1:7/tables/")
    assert cores() == 3
    http = HttpClient()
    assert http.backoff_initial == 0.25 and http.breaker.consecutive == 4
    assert table_url("HS2017", "HS2012") == "http://127.0.0.1:7/tables/HS2017toHS2012ConversionAndCorrelationTables.xlsx"
    monkeypatch.setenv("TRADEFLOW_HS_CONCORDANCE_URL", "http://127.0.0.1:7/hs.xlsx")
    assert table_url("HS2022", "HS2017") == "http://127.0.0.1:7/hs.xlsx"
    monkeypatch.setenv("TRADEFLOW_HTTP_BACKOFF", "soon")  # used to be ignored silently
    with pytest.raises(ConfigError, match="^TRADEFLOW_HTTP_BACKOFF: "):
        HttpClient()


def test_a_memory_limit_cannot_inject_sql(tmp_path, monkeypatch):
    from tradeflow.warehouse.db import connect

    monkeypatch.setenv("TRADEFLOW_MEMORY_LIMIT", "1GB")
    conn = connect(tmp_path / "w.duckdb")
    assert conn.execute("SELECT current_setting('memory_limit')").fetchone()[0] != ""
    conn.close()
    monkeypatch.setenv("TRADEFLOW_MEMORY_LIMIT", "1GB'; CREATE TABLE pwned AS SELECT 1; --")
    with pytest.raises(ConfigError, match="^TRADEFLOW_MEMORY_LIMIT: "):
        connect(tmp_path / "w.duckdb")


def test_clients_take_rates_and_cap_from_the_settings_they_are_given(tmp_path):
    from tradeflow.archive import RawArchive
    from tradeflow.sources.comtrade import KEYED_CAP, PREVIEW_CAP, ComtradeClient
    from tradeflow.sources.wits import WitsClient

    s = Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "TRADEFLOW_COMTRADE_RATE": "7", "TRADEFLOW_WITS_RATE": "9",
                           "TRADEFLOW_COMTRADE_CAP": "141"})
    archive = RawArchive(s.raw_dir)
    c = ComtradeClient(s, archive)
    assert c.http.rate_per_second == 7 and c.cap == 141
    assert WitsClient(s, archive).http.rate_per_second == 9
    assert ComtradeClient(Settings.from_env({"TRADEFLOW_HOME": str(tmp_path)}), archive).cap == PREVIEW_CAP
    keyed = Settings.from_env({"TRADEFLOW_HOME": str(tmp_path), "COMTRADE_API_KEY": "k"})
    assert ComtradeClient(keyed, archive).cap == KEYED_CAP


def test_the_resource_overrides_home_and_keeps_the_rest(tmp_path, monkeypatch):
    """pipelines/resources.py: run config may move home and reports; the rest still comes from the environment."""
    from pipelines.resources import TradeflowResource

    for k, v in {"TRADEFLOW_HOME": str(tmp_path / "a"), "COMTRADE_API_KEY": "k", "TRADEFLOW_THREADS": "2"}.items():
        monkeypatch.setenv(k, v)
    r = TradeflowResource(home=str(tmp_path / "b")).settings()
    assert r.home == tmp_path / "b" and r.secrets() == ["k"] and r.threads == 2
    assert r.reports_dir == Settings.from_env().reports_dir and Settings.from_env().home == tmp_path / "a"


@pytest.mark.parametrize("value,why", [("0", "at least 256 MiB"), ("1B", "at least 256 MiB"), ("100MB", "at least 256 MiB"),
                                       ("500%", "between 1% and 100%"), ("0%", "between 1% and 100%")])
def test_a_memory_limit_duckdb_cannot_work_with_is_refused_by_name(value, why):
    """0 and 500% passed the check and failed later inside DuckDB; 1B ran `status` out of memory."""
    with pytest.raises(ConfigError, match=rf"TRADEFLOW_MEMORY_LIMIT: must be .*{re.escape(why)}"):
        Settings.from_env({"TRADEFLOW_MEMORY_LIMIT": value})
    assert Settings.from_env({"TRADEFLOW_MEMORY_LIMIT": "256MiB"}).memory_limit == "256MiB"
