"""Configuration read from the environment (documented in the README).

Secrets (the Comtrade key) are held in memory only; they are never written to the
archive, the manifest, the database, logs or reports.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from tradeflow.errors import ConfigError

DEFAULT_COMTRADE_URL = "https://comtradeapi.un.org"
DEFAULT_WITS_URL = "https://wits.worldbank.org"



@dataclass(frozen=True)
class Settings:
    """Where tradeflow keeps its data and how it reaches the sources."""

    home: Path
    reports_dir: Path
    comtrade_url: str = DEFAULT_COMTRADE_URL
    wits_url: str = DEFAULT_WITS_URL
    comtrade_api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            home=Path(env.get("TRADEFLOW_HOME") or "data").resolve(),
            reports_dir=Path(env.get("TRADEFLOW_REPORTS_DIR") or "reports").resolve(),
            comtrade_url=(env.get("TRADEFLOW_COMTRADE_URL") or DEFAULT_COMTRADE_URL).rstrip("/"),
            wits_url=(env.get("TRADEFLOW_WITS_URL") or DEFAULT_WITS_URL).rstrip("/"),
            comtrade_api_key=env.get("COMTRADE_API_KEY") or None,
        )

    @property
    def database(self) -> Path:
        """The live warehouse: only the pipeline writes it."""
        return self.home / "tradeflow.duckdb"

    @property
    def snapshot(self) -> Path:
        """The read-only copy published after each successful run (what analysts open)."""
        return self.home / "published" / "tradeflow.duckdb"

    @property
    def raw_dir(self) -> Path:
        return self.home / "raw"

    def check_home(self, write: bool) -> None:
        """Fail fast, in one line, when ``TRADEFLOW_HOME`` cannot serve: a file, or (for commands
        that write) a folder this account cannot write or create."""
        home = self.home
        if home.exists() and not home.is_dir():
            raise ConfigError(f"TRADEFLOW_HOME={home} is a file, not a folder: point it at a data folder")
        if not write:
            return
        probe = home
        while not probe.exists():  # the nearest existing ancestor must let us create the rest
            probe = probe.parent
        if not probe.is_dir():
            raise ConfigError(f"TRADEFLOW_HOME={home}: {probe} is a file, not a folder")
        if not os.access(probe, os.W_OK | os.X_OK):
            what = "is read-only for this account" if probe == home else f"cannot be created ({probe} is read-only)"
            raise ConfigError(f"TRADEFLOW_HOME={home} {what}: tradeflow needs to write its warehouse and archive there")
        for sub in ("raw", "published", "schedules", "raw/objects"):
            p = home / sub
            if p.exists() and (not p.is_dir() or not os.access(p, os.W_OK | os.X_OK)):
                raise ConfigError(f"TRADEFLOW_HOME: {p} is not a writable folder")

    def secrets(self) -> list[str]:
        """Values that must never appear in anything tradeflow writes."""
        return [s for s in (self.comtrade_api_key,) if s]


def parse_years(text: str) -> tuple[int, int]:
    """Parse ``2019-2022`` or ``2021`` into an inclusive (first, last) pair."""
    m = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*", text or "")
    if not m:
        raise ConfigError(f"--years must look like 2019-2022 or 2021, got {text!r}")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if not 1988 <= first <= last <= 2100:
        raise ConfigError(f"--years {text!r}: need 1988 <= FROM <= TO <= 2100")
    return first, last
