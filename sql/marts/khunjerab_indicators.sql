-- marts.khunjerab_indicators: how much bilateral trade moves in winter, by calendar year.
-- winter_share = trade in the seasonal closure's months (Dec–Mar: raw.khunjerab_months.closure_month,
-- from khunjerab.yaml) ÷ the year's total; months_with_trade counts months above zero.
-- basis and product_group as in marts.monthly_by_basis (road where the reporter publishes
-- transport modes, else all modes; agro or all products).
-- regime, read from the Khunjerab calendar (khunjerab.yaml): seasonal_closure when every winter
-- month of the year was under the seasonal closure, year_round when every one was year-round,
-- transition when they mix (2024: Jan–Mar closed, Dec year-round); null outside the calendar.
WITH monthly AS (
    SELECT b.reporter, b.partner, b.flow, b.basis, b.product_group, b.year, b.month, b.value_usd AS v, b.is_sample AS s,
           k.closure_month AS winter
    FROM marts.monthly_by_basis AS b LEFT JOIN raw.khunjerab_months AS k ON k.month_start = b.period_start
),
regimes AS (
    SELECT year(month_start) AS year,
           CASE WHEN bool_and(regime = 'seasonal_closure') THEN 'seasonal_closure'
                WHEN bool_and(regime = 'year_round') THEN 'year_round' ELSE 'transition' END AS regime
    FROM raw.khunjerab_months WHERE closure_month GROUP BY ALL
)
SELECT m.reporter, m.partner, m.flow, m.basis, m.product_group, m.year,
       sum(m.v) AS total_usd,
       coalesce(sum(m.v) FILTER (WHERE m.winter), 0) / nullif(sum(m.v), 0) AS winter_share,
       count(*) FILTER (WHERE m.v > 0) AS months_with_trade,
       count(DISTINCT m.month) AS months_reported,
       any_value(r.regime) AS regime,
       bool_or(m.s) AS is_sample
FROM monthly AS m LEFT JOIN regimes AS r USING (year)
GROUP BY m.reporter, m.partner, m.flow, m.basis, m.product_group, m.year
ORDER BY ALL
