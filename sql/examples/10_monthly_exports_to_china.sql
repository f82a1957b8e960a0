-- Pakistan's exports to China month by month, as China records its imports (CIF) and as Pakistan records them (FOB).
SELECT period_start,
       round(sum(value_usd) FILTER (reporter = 'CHN' AND flow = 'M') / 1e6, 1) AS china_records_musd,
       round(sum(value_usd) FILTER (reporter = 'PAK' AND flow = 'X') / 1e6, 1) AS pakistan_records_musd
FROM marts.trade_flows
WHERE freq = 'M' AND reporter IN ('CHN', 'PAK') AND partner IN ('CHN', 'PAK')
GROUP BY period_start ORDER BY period_start;
