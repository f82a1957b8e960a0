"""Quality gates on staged data, with great-expectations 1.x (imported lazily: it is slow).

Blocking gates stop everything downstream (marts, snapshot, reports): null keys, negative
values, HS codes unknown for their declared version, duplicate keys, unknown country codes.
Warnings are reported but do not stop the run: months that do not sum to the annual figure,
and tenfold jumps against the previous year.

Grain checks (:func:`grain_check`) hold every table of every layer to its declared grain
(``tradeflow.warehouse.models.GRAIN``): one set-based DuckDB query per table, blocking.
"""

from __future__ import annotations

import functools
import itertools
import logging
from dataclasses import dataclass, field

import duckdb
import pandas as pd

_counter = itertools.count()
KEY = ["reporter_code", "partner_code", "flow", "freq", "year", "month", "hs6", "mot_code"]
#: Relative tolerance for months vs the annual figure, and the size below which jumps are ignored.
MONTHS_TOLERANCE = 0.01
JUMP_FLOOR_USD = 1_000_000


@dataclass
class GateResult:
    name: str
    blocking: bool
    passed: bool
    description: str
    failed_rows: int = 0
    sample: list = field(default_factory=list)
    statistics: dict = field(default_factory=dict)

    def metadata(self) -> dict:
        return {"failed_rows": self.failed_rows, "sample": [str(s) for s in self.sample[:10]], **self.statistics}


