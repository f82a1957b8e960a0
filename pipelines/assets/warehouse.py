"""Warehouse assets: one per SQL model, keyed by its table (``schema/table``)."""


import dagster as dg

from pipelines.resources import TradeflowResource
from tradeflow.archive import RawArchive
from tradeflow.warehouse import Warehouse
from tradeflow.warehouse.db import model_description
from tradeflow.warehouse.models import GOAL_FRAMES, MARTS, STAGING, build_marts, build_raw, build_staging, grain_of
from tradeflow.warehouse.snapshot import publish

KINDS = {"duckdb", "sql"}


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


def _specs(models: dict[str, list[str]], group: str) -> list[dg.AssetSpec]:
    return [dg.AssetSpec(_key(name), group_name=group, kinds=KINDS, deps=[_key(d) for d in deps],
                         description=model_description(name)) for name, deps in models.items()]


def _grain_specs(names) -> list[dg.AssetCheckSpec]:
    """One blocking grain check beside each table's asset."""
    return [dg.AssetCheckSpec("grain", asset=_key(n), blocking=True,
                              description=f"Blocking: one row per {', '.join(grain_of(n))}") for n in names]


def _materialized(conn, counts: dict[str, int]):
    """Each table's materialization, then its grain check (one set-based query per table)."""
    from tradeflow.quality import grain_check

    for name, rows in counts.items():
        yield dg.MaterializeResult(asset_key=_key(name), metadata={"rows": rows})
    for name in counts:
        g = grain_check(conn, name, grain_of(name))
        yield dg.AssetCheckResult(asset_key=_key(name), check_name="grain", passed=g.passed,
                                  severity=dg.AssetCheckSeverity.ERROR, description=g.description, metadata=g.metadata())


RAW_SOURCES = {
    "raw.comtrade_records": ["archive.comtrade_responses"],
    "raw.wits_tariffs": ["archive.wits_tariff_responses"],
    "raw.reference_countries": ["archive.comtrade_responses"],
    "raw.reference_hs": ["archive.comtrade_responses"],
    "raw.hs_concordance": ["archive.comtrade_responses"],
    "raw.fta_schedule": [],
    "raw.fta_categories": [],
    "raw.fta_traded_lines": [],
    "raw.khunjerab_months": [],
    "raw.gacc_events": [],
    "raw.plan_baskets": [],
}


@dg.multi_asset(specs=_specs(RAW_SOURCES, "warehouse"), check_specs=_grain_specs(RAW_SOURCES))
def raw_tables(tradeflow: TradeflowResource):
    s = tradeflow.settings()
    with Warehouse(s.database).writer() as conn:
        yield from _materialized(conn, build_raw(conn, RawArchive(s.raw_dir)))


@dg.multi_asset(specs=_specs(STAGING, "warehouse"), check_specs=_grain_specs(STAGING))
def staging_tables(tradeflow: TradeflowResource):
    with Warehouse(tradeflow.settings().database).writer() as conn:
        yield from _materialized(conn, build_staging(conn))


@dg.multi_asset(specs=_specs(MARTS, "marts") + _specs({k: ["marts.trade_flows"] for k in GOAL_FRAMES}, "marts"),
                check_specs=_grain_specs([*MARTS, *GOAL_FRAMES]))
def mart_tables(tradeflow: TradeflowResource):
    with Warehouse(tradeflow.settings().database).writer() as conn:
        yield from _materialized(conn, build_marts(conn))


@dg.asset(
    key=["published", "snapshot"],
    deps=[_key(name) for name in MARTS],
    group_name="warehouse",
    kinds={"duckdb"},
    description="Read-only copy of the warehouse that analysts and `tradeflow sql` open.",
)
def published_snapshot(tradeflow: TradeflowResource) -> dg.MaterializeResult:
    s = tradeflow.settings()
    path = publish(Warehouse(s.database), s.snapshot)
    return dg.MaterializeResult(metadata={"path": str(path), "bytes": path.stat().st_size})


GATES = {
    "null_keys": True, "negative_values": True, "unknown_hs_codes": True, "duplicate_keys": True,
    "unknown_country_codes": True, "months_sum_to_annual": False, "tenfold_jump": False,
}


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(name, asset=_key("staging.comtrade_flows"), blocking=blocking,
                             description=("Blocking: " if blocking else "Warning: ") + name.replace("_", " "))
           for name, blocking in GATES.items()],
)
def staging_quality_gates(tradeflow: TradeflowResource):
    """great-expectations gates on the staged Comtrade records; a blocking failure stops marts and reports."""
    from tradeflow.quality import staging_gates

    with Warehouse(tradeflow.settings().database).writer() as conn:
        results = staging_gates(conn)
    for g in results:
        yield dg.AssetCheckResult(
            asset_key=_key("staging.comtrade_flows"), check_name=g.name, passed=g.passed,
            severity=dg.AssetCheckSeverity.ERROR if g.blocking else dg.AssetCheckSeverity.WARN,
            description=g.description, metadata=g.metadata(),
        )
