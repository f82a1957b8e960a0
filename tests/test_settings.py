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
