"""Report assets: the HTML suite, rendered from the published snapshot."""


import dagster as dg

from pipelines.resources import TradeflowResource
from tradeflow.archive import now_utc


@dg.asset(
    key=["reports", "html_suite"],
    deps=[dg.AssetKey(["published", "snapshot"])],
    group_name="reports",
    kinds={"html", "plotly"},
    description="Offline Plotly HTML reports (index and one page per topic).",
)
def report_suite(tradeflow: TradeflowResource) -> dg.MaterializeResult:
    from tradeflow.report import render_snapshot  # here: pandas and plotly load only when pages are rendered

    s = tradeflow.settings()
    paths = render_snapshot(s.snapshot, s.reports_dir, last_run=now_utc())  # stamped with the build it read
    return dg.MaterializeResult(
        metadata={"pages": len(paths), "index": dg.MetadataValue.path(str(paths[0]))}
    )
