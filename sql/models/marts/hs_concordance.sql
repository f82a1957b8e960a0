-- depends_on: {{ ref('quality_gates') }}  (the staging quality gates block this model)
WITH conv AS (
    SELECT DISTINCT newer_version, newer_code, older_version, coalesce(older_conversion, older_code) AS older_code
    FROM {{ source('raw', 'hs_concordance') }}
    WHERE coalesce(older_conversion, older_code) IS NOT NULL
),
rel AS (
    SELECT newer_version, newer_code, older_version, older_code, max(relationship) AS relationship,
           bool_or(source = 'sample') AS seed_sample
    FROM {{ source('raw', 'hs_concordance') }} WHERE older_code IS NOT NULL GROUP BY ALL
),
flagged AS (
    SELECT c.*, coalesce(r.relationship, '?') AS relationship,
           coalesce(r.seed_sample, (SELECT bool_or(x.source = 'sample') FROM {{ source('raw', 'hs_concordance') }} x
                                    WHERE x.newer_version = c.newer_version AND x.older_version = c.older_version
                                      AND x.newer_code = c.newer_code)) AS seed_sample,
           coalesce(r.relationship IN ('1:n', 'n:n'), false)
           OR (SELECT count(*) FROM {{ source('raw', 'hs_concordance') }} x WHERE x.newer_version = c.newer_version
                 AND x.older_version = c.older_version AND x.newer_code = c.newer_code
                 AND x.older_code <> c.older_code) > 0
               AS ambiguous_pair
    FROM conv AS c LEFT JOIN rel AS r USING (newer_version, newer_code, older_version, older_code)
),
-- older codes no conversion reaches still map, through their correlation pairs
backward AS (
    SELECT newer_version, newer_code, older_version, older_code, relationship, ambiguous_pair, seed_sample FROM flagged
    UNION ALL
    SELECT r.newer_version, r.newer_code, r.older_version, r.older_code, r.relationship, true, r.seed_sample
    FROM rel AS r
    WHERE NOT EXISTS (SELECT 1 FROM conv AS c WHERE c.newer_version = r.newer_version
                        AND c.older_version = r.older_version AND c.older_code = r.older_code)
),
first_year AS (SELECT * FROM (VALUES ('HS2022', 2022, 'H6'), ('HS2017', 2017, 'H5')) t(version, year, classification)),
trade AS (
    SELECT y.version, s.hs6, {{ exact_sum('s.value_usd') }} AS v, bool_or(s.is_sample) AS s
    FROM {{ ref('comtrade_flows') }} AS s
    JOIN first_year AS y ON y.year = s.year AND y.classification = s.classification
    WHERE s.freq = 'A' AND s.partner_code = 0 AND s.mot_code = 0 AND s.flow IN ('X', 'M')
    GROUP BY ALL
),
split AS (
    SELECT b.*, t.v,
           count(*) OVER w AS n_targets,
           {{ exact_sum('coalesce(t.v, 0)', over='w') }} AS v_total,
           bool_or(coalesce(t.s, false)) OVER w AS trade_sample
    FROM backward AS b LEFT JOIN trade AS t ON t.version = b.newer_version AND t.hs6 = b.newer_code
    WINDOW w AS (PARTITION BY b.newer_version, b.older_version, b.older_code)
)
SELECT newer_version AS from_version, newer_code AS from_code, older_version AS to_version, older_code AS to_code,
       1.0 / count(*) OVER (PARTITION BY newer_version, older_version, newer_code) AS weight,
       CASE WHEN count(*) OVER (PARTITION BY newer_version, older_version, newer_code) = 1 THEN 'conversion'
            ELSE 'equal' END AS weight_method,
       relationship, ambiguous_pair AS is_ambiguous, seed_sample AS is_sample
FROM flagged
UNION ALL
SELECT older_version, older_code, newer_version, newer_code,
       CASE WHEN v_total > 0 THEN coalesce(v, 0) / v_total ELSE 1.0 / n_targets END,
       CASE WHEN n_targets = 1 THEN 'single' WHEN v_total > 0 THEN 'trade_' || right(newer_version, 4) ELSE 'equal' END,
       -- UNSD's label reads newer:older; read from the source (older) side, n:1 and 1:n swap
       CASE relationship WHEN 'n:1' THEN '1:n' WHEN '1:n' THEN 'n:1' ELSE relationship END,
       ambiguous_pair OR n_targets > 1,
       seed_sample OR (n_targets > 1 AND v_total > 0 AND trade_sample)
FROM split
ORDER BY from_version, from_code, to_version, to_code
