"""Warehouse assets: the raw loaders, one asset per dbt model (sql/), the published snapshot.

Keys are ``schema/table`` (``raw/comtrade_records``, ``staging/tariffs``, ``marts/trade_flows``).
Every dbt test (grain, not-null, relationships, staging quality gates) is an asset check beside
its model; tests of severity error are blocking, and dbt itself skips the models downstream of
a failing test.
"""


import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets
from dagster_dbt.asset_utils import get_asset_check_key_for_test, get_subset_selection_for_context

from pipelines.resources import TradeflowResource
from tradeflow.archive import RawArchive
from tradeflow.errors import WarehouseError
from tradeflow.warehouse import Warehouse, build_state, dbt_project
from tradeflow.warehouse.db import connect, model_description
from tradeflow.warehouse.models import RAW_TABLES, build_raw, check_grain, grain_of, undocumented_marts_columns
from tradeflow.warehouse.snapshot import publish

#: The dbt manifest, parsed when the code location loads if sql/ changed since the last parse.
def _load_manifest() -> Mapping[str, Any]:
    try:
        return json.loads(dbt_project.prepare_manifest().read_text(encoding="utf-8"))
    except ValueError:  # a manifest a crash left half-written: parse again
        return json.loads(dbt_project.prepare_manifest(force=True).read_text(encoding="utf-8"))


MANIFEST: Mapping[str, Any] = _load_manifest()


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


class TradeflowDbtTranslator(DagsterDbtTranslator):
    """dbt node → asset: key ``schema/table`` (sources: ``raw/table``), group ``warehouse`` or ``marts``."""

    def get_asset_spec(self, manifest, unique_id, project):
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        schema = "raw" if props["resource_type"] == "source" else props["schema"]
        return spec.replace_attributes(key=dg.AssetKey([schema, props["name"]]),
                                       group_name="marts" if schema == "marts" else "warehouse")


TRANSLATOR = TradeflowDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


# ---------------------------------------------------------------------------------------------
# raw: the Python loaders (archive bodies, reference lists, curated YAML, schedules)

def _grain_specs(names) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec("grain", asset=_key(n), blocking=True,
                              description=f"Blocking: one row per {', '.join(grain_of(n))}") for n in names]


@dg.multi_asset(
    specs=[dg.AssetSpec(_key(name), group_name="warehouse", kinds={"duckdb", "python"}, deps=[_key(d) for d in deps],
                        description=model_description(name)) for name, deps in RAW_TABLES.items()],
    check_specs=_grain_specs(RAW_TABLES),
)
def raw_tables(tradeflow: TradeflowResource):
    s = tradeflow.settings()
    with Warehouse(s.database).writer() as conn:
        counts = build_raw(conn, RawArchive(s.raw_dir))
        for name, rows in counts.items():
            yield dg.MaterializeResult(asset_key=_key(name), metadata={"rows": rows})
        for name in counts:
            g = check_grain(conn, name)
            yield dg.AssetCheckResult(asset_key=_key(name), check_name="grain", passed=g.passed,
                                      severity=dg.AssetCheckSeverity.ERROR, description=g.description,
                                      metadata=g.metadata())


# ---------------------------------------------------------------------------------------------
# staging and marts: the dbt project, built in one `dbt build` per run

def _check_key(unique_id: str) -> dg.AssetCheckKey | None:
    """The asset check of a dbt test; None for a test the loaded manifest does not know (sql/ changed
    since the code location loaded: dbt re-parsed it for the run; reload the location to see it)."""
    if unique_id not in MANIFEST["nodes"]:
        return None
    return get_asset_check_key_for_test(MANIFEST, TRANSLATOR, unique_id, None)


def _model_key(unique_id: str) -> dg.AssetKey:
    return TRANSLATOR.get_asset_spec(MANIFEST, unique_id, None).key


def _what(node) -> str:
    """The useful part of dbt's message: the error under its "Runtime Error in model …" heading, a Python
    model's exception (its traceback's last line)."""
    return dbt_project.error_summary(node.message or node.status) or node.status


def failure_message(problems: list, error: str | None) -> str:
    """The step's one-line error: the failed models and tests, or, when dbt itself raised (no node failed:
    a full disk), the cause it gave."""
    if not problems:
        return "dbt build failed: " + (error or "see dbt's messages above")
    detail = "; ".join(f"{n.unique_id.split('.')[-2 if n.resource_type == 'test' else -1]}: {_what(n)}"
                       for n in problems[:5])
    return f"dbt build failed ({len(problems)} problem(s)): {detail}"


SNAPSHOT = dg.AssetKey(["published", "snapshot"])


def _failed_checks(result, before: list[dict]) -> list[dict]:
    """The checks a successful build failed (warnings), as the ledger lists them: for a subset, those of
    ``before`` (the recorded build's) whose test did not run again, and this run's."""
    ran, failed = set(), []
    for node in result.nodes:
        key = _check_key(node.unique_id) if node.resource_type == "test" else None
        if key is None:
            continue
        ran.add(("/".join(key.asset_key.path), key.name))
        if node.status in ("warn", "fail", "error"):
            failed.append({"asset": "/".join(key.asset_key.path), "check": key.name,
                           "severity": "WARN" if node.status == "warn" else "ERROR", "description": node.message,
                           "failed_rows": node.failures or 0, "sample": node.sample})
    return [c for c in before if (c["asset"], c["check"]) not in ran] + failed


