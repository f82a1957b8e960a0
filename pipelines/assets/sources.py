"""Source assets: responses from UN Comtrade (or the synthetic sample) into the raw archive."""


import dagster as dg

from pipelines.resources import TradeflowResource
from tradeflow.ingest import ingest_comtrade


@dg.asset(
    key=["archive", "comtrade_responses"],
    group_name="sources",
    kinds={"python"},
    description="UN Comtrade final-data responses (HS6, annual and monthly, PAK and CHN) in the raw archive.",
)
def comtrade_responses(context: dg.AssetExecutionContext, tradeflow: TradeflowResource) -> dg.MaterializeResult:
    result = ingest_comtrade(tradeflow.settings(), tradeflow.source, tradeflow.year_range())
    context.log.info(f"comtrade: {result.metadata()}")
    return dg.MaterializeResult(metadata=result.metadata())
