-- A full build (lean_table), not batch_incremental: it reads staging.comtrade_flows through marts.hs_concordance,
-- whose weights come from the trade of every reporter and year (any revision can change them, and with them every
-- row here), and a reporter's rows key on its ISO3, which two M49 codes may share. It costs < 1 s at 5 M records.
-- depends_on: {{ ref('quality_gates') }}  (the staging quality gates block this model)
WITH off_basis AS (  -- reporter-years in an HS version with no conversion to HS2017 here (H3 = HS2007 and older):
    -- their codes are not HS2017 codes, so the reporter is left out of that year whole (products and total alike),
    -- which keeps every share x_k / X of the year on one basis
    SELECT DISTINCT reporter_code, year FROM {{ ref('comtrade_flows') }}
    WHERE freq = 'A' AND flow = 'X' AND partner_code = 0 AND mot_code = 0 AND classification NOT IN ('H4', 'H5', 'H6')
)
SELECT coalesce(c.iso3, s.reporter_iso) AS reporter, s.year,
       CASE WHEN s.classification IN ('H4', 'H6') THEN coalesce(k.to_code, s.hs6) ELSE s.hs6 END AS hs6,
       {{ exact_sum('s.value_usd * coalesce(k.weight, 1.0)') }} AS value_usd, bool_or(s.is_sample) AS is_sample
FROM {{ ref('comtrade_flows') }} AS s
LEFT JOIN {{ ref('countries') }} AS c ON c.m49 = s.reporter_code
LEFT JOIN {{ ref('hs_concordance') }} AS k
    ON k.from_version = {{ hs_version('s.classification') }} AND k.from_version <> 'HS2017'
   AND k.to_version = 'HS2017' AND k.from_code = s.hs6
ANTI JOIN off_basis AS o ON o.reporter_code = s.reporter_code AND o.year = s.year
WHERE s.freq = 'A' AND s.flow = 'X' AND s.partner_code = 0 AND s.mot_code = 0
GROUP BY ALL
UNION ALL
SELECT coalesce(c.iso3, t.reporter_iso), t.year, 'TOTAL', t.value_usd, t.is_sample
FROM {{ ref('comtrade_totals') }} AS t LEFT JOIN {{ ref('countries') }} AS c ON c.m49 = t.reporter_code
ANTI JOIN off_basis AS o ON o.reporter_code = t.reporter_code AND o.year = t.year
WHERE t.freq = 'A' AND t.flow = 'X' AND t.partner_code = 0
ORDER BY ALL
