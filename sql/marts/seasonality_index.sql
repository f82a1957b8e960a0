-- marts.seasonality_index: seasonal index by calendar month (ratio to a centred 2×12 moving
-- average; Census X-11 style, domain notes §4.11): T_t = (½Y_{t−6} + Y_{t−5} + … + Y_{t+5} + ½Y_{t+6}) / 12,
-- r_t = Y_t / T_t where T_t > 0, SI_m = mean of r_t over the months m, rescaled so Σ SI_m = 12.
-- Zero months are safe: the series is zero-filled, a zero month gives r = 0, a zero trend is
-- skipped. months_window: 'seasonal closure (to <last month of the seasonal regime>)', read from
-- the Khunjerab calendar (raw.khunjerab_months, khunjerab.yaml), or 'whole series'. basis and
-- product_group as in marts.khunjerab_indicators. is_sample: any month of the series is synthetic.
WITH rows AS (SELECT * FROM marts.monthly_by_basis),
series_keys AS (SELECT DISTINCT reporter, flow, basis, product_group FROM rows),
months AS (
    SELECT CAST(m AS DATE) AS period_start
    FROM range((SELECT min(period_start) FROM marts.trade_flows WHERE freq = 'M'),
               (SELECT max(period_start) FROM marts.trade_flows WHERE freq = 'M') + INTERVAL 1 MONTH, INTERVAL 1 MONTH) t(m)
),
closure_end AS (SELECT max(month_start) AS until FROM raw.khunjerab_months WHERE regime = 'seasonal_closure'),
windows AS (
    SELECT 'seasonal closure (to ' || strftime(until, '%b %Y') || ')' AS win, until FROM closure_end
    UNION ALL SELECT 'whole series', DATE '2100-01-01'
),
flags AS (SELECT reporter, flow, basis, product_group, bool_or(is_sample) AS is_sample FROM rows GROUP BY ALL),
grid AS (
    SELECT k.*, w.win, mo.period_start, coalesce(sum(r.value_usd), 0) AS y
    FROM series_keys AS k CROSS JOIN windows AS w
    JOIN months AS mo ON mo.period_start <= w.until
    LEFT JOIN rows AS r ON r.reporter = k.reporter AND r.flow = k.flow AND r.basis = k.basis
        AND r.product_group = k.product_group AND r.period_start = mo.period_start
    GROUP BY ALL
),
trend AS (
    SELECT *,
           (sum(y) OVER w13 - 0.5 * (lag(y, 6) OVER w + lead(y, 6) OVER w)) / 12 AS t,
           count(*) OVER w13 AS n13
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
    SELECT reporter, flow, basis, product_group, win, month, avg(r) AS si_raw, count(*) AS n_ratios
    FROM ratios GROUP BY ALL
)
SELECT reporter, flow, basis, product_group, win AS months_window, month,
       si_raw * 12 / sum(si_raw) OVER (PARTITION BY reporter, flow, basis, product_group, win) AS seasonal_index,
       n_ratios, f.is_sample
FROM raw_si JOIN flags AS f USING (reporter, flow, basis, product_group)
ORDER BY ALL
