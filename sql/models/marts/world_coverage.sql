-- How much of each year's world marts.world_exports holds. A reporter is in a year's world when it has exports to the
-- World that year, by HS6 or in total (staging: the all-reporters queries and the pair's own); it is kept when
-- world_exports has both its HS2017 products and its total, and left out otherwise (an HS version with no conversion to
-- HS2017, a code marts.hs_concordance does not map, or products without a total or the reverse). Its weight is its
-- total, else the sum of its HS6 lines. The world-based indicators (RCA in marts.fta_opportunities) say when the part
-- left out is too large to read them against.
WITH products AS (
    SELECT coalesce(c.iso3, s.reporter_iso) AS reporter, s.year, {{ exact_sum('s.value_usd') }} AS v,
           bool_or(s.is_sample) AS s
    FROM {{ ref('comtrade_flows') }} AS s LEFT JOIN {{ ref('countries') }} AS c ON c.m49 = s.reporter_code
    WHERE s.freq = 'A' AND s.flow = 'X' AND s.partner_code = 0 AND s.mot_code = 0
    GROUP BY ALL
),
totals AS (
    SELECT coalesce(c.iso3, t.reporter_iso) AS reporter, t.year, {{ exact_sum('t.value_usd') }} AS v,
           bool_or(t.is_sample) AS s
    FROM {{ ref('comtrade_totals') }} AS t LEFT JOIN {{ ref('countries') }} AS c ON c.m49 = t.reporter_code
    WHERE t.freq = 'A' AND t.flow = 'X' AND t.partner_code = 0
    GROUP BY ALL
),
reporters AS (
    SELECT reporter, year, coalesce(t.v, p.v) AS exports_usd, coalesce(t.s, false) OR coalesce(p.s, false) AS s
    FROM totals AS t FULL JOIN products AS p USING (reporter, year)
),
kept AS (
    SELECT reporter, year FROM {{ ref('world_exports') }}
    GROUP BY ALL HAVING bool_or(hs6 = 'TOTAL') AND bool_or(hs6 <> 'TOTAL')
)
SELECT r.year,
       count(*) AS reporters,
       count(k.reporter) AS reporters_kept,
       coalesce(string_agg(r.reporter, ', ' ORDER BY r.reporter) FILTER (WHERE k.reporter IS NULL), '') AS left_out,
       {{ exact_sum('r.exports_usd') }} AS world_exports_usd,
       coalesce({{ exact_sum('r.exports_usd', filter='k.reporter IS NULL') }}, 0) AS left_out_usd,
       coalesce({{ exact_sum('r.exports_usd', filter='k.reporter IS NULL') }}, 0)
           / nullif({{ exact_sum('r.exports_usd') }}, 0) AS left_out_share,
       bool_or(r.s) AS is_sample
FROM reporters AS r LEFT JOIN kept AS k USING (reporter, year)
GROUP BY r.year
ORDER BY r.year
