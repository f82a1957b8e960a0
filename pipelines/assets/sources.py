"""Source assets: responses from UN Comtrade and WITS (or the synthetic sample) into the raw archive.

Annual and monthly data are partitioned apart, with Dagster time-window partitions that grow with
the calendar (a code server that stays up past New Year sees the new year without a reload):

- :data:`annual_partitions` — "2015" … last year: ``archive/comtrade_annual`` (annual HS6 with the
  World and each other, plus every reporter's exports to the World for RCA) and
  ``archive/wits_tariff_responses``;
- :data:`monthly_partitions` — "2019-01" … the current month: ``archive/comtrade_monthly``
  (monthly HS6 and transport modes).

Both Comtrade assets call the one library function (``ingest_comtrade``) with their period keys,
so the queries are those a single call over both kinds of key makes (annual and World queries for
annual keys, bilateral and mode queries for monthly keys). A range runs as one batch.

A period that failed does not hold back the others: the asset materialises with what arrived,
and its non-blocking ``all_periods_fetched`` check fails (severity ERROR) naming the periods that
failed, so the warehouse, snapshot and reports are rebuilt. The refresh counts as failed — the
ledger line (``pipelines.ledger``), ``tradeflow status`` and the CLI's exit code say so — while the
Dagster run ends SUCCESS with that red check.

A night where the data did not come is another matter: when no period asked for arrived (every
one failed, none confirmed unchanged; e.g. a refused key, or the circuit breaker tripping before
any period came: ``IngestResult.stopped``), the step fails with a ``dagster.Failure`` after reporting its
materialization (what the archive holds) and its checks, so the run fails and alerts on run
failure fire; the downstream assets skip (the published snapshot and reports stay as they were)
and the next run fetches the missing periods as usual. The check counts every period not
fetched: a refused availability call counts each reporter-period it covered.
"""

from collections.abc import Iterator

import dagster as dg

from pipelines.resources import TradeflowResource
from tradeflow.ingest import IngestResult, ingest_comtrade, ingest_wits
from tradeflow.periods import ANNUAL_FORMAT, FIRST_ANNUAL, FIRST_MONTHLY, MONTHLY_FORMAT

#: "2015", "2016", … : a year's partition exists once the year has ended (like ``periods.annual_keys``).
annual_partitions = dg.TimeWindowPartitionsDefinition(
    start=str(FIRST_ANNUAL), fmt=ANNUAL_FORMAT, cron_schedule="0 0 1 1 *", end_offset=0)
#: "2019-01", … the current month (``end_offset=1``: the month in progress too, like ``periods.monthly_keys``).
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=f"{FIRST_MONTHLY}-01", fmt=MONTHLY_FORMAT, end_offset=1)

COMTRADE_ANNUAL = dg.AssetKey(["archive", "comtrade_annual"])
COMTRADE_MONTHLY = dg.AssetKey(["archive", "comtrade_monthly"])
WITS = dg.AssetKey(["archive", "wits_tariff_responses"])
#: Every source asset, for the warehouse's raw assets to depend on.
SOURCE_KEYS = (COMTRADE_ANNUAL, COMTRADE_MONTHLY, WITS)

#: Non-blocking check on each source asset: every period asked for arrived.
COMPLETE = "all_periods_fetched"
#: Non-blocking warning: every period stored before is still listed by the source as published.
STILL_LISTED = "stored_periods_still_listed"


def _spec(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(COMPLETE, asset=key, blocking=False,
                              description="Every requested period arrived (the failed ones are named; the next run "
                              "retries them; the others are published, unless the source was given up or none "
                              "arrived: then the step fails after this check)."),
            dg.AssetCheckSpec(STILL_LISTED, asset=key, blocking=False,
                              description="Every period stored from an earlier run is still listed as published by the "
                              "source (a period it withdrew is kept as stored, and named here).")]


