-- A full build (lean_table), not batch_incremental: it reads staging.comtrade_flows through marts.hs_concordance,
-- whose weights come from the trade of every reporter and year (any revision can change them, and with them every
-- row here), and a reporter's rows key on its ISO3, which two M49 codes may share. It costs < 1 s at 5 M records.
-- depends_on: {{ ref('quality_gates') }}  (the staging quality gates block this model)
WITH off_basis AS (  -- reporter-years whose codes are not all HS2017 codes or convertible to them: an HS version with
    -- no conversion here (H3 = HS2007 and older), or an HS2012/HS2022 code marts.hs_concordance does not map (its UNSD
    -- table not archived, or lacking the code). The reporter is left out of that year whole (products and total
    -- alike), never with its codes read as HS2017 ones, which keeps every share x_k / X of the year on one basis
    SELECT DISTINCT s.reporter_code, s.year FROM {{ ref('comtrade_flows') }} AS s
    WHERE s.freq = 'A' AND s.flow = 'X' AND s.partner_code = 0 AND s.mot_code = 0
      AND (s.classification NOT IN ('H4', 'H5', 'H6')
           OR s.classification IN ('H4', 'H6') AND NOT EXISTS (
               SELECT 1 FROM {{ ref('hs_concordance') }} AS k
               WHERE k.from_version = {{ hs_version('s.classification') }} AND k.to_version = 'HS2017'
                 AND k.from_code = s.hs6))
)
SELECT coalesce(c.iso3, s.reporter_iso) AS reporter, s.year,
       CASE WHEN s.classification IN ('H4', 'H6') THEN k.to_code ELSE s.hs6 END AS hs6,
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
