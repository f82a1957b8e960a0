-- marts.hs_concordance: how to express HS6 trade of one version in the other, with weights
-- that sum to 1 per source code.
--   HS2022 → HS2017: the UNSD conversion target, weight 1.
--   HS2017 → HS2022: the HS2022 codes that convert into the HS2017 code. Weights are trade
--     weights (World trade of both reporters in the first HS2022 year, 2022) where that trade
--     exists, else equal shares; weight_method says which.
-- is_ambiguous: the UNSD correlation table marks the pair 1:n or n:n, or a split has several
-- targets. Source: UN Statistics Division HS2022–HS2017 conversion and correlation tables.
-- is_sample: the pair comes from the sample seed (not the UNSD table), or its trade weight was
-- computed from synthetic trade.
WITH conv AS (
    SELECT DISTINCT hs2022, coalesce(hs2017_conversion, hs2017) AS hs2017
    FROM raw.hs_concordance
    WHERE coalesce(hs2017_conversion, hs2017) IS NOT NULL
),
rel AS (
    SELECT hs2022, hs2017, max(relationship) AS relationship, bool_or(source = 'sample') AS seed_sample
    FROM raw.hs_concordance GROUP BY ALL
),
flagged AS (
    SELECT c.hs2022, c.hs2017, coalesce(r.relationship, '?') AS relationship,
           coalesce(r.seed_sample, (SELECT bool_or(source = 'sample') FROM raw.hs_concordance x WHERE x.hs2022 = c.hs2022))
               AS seed_sample,
           coalesce(r.relationship IN ('1:n', 'n:n'), false)
           OR (SELECT count(*) FROM raw.hs_concordance x WHERE x.hs2022 = c.hs2022 AND x.hs2017 <> c.hs2017) > 0
               AS ambiguous_pair
    FROM conv AS c LEFT JOIN rel AS r USING (hs2022, hs2017)
),
trade22 AS (
    SELECT hs6, sum(value_usd) AS v, bool_or(is_sample) AS s
    FROM staging.comtrade_flows
    WHERE year = 2022 AND freq = 'A' AND partner_code = 0 AND mot_code = 0 AND flow IN ('X', 'M')
    GROUP BY hs6
),
split AS (
    SELECT f.*, t.v,
           count(*) OVER (PARTITION BY f.hs2017) AS n_targets,
           sum(coalesce(t.v, 0)) OVER (PARTITION BY f.hs2017) AS v_total,
           bool_or(coalesce(t.s, false)) OVER (PARTITION BY f.hs2017) AS trade_sample
    FROM flagged AS f LEFT JOIN trade22 AS t ON t.hs6 = f.hs2022
)
SELECT 'HS2022' AS from_version, hs2022 AS from_code, 'HS2017' AS to_version, hs2017 AS to_code,
       1.0 AS weight, 'conversion' AS weight_method, relationship, ambiguous_pair AS is_ambiguous,
       seed_sample AS is_sample
FROM flagged
UNION ALL
SELECT 'HS2017', hs2017, 'HS2022', hs2022,
       CASE WHEN v_total > 0 THEN coalesce(v, 0) / v_total ELSE 1.0 / n_targets END,
       CASE WHEN n_targets = 1 THEN 'single' WHEN v_total > 0 THEN 'trade_2022' ELSE 'equal' END,
       relationship, ambiguous_pair OR n_targets > 1,
       seed_sample OR (n_targets > 1 AND v_total > 0 AND trade_sample)
FROM split
ORDER BY from_version, from_code, to_code
