-- Pakistan's agro exports to China by product and month (top 15 agro lines overall), for the agro report.
WITH top AS (
    SELECT hs6, any_value(description) AS description FROM marts.agro_products
    WHERE reporter = 'PAK' AND partner = 'CHN' AND flow = 'X'
    GROUP BY hs6 ORDER BY sum(value_usd) DESC, hs6 LIMIT 15
)
SELECT t.period_start, t.hs6_2017 AS hs6, top.description, sum(t.value_usd) AS value_usd
FROM marts.trade_flows_hs2017 t JOIN top ON top.hs6 = t.hs6_2017
WHERE t.reporter = 'PAK' AND t.partner = 'CHN' AND t.flow = 'X' AND t.freq = 'M'
GROUP BY ALL ORDER BY top.description, t.period_start
