WITH m AS (SELECT * FROM {{ ref('agro_monthly') }}),
y AS (
    SELECT reporter, partner, flow, year, {{ exact_sum('agro_usd') }} AS agro_usd,
           {{ exact_sum('perishable_usd') }} AS perishable_usd, {{ exact_sum('total_usd') }} AS total_usd,
           count(DISTINCT month) AS months, bool_or(is_sample) AS is_sample
    FROM m GROUP BY ALL
),
-- The previous year's agro trade in the months this year has: growth compares like with like, so a year with only
-- Jan–Mar reported is set against Jan–Mar of the year before, never against a whole year.
same_months AS (
    SELECT c.reporter, c.partner, c.flow, c.year, {{ exact_sum('p.agro_usd') }} AS prev_agro_usd, count(*) AS matched
    FROM m AS c JOIN m AS p
      ON p.reporter = c.reporter AND p.partner = c.partner AND p.flow = c.flow AND p.year = c.year - 1 AND p.month = c.month
    GROUP BY ALL
),
conc AS (
    SELECT reporter, partner, flow, year, {{ exact_sum('share_of_agro * share_of_agro', scale=12) }} AS hhi, count(*) AS agro_lines,
           min(hs6) FILTER (WHERE rank = 1) AS top_hs6, max(share_of_agro) AS top_share
    FROM {{ ref('agro_products') }} GROUP BY ALL
)
SELECT y.reporter, y.partner, y.flow, y.year, y.months, y.months = 12 AS is_complete,
       y.agro_usd, y.total_usd, y.agro_usd / y.total_usd AS agro_share,
       y.perishable_usd / nullif(y.agro_usd, 0) AS perishable_share_of_agro,
       c.hhi, c.agro_lines, c.top_hs6, c.top_share,
       CASE WHEN s.matched = y.months THEN y.agro_usd / nullif(s.prev_agro_usd, 0) - 1 END AS agro_growth,
       y.is_sample
FROM y
LEFT JOIN conc AS c USING (reporter, partner, flow, year)
LEFT JOIN same_months AS s USING (reporter, partner, flow, year)
ORDER BY ALL
