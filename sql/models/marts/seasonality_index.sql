WITH rows AS (SELECT * FROM {{ ref('monthly_by_basis') }}),
series_keys AS (SELECT DISTINCT reporter, flow, basis, product_group FROM rows),
months AS (
    SELECT CAST(m AS DATE) AS period_start
    FROM range((SELECT min(period_start) FROM {{ ref('trade_flows') }} WHERE freq = 'M'),
               (SELECT max(period_start) FROM {{ ref('trade_flows') }} WHERE freq = 'M') + INTERVAL 1 MONTH, INTERVAL 1 MONTH) t(m)
),
closure_end AS (SELECT max(month_start) AS until FROM {{ source('raw', 'khunjerab_months') }} WHERE regime = 'seasonal_closure'),
windows AS (
    SELECT 'seasonal closure (to ' || strftime(until, '%b %Y') || ')' AS win, until FROM closure_end
    UNION ALL SELECT 'whole series', DATE '2100-01-01'
),
flags AS (SELECT reporter, flow, basis, product_group, bool_or(is_sample) AS is_sample FROM rows GROUP BY ALL),
-- A month the reporter published (for the road basis: with its transport modes) and no trade is 0; a month it has not
-- published (yet) is NULL, and no 13-month window holding one gives a ratio.
reported AS (SELECT reporter, period_start, has_modes FROM {{ ref('reported_periods') }} WHERE freq = 'M'),
cells AS (
    SELECT k.*, w.win, mo.period_start, p.reporter IS NOT NULL AND (k.basis <> 'road' OR p.has_modes) AS is_reported,
           coalesce({{ exact_sum('r.value_usd') }}, 0) AS y0
    FROM series_keys AS k CROSS JOIN windows AS w
    JOIN months AS mo ON mo.period_start <= w.until
    LEFT JOIN reported AS p ON p.reporter = k.reporter AND p.period_start = mo.period_start
    LEFT JOIN rows AS r ON r.reporter = k.reporter AND r.flow = k.flow AND r.basis = k.basis
        AND r.product_group = k.product_group AND r.period_start = mo.period_start
    GROUP BY ALL
),
grid AS (SELECT * EXCLUDE (is_reported, y0), CASE WHEN is_reported THEN y0 END AS y FROM cells),
trend AS (
    SELECT *,
           ({{ exact_sum('y', over='w13') }} - 0.5 * (lag(y, 6) OVER w + lead(y, 6) OVER w)) / 12 AS t,
           count(y) OVER w13 AS n13
    FROM grid
    WINDOW w AS (PARTITION BY reporter, flow, basis, product_group, win ORDER BY period_start),
           w13 AS (PARTITION BY reporter, flow, basis, product_group, win ORDER BY period_start
                   ROWS BETWEEN 6 PRECEDING AND 6 FOLLOWING)
),
ratios AS (
    SELECT reporter, flow, basis, product_group, win, month(period_start) AS month, y / t AS r
    FROM trend WHERE n13 = 13 AND t > 0
),
raw_si AS (
    SELECT reporter, flow, basis, product_group, win, month, {{ exact_avg('r', scale=12) }} AS si_raw, count(*) AS n_ratios
    FROM ratios GROUP BY ALL
)
SELECT reporter, flow, basis, product_group, win AS months_window, month,
       si_raw * 12 / {{ exact_sum('si_raw', over='(PARTITION BY reporter, flow, basis, product_group, win)', scale=12) }} AS seasonal_index,
       n_ratios, f.is_sample
FROM raw_si JOIN flags AS f USING (reporter, flow, basis, product_group)
ORDER BY ALL
