"""Source assets: responses from UN Comtrade (or the synthetic sample) into the raw archive."""


import dagster as dg

from pipelines.resources import TradeflowResource
from tradeflow.ingest import ingest_comtrade, ingest_wits
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


@dg.asset(
    key=["archive", "wits_tariff_responses"],
    group_name="sources",
    kinds={"python"},
    partitions_def=period_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="WITS/UNCTAD TRAINS tariffs at HS6 (importers CHN and PAK; MFN against the World, preferential "
    "against each other) in the raw archive. Annual partitions only; monthly keys are ignored.",
)
def wits_tariff_responses(context: dg.AssetExecutionContext, tradeflow: TradeflowResource) -> dg.MaterializeResult:
    result = ingest_wits(tradeflow.settings(), tradeflow.source, list(context.partition_keys))
    context.log.info(f"wits: {result.metadata()}")
    return dg.MaterializeResult(metadata=result.metadata())
