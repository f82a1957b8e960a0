-- raw.plan_baskets: plan sector baskets (src/tradeflow/green_channel/baskets.yaml), one row per HS prefix.
SELECT basket, label, rationale, hs_prefix FROM baskets_frame
