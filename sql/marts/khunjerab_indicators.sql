-- marts.khunjerab_indicators: how much bilateral trade moves in winter, by calendar year.
-- winter_share = (Jan–Mar + Dec) ÷ the year's total; months_with_trade counts months above zero.
-- basis and product_group as in marts.monthly_by_basis (road where the reporter publishes
-- transport modes, else all modes; agro or all products).
-- regime: seasonal_closure for years whose winter months were under the Dec–Mar closure,
-- year_round from 2025 (2024 mixes both: transition).
WITH monthly AS (
    SELECT reporter, partner, flow, basis, product_group, year, month, value_usd AS v, is_sample AS s
    FROM marts.monthly_by_basis
)
SELECT reporter, partner, flow, basis, product_group, year,
       sum(v) AS total_usd,
       coalesce(sum(v) FILTER (WHERE month IN (12, 1, 2, 3)), 0) / nullif(sum(v), 0) AS winter_share,
       count(*) FILTER (WHERE v > 0) AS months_with_trade,
       count(DISTINCT month) AS months_reported,
       CASE WHEN year <= 2023 THEN 'seasonal_closure' WHEN year = 2024 THEN 'transition' ELSE 'year_round' END AS regime,
       bool_or(s) AS is_sample
FROM monthly
GROUP BY ALL
ORDER BY ALL
