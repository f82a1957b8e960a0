WITH cal AS (SELECT *, CASE WHEN month(month_start) >= 4 THEN year(month_start) ELSE year(month_start) - 1 END AS season
        FROM {{ source('raw', 'khunjerab_months') }}),
first_year_round AS (SELECT min(month_start) AS d FROM {{ source('raw', 'khunjerab_months') }} WHERE regime = 'year_round'),
season_regime AS (
    SELECT season,
           CASE WHEN bool_and(regime = 'seasonal_closure') THEN 'before: closed Dec–Mar'
                WHEN bool_and(regime = 'year_round') THEN 'after: year-round (from ' || strftime((SELECT d FROM first_year_round), '%b %Y') || ')'
                ELSE 'transition' END AS regime
    FROM cal WHERE closure_month GROUP BY season
),
seasons AS (
    SELECT r.*, k.closure_month AS winter, CASE WHEN r.month >= 4 THEN r.year ELSE r.year - 1 END AS season
    FROM {{ ref('monthly_by_basis') }} AS r LEFT JOIN {{ source('raw', 'khunjerab_months') }} AS k ON k.month_start = r.period_start
),
-- The seasons (April–March) a reporter published every month of (for the road basis: with its transport modes).
complete AS (
    SELECT p.reporter, b.basis, CASE WHEN p.month >= 4 THEN p.year ELSE p.year - 1 END AS season
    FROM {{ ref('reported_periods') }} AS p CROSS JOIN (VALUES ('all_modes'), ('road')) AS b(basis)
    WHERE p.freq = 'M' AND (b.basis <> 'road' OR p.has_modes)
    GROUP BY ALL HAVING count(*) = 12
),
per_season AS (
    SELECT reporter, flow, basis, product_group, season,
           coalesce({{ exact_sum('value_usd', filter='winter') }}, 0) AS winter_usd,
           {{ exact_sum('value_usd') }} AS season_usd,
           bool_or(is_sample) AS is_sample
    FROM seasons SEMI JOIN complete USING (reporter, basis, season)
    GROUP BY ALL
)
SELECT p.reporter, p.flow, p.basis, p.product_group, s.regime,
       count(*) AS seasons, min(p.season) AS first_season, max(p.season) AS last_season,
       {{ exact_sum('p.winter_usd') }} / nullif({{ exact_sum('p.season_usd') }}, 0) AS winter_share,
       {{ exact_sum('p.winter_usd') }} / count(*) / (SELECT count(DISTINCT month(month_start)) FROM {{ source('raw', 'khunjerab_months') }} WHERE closure_month)
           AS avg_winter_month_usd,
       bool_or(p.is_sample) AS is_sample
FROM per_season AS p JOIN season_regime AS s USING (season)
GROUP BY ALL
ORDER BY ALL