def _gave_up(result: IngestResult, source: str) -> str | None:
    """Why the step fails: no period asked for arrived (none fetched, none confirmed unchanged), because the source
    was given up (a refused key, the circuit breaker) or every period failed. None when nothing failed, or for a
    partial failure (even one cut short by the breaker): what arrived is published, the check is red."""
    if not result.failed or result.partitions or result.skipped_unchanged:
        return None  # a partial failure, even one where the source was given up later: what arrived is published
    what = f"{len(result.failed)} period(s) not fetched, nothing downstream rebuilt (the next run retries them)"
    if result.stopped:
        return f"{source} was given up: {what}; {' '.join(result.stopped.split())}"
    return f"no period asked for arrived from {source}: {what}; first error: {' '.join(result.failed[0].split())}"


def _outcome(result: IngestResult, source: str) -> Iterator[dg.MaterializeResult]:
    """The materialization and checks of ``result``; then, if nothing came, the step's failure."""
    yield _result(result)
    why = _gave_up(result, source)
    if why:
        raise dg.Failure(description=why, metadata={"not_fetched": len(result.failed), "sample": result.failed_names()[:20]})


def _result(result: IngestResult) -> dg.MaterializeResult:
    names = result.failed_names()
    check = dg.AssetCheckResult(
        check_name=COMPLETE, passed=not result.failed, severity=dg.AssetCheckSeverity.ERROR,
        description=result.failure_summary() if result.failed else "every requested period arrived",
        metadata={"failed_rows": len(names), "sample": names[:20]},
    )
    listed = dg.AssetCheckResult(
        check_name=STILL_LISTED, passed=not result.withdrawn, severity=dg.AssetCheckSeverity.WARN,
        description=(f"{len(result.withdrawn)} stored period(s) no longer listed as published, kept as stored: "
                     + ", ".join(result.withdrawn[:6])) if result.withdrawn else "every stored period is still listed",
        metadata={"withdrawn": len(result.withdrawn), "sample": result.withdrawn[:20]},
    )
    return dg.MaterializeResult(metadata=result.metadata(), check_results=[check, listed])


def _comtrade(context: dg.AssetExecutionContext, tradeflow: TradeflowResource) -> Iterator[dg.MaterializeResult]:
    keys = list(context.partition_keys)
    result = ingest_comtrade(tradeflow.settings(), tradeflow.source, keys)
    context.log.info(f"comtrade: {result.metadata()}")
    yield from _outcome(result, "UN Comtrade")


@dg.asset(
    key=COMTRADE_ANNUAL,
    group_name="sources",
    kinds={"python"},
    partitions_def=annual_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="UN Comtrade annual final data (HS6, PAK and CHN with the World and each other; every reporter's "
    "exports to the World) and the reference lists, in the raw archive. Partitioned by year.",
    check_specs=_spec(COMTRADE_ANNUAL),
)
def comtrade_annual(context: dg.AssetExecutionContext, tradeflow: TradeflowResource) -> Iterator[dg.MaterializeResult]:
    yield from _comtrade(context, tradeflow)


@dg.asset(
    key=COMTRADE_MONTHLY,
    group_name="sources",
    kinds={"python"},
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="UN Comtrade monthly final data (HS6, PAK and CHN with the World and each other; transport modes) "
    "and the reference lists, in the raw archive. Partitioned by month.",
    check_specs=_spec(COMTRADE_MONTHLY),
)
def comtrade_monthly(context: dg.AssetExecutionContext, tradeflow: TradeflowResource) -> Iterator[dg.MaterializeResult]:
    yield from _comtrade(context, tradeflow)


@dg.asset(
    key=WITS,
    group_name="sources",
    kinds={"python"},
    partitions_def=annual_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="WITS/UNCTAD TRAINS tariffs at HS6 (importers CHN and PAK; MFN against the World, preferential "
    "against each other) in the raw archive. Partitioned by year.",
    check_specs=_spec(WITS),
)
def wits_tariff_responses(context: dg.AssetExecutionContext, tradeflow: TradeflowResource) -> Iterator[dg.MaterializeResult]:
    result = ingest_wits(tradeflow.settings(), tradeflow.source, list(context.partition_keys))
    context.log.info(f"wits: {result.metadata()}")
    yield from _outcome(result, "WITS")
