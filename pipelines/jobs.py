"""Jobs. A run covers one partitions definition, so a whole refresh is two runs, in this order:

1. ``annual_sources_job`` — the sources partitioned by year (``archive/comtrade_annual``,
   ``archive/wits_tariff_responses``) over a year range;
2. ``refresh_job`` — the sources partitioned by month (``archive/comtrade_monthly``) over a month
   range, then every unpartitioned asset: warehouse → marts → snapshot → reports.

The nightly schedule launches (1); a run-status sensor launches (2) when (1) succeeded.
``tradeflow refresh`` runs the same two selections in-process (``pipelines.refresh``).
"""

import dagster as dg

from pipelines.assets.sources import COMTRADE_ANNUAL, WITS, annual_partitions, monthly_partitions

ANNUAL_SOURCES = dg.AssetSelection.assets(COMTRADE_ANNUAL, WITS)

annual_sources_job = dg.define_asset_job(
    "annual_sources_job",
    selection=ANNUAL_SOURCES,
    partitions_def=annual_partitions,
    description="Fetch the annual sources (UN Comtrade annual and World exports, WITS tariffs) for a year range.",
)

refresh_job = dg.define_asset_job(
    "refresh_job",
    selection=dg.AssetSelection.all() - ANNUAL_SOURCES,
    partitions_def=monthly_partitions,
    description="Fetch UN Comtrade monthly data for a month range, then load, build marts, publish the snapshot and "
    "render reports (run after annual_sources_job).",
)