def _kept_verdicts(context: dg.AssetExecutionContext, warned: list[dict]):
    """The verdicts of the kept build, for a refresh that builds nothing: the data are those its checks passed
    (a build is kept only when its blocking checks passed), and its warnings still hold. Without them Dagster
    warned on every quiet night that each blocking check "emitted no result". Marked ``unchanged``: the ledger
    lists the kept warnings once, from the observation."""
    failed = {(c["asset"], c["check"]): c for c in warned}
    for key in context.selected_asset_check_keys:
        c = failed.get(("/".join(key.asset_key.path), key.name))
        yield dg.AssetCheckResult(
            asset_key=key.asset_key, check_name=key.name, passed=c is None,
            severity=dg.AssetCheckSeverity.WARN if c is not None else dg.AssetCheckSeverity.ERROR,
            description="unchanged: passed in the build kept" if c is None else c.get("description"),
            metadata={"unchanged": True, **({"failed_rows": c.get("failed_rows") or 0} if c is not None else {})})


def _unchanged(fp: str, conn, s) -> bool:
    """The warehouse, the published snapshot and the reports are all built from ``fp`` already."""
    return (build_state.recorded(conn) == fp and build_state.of_database(s.snapshot) == fp
            and build_state.of_reports(s.reports_dir) == fp)


@dbt_assets(manifest=MANIFEST, dagster_dbt_translator=TRANSLATOR, name="dbt_models")
def dbt_models(context: dg.AssetExecutionContext, tradeflow: TradeflowResource):
    """``dbt build`` of the selected models and their tests; any error or failing test fails the step.

    A full refresh whose raw tables, code and parameters are those of the last build that was
    published and rendered builds nothing (``tradeflow.warehouse.build_state``): the models, the
    snapshot and the reports are skipped and an observation on the snapshot says so.
    """
    select, indirect = get_subset_selection_for_context(
        context, MANIFEST, select="fqn:*", exclude=None, selector=None, dagster_dbt_translator=TRANSLATOR,
        current_dbt_indirect_selection_env=None)
    s = tradeflow.settings()
    warehouse = Warehouse(s.database)
    with warehouse.locked():
        conn = connect(s.database)
        try:
            fp = build_state.fingerprint(conn, dbt_project.dbt_vars())
            was, warned = build_state.recorded(conn), build_state.failed_checks(conn)
            if not context.is_subset and not tradeflow.force and _unchanged(fp, conn, s):
                context.log_event(dg.AssetObservation(asset_key=SNAPSHOT, metadata={
                    "unchanged": True, "fingerprint": fp[:16],
                    "reason": "raw tables, code and parameters as at the last build: nothing rebuilt",
                    # the kept build's warnings still describe the data: the ledger lists them again
                    "failed_checks": dg.MetadataValue.json(warned)}))
                yield from _kept_verdicts(context, warned)
                return
            build_state.forget(conn)  # a build that fails or is cut off leaves no state
        finally:
            conn.close()
        # --force: a full rebuild, the batch-incremental models too (--full-refresh)
        result = dbt_project.build(s.home, select, env={"DBT_INDIRECT_SELECTION": indirect} if indirect else None,
                                   full_refresh=tradeflow.force)
        missing = undocumented_marts_columns(warehouse) if result.success else []
        if result.success and not missing and (not context.is_subset or was == fp):
            conn = connect(s.database)
            try:
                # a subset rebuilt from the same inputs keeps the state
                build_state.record(conn, fp, _failed_checks(result, warned if context.is_subset else []))
            finally:
                conn.close()
    selected_checks = set(context.selected_asset_check_keys)
    for node in result.nodes:
        if node.resource_type == "model" and node.status == "success" and node.unique_id in MANIFEST["nodes"]:
            yield dg.MaterializeResult(asset_key=_model_key(node.unique_id), metadata={"rows": node.rows, "seconds": node.seconds})
        elif node.resource_type == "test" and node.status in ("pass", "fail", "warn", "error"):
            key = _check_key(node.unique_id)
            if key is None or key not in selected_checks:
                continue
            yield dg.AssetCheckResult(
                asset_key=key.asset_key, check_name=key.name, passed=node.status == "pass",
                severity=dg.AssetCheckSeverity.WARN if node.status == "warn" else dg.AssetCheckSeverity.ERROR,
                description=None if node.status == "pass" else node.message,
                metadata={"failed_rows": node.failures or 0, "sample": node.sample})
    problems = result.problems()
    if problems or not result.success:
        raise WarehouseError(failure_message(problems, result.error))
    if missing:
        raise WarehouseError(f"undocumented marts columns (describe them in sql/models/marts/_schema.yml): {', '.join(missing)}")


@dg.asset(
    key=SNAPSHOT,
    deps=[_model_key(uid) for uid, node in MANIFEST["nodes"].items()
          if node["resource_type"] == "model" and node["schema"] == "marts"],
    group_name="warehouse",
    kinds={"duckdb"},
    description="Read-only copy of the warehouse that analysts and `tradeflow sql` open.",
)
def published_snapshot(tradeflow: TradeflowResource) -> dg.MaterializeResult:
    s = tradeflow.settings()
    path = publish(Warehouse(s.database), s.snapshot)
    return dg.MaterializeResult(metadata={"path": str(path), "bytes": path.stat().st_size})
