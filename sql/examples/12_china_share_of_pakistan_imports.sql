-- China's share of Pakistan's imports of each product (Pakistan's records), latest year.
WITH y AS (SELECT max(year) AS y FROM marts.trade_flows WHERE freq = 'A' AND reporter = 'PAK')
SELECT hs6,
       round(sum(value_usd) FILTER (partner = 'CHN') / 1e6, 1) AS from_china_musd,
       round(sum(value_usd) FILTER (partner = 'WLD') / 1e6, 1) AS from_world_musd,
       round(100 * sum(value_usd) FILTER (partner = 'CHN') / nullif(sum(value_usd) FILTER (partner = 'WLD'), 0), 1) AS china_pct
FROM marts.trade_flows, y
WHERE freq = 'A' AND reporter = 'PAK' AND flow = 'M' AND year = y.y
GROUP BY hs6 ORDER BY from_china_musd DESC NULLS LAST LIMIT 20;
