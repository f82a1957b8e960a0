WITH road_or_land AS (
    SELECT * FROM {{ ref('trade_flows_by_mode') }}
    WHERE mot_code IN (3200, 3000) AND partner IN ('CHN', 'PAK')
    QUALIFY row_number() OVER (PARTITION BY reporter, partner, flow, period_start, hs6
                               ORDER BY mot_code = 3200 DESC) = 1
),
-- agro on the HS2017 basis in both (as marts.agro_monthly): a code reported in HS2012 or HS2022 takes the class of the
-- HS2017 code(s) it converts to, its value shared by the concordance weights, so a before/after across a reporter's
-- switch of HS version compares the same goods
road AS (
    SELECT m.reporter, m.partner, m.flow, 'road' AS basis, m.period_start,
           {{ is_agro("CASE WHEN m.hs_version = 'HS2017' THEN m.hs6 ELSE k.to_code END") }} AS is_agro,
           m.value_usd * coalesce(k.weight, 1.0) AS value_usd, m.is_sample
    FROM road_or_land AS m
    LEFT JOIN {{ ref('hs_concordance') }} AS k
        ON m.hs_version <> 'HS2017' AND k.from_version = m.hs_version AND k.to_version = 'HS2017' AND k.from_code = m.hs6
),
allm AS (
    SELECT t.reporter, t.partner, t.flow, 'all_modes', t.period_start, t.is_agro, t.value_usd, t.is_sample
    FROM {{ ref('trade_flows_hs2017') }} AS t
    WHERE t.freq = 'M' AND t.partner IN ('CHN', 'PAK') AND t.flow IN ('X', 'M')
),
rows AS (SELECT * FROM road UNION ALL SELECT * FROM allm)
SELECT reporter, partner, flow, basis, product_group, period_start, year(period_start) AS year,
       month(period_start) AS month, {{ exact_sum('value_usd') }} AS value_usd, bool_or(is_sample) AS is_sample
FROM (SELECT *, 'all' AS product_group FROM rows UNION ALL SELECT *, 'agro' FROM rows WHERE is_agro)
GROUP BY ALL
ORDER BY ALL
