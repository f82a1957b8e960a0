"""Report assets: the HTML suite, rendered from the published snapshot."""


import dagster as dg

from pipelines.resources import TradeflowResource
from tradeflow.archive import now_utc
from tradeflow.report import render_reports
from tradeflow.warehouse import Warehouse, build_state


@dg.asset(
    key=["reports", "html_suite"],
    deps=[dg.AssetKey(["published", "snapshot"])],
    group_name="reports",
    kinds={"html", "plotly"},
    description="Offline Plotly HTML reports (index and one page per topic).",
)
def report_suite(tradeflow: TradeflowResource) -> dg.MaterializeResult:
    s = tradeflow.settings()
    build_state.mark_reports(s.reports_dir, None)  # a rendering cut off half-way is redone next time
    with Warehouse(s.snapshot).reader() as conn:
        paths = render_reports(conn, s.reports_dir, last_run=now_utc())
    build_state.mark_reports(s.reports_dir, build_state.of_database(s.snapshot))
    return dg.MaterializeResult(
        metadata={"pages": len(paths), "index": dg.MetadataValue.path(str(paths[0]))}
    )
