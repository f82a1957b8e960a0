"""staging.quality_gates: the quality gates on staging.comtrade_flows, one row per gate.

A dbt Python model: the gates (tradeflow.quality.GATES, great-expectations-style expectations)
run inside DuckDB as one aggregate query. Its tests fail the build on a failed blocking gate
(dbt then skips every mart that reads the Comtrade flows) and warn on a failed warning gate.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    dbt.ref("comtrade_flows")
    dbt.ref("countries")
    dbt.source("raw", "reference_hs")
    from tradeflow.quality import gate_table

    return gate_table(session)
