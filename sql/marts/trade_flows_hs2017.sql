-- marts.trade_flows_hs2017: marts.trade_flows (all modes) expressed in HS2017, the vintage of the
-- CPFTA Phase-II schedules. HS2022 rows (2022 on) and HS2012 rows (Comtrade H4: 2012–2016) are
-- mapped through marts.hs_concordance (UNSD conversion and correlation tables; an HS2012 code
-- split in HS2017 is shared out by its weights); is_concorded is false where a code has no
-- mapping (then hs6_2017 is null).
SELECT
    t.reporter, t.partner, t.flow, t.freq, t.year, t.month, t.period_start,
    t.hs6 AS hs6_reported,
    t.hs_version AS hs_version_reported,
    CASE WHEN t.hs_version = 'HS2017' THEN t.hs6 ELSE c.to_code END AS hs6_2017,
    t.hs_version = 'HS2017' OR c.to_code IS NOT NULL AS is_concorded,
    coalesce(c.is_ambiguous, false) AS is_ambiguous,
    t.value_usd * coalesce(c.weight, 1.0) AS value_usd,
    t.net_weight_kg * coalesce(c.weight, 1.0) AS net_weight_kg,
    t.net_weight_estimated,
    t.vintage,
    t.is_sample
FROM marts.trade_flows AS t
LEFT JOIN marts.hs_concordance AS c
    ON t.hs_version <> 'HS2017' AND c.from_version = t.hs_version AND c.to_version = 'HS2017' AND c.from_code = t.hs6
ORDER BY ALL
