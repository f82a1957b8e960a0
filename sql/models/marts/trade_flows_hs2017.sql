SELECT
    t.reporter, t.partner, t.flow, t.freq, t.year, t.month, t.period_start,
    t.hs6 AS hs6_reported,
    t.hs_version AS hs_version_reported,
    CASE WHEN t.hs_version = 'HS2017' THEN t.hs6 ELSE c.to_code END AS hs6_2017,
    -- never NULL: a code of an unknown version (NULL) is not concorded, and hs2017_mapped names it
    coalesce(t.hs_version = 'HS2017', false) OR c.to_code IS NOT NULL AS is_concorded,
    coalesce(c.is_ambiguous, false) AS is_ambiguous,
    -- agro and perishable by the HS2017 code above (sql/macros/agro.sql): one class for the same goods in every year
    {{ is_agro('hs6_2017') }} AS is_agro,
    {{ is_perishable('hs6_2017') }} AS is_perishable,
    t.value_usd * coalesce(c.weight, 1.0) AS value_usd,
    t.net_weight_kg * coalesce(c.weight, 1.0) AS net_weight_kg,
    t.net_weight_estimated,
    -- by the value given: Comtrade sends the unused valuation as null, or as 0 (a monthly preview's FOB record carries
    -- cifvalue 0 beside its fobvalue); a record whose values are all 0 or null is valued as its non-null field says
    CASE WHEN t.cif_usd > 0 THEN 'CIF' WHEN t.fob_usd > 0 THEN 'FOB'
         WHEN t.cif_usd IS NOT NULL THEN 'CIF' WHEN t.fob_usd IS NOT NULL THEN 'FOB' END AS valuation,
    t.vintage,
    t.is_sample
FROM {{ ref('trade_flows') }} AS t
LEFT JOIN {{ ref('hs_concordance') }} AS c
    ON t.hs_version <> 'HS2017' AND c.from_version = t.hs_version AND c.to_version = 'HS2017' AND c.from_code = t.hs6
ORDER BY ALL
