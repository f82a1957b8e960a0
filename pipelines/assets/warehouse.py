"""Warehouse assets: one per SQL model, keyed by its table (``schema/table``)."""


import dagster as dg

from pipelines.resources import TradeflowResource
from tradeflow.archive import RawArchive
from tradeflow.warehouse import Warehouse
from tradeflow.warehouse.models import build_marts, build_raw, build_staging
from tradeflow.warehouse.snapshot import publish

KINDS = {"duckdb", "sql"}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "comtrade_records"], group_name="warehouse", kinds=KINDS,
                     deps=[dg.AssetKey(["archive", "comtrade_responses"])],
                     description="Every archived Comtrade record as received (all vintages), parsed in DuckDB."),
        dg.AssetSpec(["raw", "wits_tariffs"], group_name="warehouse", kinds=KINDS,
                     deps=[dg.AssetKey(["archive", "wits_tariff_responses"])],
                     description="Every archived TRAINS tariff observation as received."),
    ],
)
def raw_tables(tradeflow: TradeflowResource):
    s = tradeflow.settings()
    with Warehouse(s.database).writer() as conn:
        counts = build_raw(conn, RawArchive(s.raw_dir))
    for name, rows in counts.items():
        yield dg.MaterializeResult(asset_key=name.split("."), metadata={"rows": rows})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["staging", "countries"], group_name="warehouse", kinds=KINDS,
                     description="M49 → ISO3 country codes."),
        dg.AssetSpec(["staging", "comtrade_flows"], group_name="warehouse", kinds=KINDS,
                     deps=[dg.AssetKey(["raw", "comtrade_records"])],
                     description="Typed, deduplicated HS6 records; newest vintage per period."),
        dg.AssetSpec(["staging", "tariffs"], group_name="warehouse", kinds=KINDS,
                     deps=[dg.AssetKey(["raw", "wits_tariffs"]), dg.AssetKey(["staging", "countries"])],
                     description="HS6 applied tariffs (MFN and preferential), newest vintage."),
    ],
)
def staging_models(tradeflow: TradeflowResource):
    with Warehouse(tradeflow.settings().database).writer() as conn:
        counts = build_staging(conn)
    for name, rows in counts.items():
        yield dg.MaterializeResult(asset_key=name.split("."), metadata={"rows": rows})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["marts", "trade_flows"], group_name="marts", kinds=KINDS,
                     deps=[dg.AssetKey(["staging", "comtrade_flows"]), dg.AssetKey(["staging", "countries"])],
                     description="HS6 trade by reporter, partner, flow and period, all transport modes."),
        dg.AssetSpec(["marts", "trade_flows_by_mode"], group_name="marts", kinds=KINDS,
                     deps=[dg.AssetKey(["staging", "comtrade_flows"]), dg.AssetKey(["staging", "countries"])],
                     description="Monthly bilateral HS6 trade by mode of transport, where reported."),
    ],
)
def trade_marts(tradeflow: TradeflowResource):
    with Warehouse(tradeflow.settings().database).writer() as conn:
        counts = build_marts(conn)
    for name, rows in counts.items():
        yield dg.MaterializeResult(asset_key=name.split("."), metadata={"rows": rows})


@dg.asset(
    key=["published", "snapshot"],
    deps=[dg.AssetKey(["marts", "trade_flows"]), dg.AssetKey(["marts", "trade_flows_by_mode"])],
    group_name="warehouse",
    kinds={"duckdb"},
    description="Read-only copy of the warehouse that analysts and `tradeflow sql` open.",
)
def published_snapshot(tradeflow: TradeflowResource) -> dg.MaterializeResult:
    s = tradeflow.settings()
    path = publish(Warehouse(s.database), s.snapshot)
    return dg.MaterializeResult(metadata={"path": str(path), "bytes": path.stat().st_size})
