"""Resources: the tradeflow settings, configurable per run, secrets from the environment only."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from tradeflow.settings import Settings, parse_years


class TradeflowResource(dg.ConfigurableResource):
    """Where data live and which source a run reads.

    Empty strings mean "from the environment" (``TRADEFLOW_HOME``, ``TRADEFLOW_REPORTS_DIR``,
    ``TRADEFLOW_COMTRADE_URL``, ``TRADEFLOW_WITS_URL``). The Comtrade key is never run
    config: it is read from ``COMTRADE_API_KEY`` when a client needs it, so it never lands in
    the run record.
    """

    source: str = "sample"  # sample | live | archive
    years: str = ""  # e.g. "2019-2022"; empty: the default range
    home: str = ""
    reports_dir: str = ""
    force: bool = False  # build staging and marts, publish and render even when nothing changed

    def settings(self) -> Settings:
        s = Settings.from_env()
        update = {k: Path(v).resolve() for k, v in (("home", self.home), ("reports_dir", self.reports_dir)) if v}
        return s.model_copy(update=update) if update else s

    def year_range(self) -> tuple[int, int] | None:
        return parse_years(self.years) if self.years else None
