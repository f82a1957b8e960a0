"""marts.goals: Goals of the action plan tracked by tradeflow (goals.yaml, plus one trend goal per plan basket): target, source, whether any input is synthetic.

A dbt Python model: the metric SQL of each goal is configuration (goals.yaml), so it runs here,
over the marts listed below (tradeflow.green_channel.goals.GOAL_INPUTS; dbt orders this model after them).
"""


def model(dbt, session):
    dbt.config(materialized="table")
    dbt.source("raw", "plan_baskets")
    for _ in (dbt.ref("basket_flows"), dbt.ref("dim_hs"), dbt.ref("fta_tariff_lines"), dbt.ref("khunjerab_indicators"),
              dbt.ref("mirror_flows"), dbt.ref("trade_flows"), dbt.ref("trade_flows_hs2017"), dbt.ref("world_exports")):
        pass
    from tradeflow.green_channel.goals import goal_table

    return goal_table(session, "goals")
