-- Pakistan's trade balance with China, each side's records (US$ bn).
SELECT year,
       round((sum(value_usd) FILTER (reporter = 'PAK' AND flow = 'X') - sum(value_usd) FILTER (reporter = 'PAK' AND flow = 'M')) / 1e9, 2)
           AS balance_pakistan_records_bn,
       round((sum(value_usd) FILTER (reporter = 'CHN' AND flow = 'M') - sum(value_usd) FILTER (reporter = 'CHN' AND flow = 'X')) / 1e9, 2)
           AS balance_china_records_bn
FROM marts.trade_flows
WHERE freq = 'A' AND reporter IN ('CHN', 'PAK') AND partner IN ('CHN', 'PAK')
GROUP BY year ORDER BY year;
