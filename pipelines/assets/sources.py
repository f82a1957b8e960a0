"""Source assets: responses from UN Comtrade (or the synthetic sample) into the raw archive.

A period that failed does not hold back the others: the asset materialises with what arrived,
and its non-blocking ``all_periods_fetched`` check fails (severity ERROR) naming the periods that
failed, so the warehouse, snapshot and reports are rebuilt and the run still counts as failed.
"""


import dagster as dg

from pipelines.resources import TradeflowResource
from tradeflow.ingest import IngestResult, ingest_comtrade, ingest_wits
from tradeflow.periods import period_keys

#: One partition per period: "2021" (annual) and "2021-03" (monthly), in time order.
period_partitions = dg.StaticPartitionsDefinition(period_keys())

#: Non-blocking check on each source asset: every period asked for arrived.
COMPLETE = "all_periods_fetched"


def _spec(key: list[str]) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(COMPLETE, asset=dg.AssetKey(key), blocking=False,
                              description="Every requested period arrived (the failed ones are named; the next run "
                              "retries them; the others are published).")]


def _result(result: IngestResult) -> dg.MaterializeResult:
    names = result.failed_names()
    check = dg.AssetCheckResult(
        check_name=COMPLETE, passed=not result.failed, severity=dg.AssetCheckSeverity.ERROR,
        description=result.failure_summary() if result.failed else "every requested period arrived",
        metadata={"failed_rows": len(names), "sample": names[:20]},
    )
    return dg.MaterializeResult(metadata=result.metadata(), check_results=[check])


@dg.asset(
    key=["archive", "comtrade_responses"],
    group_name="sources",
    kinds={"python"},
    partitions_def=period_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="UN Comtrade final-data responses (HS6, annual and monthly, PAK and CHN, with the World and each "
    "other; monthly transport modes) in the raw archive. Partitioned by period; a range runs as one batch.",
    check_specs=_spec(["archive", "comtrade_responses"]),
)
def comtrade_responses(context: dg.AssetExecutionContext, tradeflow: TradeflowResource) -> dg.MaterializeResult:
    keys = list(context.partition_keys)
    result = ingest_comtrade(tradeflow.settings(), tradeflow.source, keys)
    context.log.info(f"comtrade: {result.metadata()}")
    return _result(result)


@dg.asset(
    key=["archive", "wits_tariff_responses"],
    group_name="sources",
    kinds={"python"},
    partitions_def=period_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="WITS/UNCTAD TRAINS tariffs at HS6 (importers CHN and PAK; MFN against the World, preferential "
    "against each other) in the raw archive. Annual partitions only; monthly keys are ignored.",
    check_specs=_spec(["archive", "wits_tariff_responses"]),
)
def wits_tariff_responses(context: dg.AssetExecutionContext, tradeflow: TradeflowResource) -> dg.MaterializeResult:
    result = ingest_wits(tradeflow.settings(), tradeflow.source, list(context.partition_keys))
    context.log.info(f"wits: {result.metadata()}")
    return _result(result)