@functools.cache
def _context():
    """One ephemeral GX context per process, progress bars off."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _validate(df: pd.DataFrame, expectations: list, name: str):
    """Run GX expectations on a frame; returns the validation result."""
    import great_expectations as gx

    ctx = _context()
    name = f"{name}_{next(_counter)}"
    batch = (ctx.data_sources.add_pandas(f"{name}_source").add_dataframe_asset(name)
             .add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": df}))
    suite = gx.ExpectationSuite(name=f"{name}_suite", expectations=expectations)
    return batch.validate(suite, result_format="SUMMARY")


def _gate(name, blocking, description, df, expectations, sample_cols) -> GateResult:
    if df.empty:
        return GateResult(name, blocking, True, description, statistics={"evaluated_rows": 0})
    res = _validate(df, expectations, name)
    failed = 0
    sample: list = []
    for r in res.results:
        if not r.success:
            failed += int(r.result.get("unexpected_count") or 0) or len(r.result.get("partial_unexpected_list") or []) or 1
            sample += r.result.get("partial_unexpected_list") or []
    if not res.success and not sample and sample_cols:
        sample = df[sample_cols].head(5).to_dict("records")
    return GateResult(name, blocking, bool(res.success), description, failed, sample[:10],
                      {"evaluated_rows": len(df), "evaluated_expectations": res.statistics["evaluated_expectations"],
                       "successful_expectations": res.statistics["successful_expectations"]})


def staging_gates(conn: duckdb.DuckDBPyConnection) -> list[GateResult]:
    """Every gate on ``staging.comtrade_flows`` (blocking first)."""
    import great_expectations.expectations as gxe

    # hs_known: does the code exist in the HS version the record declares (reference lists or sample codes)?
    flows = conn.execute("""
        SELECT s.*, r.code IS NOT NULL AS hs_known
        FROM staging.comtrade_flows s
        LEFT JOIN (SELECT DISTINCT classification, code FROM raw.reference_hs) r
            ON r.classification = s.classification AND r.code = s.hs6""").df()
    countries = [int(c) for (c,) in conn.execute("SELECT m49 FROM staging.countries").fetchall()]
    gates = [
        _gate("null_keys", True, "Key columns are never null",
              flows, [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in KEY if c != "month"], KEY),
        _gate("negative_values", True, "Values, weights and quantities are never negative",
              flows, [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0)
                      for c in ("value_usd", "net_weight_kg", "quantity")], KEY + ["value_usd"]),
        _gate("unknown_hs_codes", True, "Every HS6 code exists in the HS version its record declares",
              flows, [gxe.ExpectColumnValuesToBeInSet(column="hs_known", value_set=[True])], ["hs6", "classification"]),
        _gate("duplicate_keys", True, "One record per reporter, partner, flow, period, HS6 and mode",
              flows.assign(month=flows["month"].fillna(0)), [gxe.ExpectCompoundColumnsToBeUnique(column_list=KEY)], KEY),
        _gate("unknown_country_codes", True, "Reporter and partner codes are known M49 codes",
              flows, [gxe.ExpectColumnValuesToBeInSet(column=c, value_set=countries)
                      for c in ("reporter_code", "partner_code")], ["reporter_code", "partner_code"]),
    ]
    unknown = flows.loc[~flows["hs_known"], ["classification", "hs6"]].drop_duplicates()
    if not unknown.empty:
        # a version with no list at all cannot be checked: say so once, rather than list its codes
        listed = {c for (c,) in conn.execute("SELECT DISTINCT classification FROM raw.reference_hs").fetchall()}
        unlisted = sorted(set(unknown["classification"]) - listed)
        gates[2].sample = [f"{c}: no reference list (comtradeapi.un.org/files/v1/app/reference/{c}.json) archived or readable"
                           for c in unlisted]
        codes = unknown[unknown["classification"].isin(listed)]
        gates[2].sample = (gates[2].sample + (codes["classification"] + ":" + codes["hs6"]).tolist())[:10]
    months = conn.execute("""
        WITH a AS (SELECT reporter_code, partner_code, flow, year, hs6, value_usd FROM staging.comtrade_flows
                   WHERE freq = 'A' AND mot_code = 0),
             m AS (SELECT reporter_code, partner_code, flow, year, hs6, sum(value_usd) AS months_usd, count(*) AS n
                   FROM staging.comtrade_flows WHERE freq = 'M' AND mot_code = 0 GROUP BY ALL)
        SELECT a.*, m.months_usd, abs(m.months_usd - a.value_usd) / nullif(a.value_usd, 0) AS rel_diff
        FROM a JOIN m USING (reporter_code, partner_code, flow, year, hs6) WHERE m.n = 12""").df()
    jumps = conn.execute(f"""
        SELECT reporter_code, partner_code, flow, hs6, year, value_usd,
               value_usd / lag(value_usd) OVER w AS ratio
        FROM staging.comtrade_flows WHERE freq = 'A' AND mot_code = 0
        WINDOW w AS (PARTITION BY reporter_code, partner_code, flow, hs6 ORDER BY year)
        QUALIFY lag(year) OVER w = year - 1 AND greatest(value_usd, lag(value_usd) OVER w) >= {JUMP_FLOOR_USD}""").df()
    gates += [
        _gate("months_sum_to_annual", False, f"The twelve months sum to the annual figure within {MONTHS_TOLERANCE:.0%}",
              months.dropna(subset=["rel_diff"]),
              [gxe.ExpectColumnValuesToBeBetween(column="rel_diff", max_value=MONTHS_TOLERANCE)],
              ["reporter_code", "flow", "year", "hs6"]),
        _gate("tenfold_jump", False, "No line moves more than tenfold against the previous year (lines ≥ US$1m)",
              jumps.dropna(subset=["ratio"]),
              [gxe.ExpectColumnValuesToBeBetween(column="ratio", min_value=0.1, max_value=10)],
              ["reporter_code", "flow", "hs6", "year"]),
    ]
    return gates


def grain_check(conn: duckdb.DuckDBPyConnection, table: str, grain: list[str], samples: int = 5) -> GateResult:
    """Blocking: at most one row of ``table`` per ``grain`` (one GROUP BY … HAVING count(*) > 1 query).

    Only a few duplicated keys are fetched, with the number of duplicated keys and of surplus rows.
    """
    keys = ", ".join(f'"{c}"' for c in grain)
    description = f"One row per {', '.join(grain)} in {table}"
    rows = conn.execute(f"""
        SELECT count(*) OVER () AS dup_keys, sum(n - 1) OVER () AS surplus, {keys}, n
        FROM (SELECT {keys}, count(*) AS n FROM {table} GROUP BY {keys} HAVING count(*) > 1)
        ORDER BY n DESC, {keys}
        LIMIT {int(samples)}""").fetchall()
    if not rows:
        return GateResult("grain", True, True, description, statistics={"table": table, "grain": ", ".join(grain)})
    dup_keys, surplus = rows[0][0], int(rows[0][1])
    sample = [", ".join(f"{c}={v}" for c, v in zip(grain, r[2:-1])) + f" ×{r[-1]}" for r in rows]
    return GateResult("grain", True, False,
                      f"{table}: {dup_keys} key(s) of grain ({', '.join(grain)}) hold more than one row "
                      f"({surplus} surplus row(s)): a duplicate or a join that fans out",
                      failed_rows=surplus, sample=sample, statistics={"table": table, "grain": ", ".join(grain)})
