-- marts.khunjerab_indicators: how much bilateral trade moves in winter, by calendar year.
-- winter_share = (Jan–Mar + Dec) ÷ the year's total; months_with_trade counts months above zero.
-- basis 'road' uses the reporter's road-borne flows (Comtrade motCode 3200; 3000 land where
-- road is not split out) where it publishes transport modes; 'all_modes' uses all flows (what is
-- left when a reporter does not publish modes). product_group: agro (is_agro) or all.
-- regime: seasonal_closure for years whose winter months were under the Dec–Mar closure,
-- year_round from 2025 (2024 mixes both: transition).
WITH road AS (
    SELECT m.reporter, m.partner, m.flow, m.year, m.month, 'road' AS basis, h.is_agro, m.value_usd, m.is_sample
    FROM marts.trade_flows_by_mode AS m
    LEFT JOIN marts.dim_hs AS h ON h.code = m.hs6 AND h.hs_version = CASE WHEN m.year >= 2022 THEN 'HS2022' ELSE 'HS2017' END
    WHERE m.mode IN ('road', 'land')
),
allm AS (
    SELECT t.reporter, t.partner, t.flow, t.year, t.month, 'all_modes' AS basis, h.is_agro, t.value_usd, t.is_sample
    FROM marts.trade_flows AS t LEFT JOIN marts.dim_hs AS h ON h.hs_version = t.hs_version AND h.code = t.hs6
    WHERE t.freq = 'M' AND t.partner IN ('CHN', 'PAK') AND t.flow IN ('X', 'M')
),
both_groups AS (
    SELECT *, 'all' AS product_group FROM (SELECT * FROM road UNION ALL SELECT * FROM allm)
    UNION ALL
    SELECT *, 'agro' FROM (SELECT * FROM road UNION ALL SELECT * FROM allm) WHERE is_agro
),
monthly AS (
    SELECT reporter, partner, flow, basis, product_group, year, month, sum(value_usd) AS v, bool_or(is_sample) AS s
    FROM both_groups GROUP BY ALL
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
