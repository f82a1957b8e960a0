-- Unit values (US$/kg) of Pakistan's main exports to China, only where the weight is reported, not estimated.
SELECT t.year, t.hs6, h.description,
       round(sum(value_usd) / nullif(sum(net_weight_kg), 0), 3) AS usd_per_kg
FROM marts.trade_flows t
LEFT JOIN marts.dim_hs h ON h.hs_version = t.hs_version AND h.code = t.hs6
WHERE freq = 'A' AND reporter = 'PAK' AND partner = 'CHN' AND flow = 'X' AND NOT net_weight_estimated
  AND t.hs6 IN ('740311', '520512', '100630', '120740')
GROUP BY ALL ORDER BY t.hs6, t.year;
