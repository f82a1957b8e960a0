"""Jobs: the whole refresh (sources → warehouse → marts → snapshot → reports)."""

import dagster as dg

refresh_job = dg.define_asset_job(
    "refresh_job",
    selection=dg.AssetSelection.all(),
    description="Refresh everything: fetch, load, build marts, publish the snapshot, render reports.",
)
