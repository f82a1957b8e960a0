WITH y AS (
    SELECT reporter, partner, flow, year, {{ exact_sum('agro_usd') }} AS agro_usd,
           {{ exact_sum('perishable_usd') }} AS perishable_usd, {{ exact_sum('total_usd') }} AS total_usd, bool_or(is_sample) AS is_sample
    FROM {{ ref('agro_monthly') }} GROUP BY ALL
),
conc AS (
    SELECT reporter, partner, flow, year, {{ exact_sum('share_of_agro * share_of_agro', scale=12) }} AS hhi, count(*) AS agro_lines,
           min(hs6) FILTER (WHERE rank = 1) AS top_hs6, max(share_of_agro) AS top_share
    FROM {{ ref('agro_products') }} GROUP BY ALL
)
SELECT y.reporter, y.partner, y.flow, y.year, y.agro_usd, y.total_usd, y.agro_usd / y.total_usd AS agro_share,
       y.perishable_usd / nullif(y.agro_usd, 0) AS perishable_share_of_agro,
       c.hhi, c.agro_lines, c.top_hs6, c.top_share,
       y.agro_usd / nullif(lag(y.agro_usd) OVER (PARTITION BY y.reporter, y.partner, y.flow ORDER BY y.year), 0) - 1
           AS agro_growth,
       y.is_sample
FROM y LEFT JOIN conc AS c USING (reporter, partner, flow, year)
ORDER BY ALL
