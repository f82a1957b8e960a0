"""Source assets: responses from UN Comtrade (or the synthetic sample) into the raw archive."""


import dagster as dg

from pipelines.resources import TradeflowResource
from tradeflow.ingest import ingest_comtrade
from tradeflow.periods import period_keys

#: One partition per period: "2021" (annual) and "2021-03" (monthly), in time order.
period_partitions = dg.StaticPartitionsDefinition(period_keys())


@dg.asset(
    key=["archive", "comtrade_responses"],
    group_name="sources",
    kinds={"python"},
    partitions_def=period_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="UN Comtrade final-data responses (HS6, annual and monthly, PAK and CHN, with the World and each "
    "other; monthly transport modes) in the raw archive. Partitioned by period; a range runs as one batch.",
)
def comtrade_responses(context: dg.AssetExecutionContext, tradeflow: TradeflowResource) -> dg.MaterializeResult:
    keys = list(context.partition_keys)
    result = ingest_comtrade(tradeflow.settings(), tradeflow.source, keys)
    context.log.info(f"comtrade: {result.metadata()}")
    return dg.MaterializeResult(metadata=result.metadata())
