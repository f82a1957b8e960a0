WITH monthly AS (
    SELECT b.reporter, b.partner, b.flow, b.basis, b.product_group, b.year, b.month, b.value_usd AS v, b.is_sample AS s,
           k.closure_month AS winter
    FROM {{ ref('monthly_by_basis') }} AS b LEFT JOIN {{ source('raw', 'khunjerab_months') }} AS k ON k.month_start = b.period_start
),
regimes AS (
    SELECT year(month_start) AS year,
           CASE WHEN bool_and(regime = 'seasonal_closure') THEN 'seasonal_closure'
                WHEN bool_and(regime = 'year_round') THEN 'year_round' ELSE 'transition' END AS regime
    FROM {{ source('raw', 'khunjerab_months') }} WHERE closure_month GROUP BY ALL
)
SELECT m.reporter, m.partner, m.flow, m.basis, m.product_group, m.year,
       {{ exact_sum('m.v') }} AS total_usd,
       coalesce({{ exact_sum('m.v', filter='m.winter') }}, 0) / nullif({{ exact_sum('m.v') }}, 0) AS winter_share,
       count(*) FILTER (WHERE m.v > 0) AS months_with_trade,
       count(DISTINCT m.month) AS months_reported,
       min(r.regime) AS regime,
       bool_or(m.s) AS is_sample
FROM monthly AS m LEFT JOIN regimes AS r USING (year)
GROUP BY m.reporter, m.partner, m.flow, m.basis, m.product_group, m.year
ORDER BY ALL
