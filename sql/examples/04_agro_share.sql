-- Agro share (WTO Agreement on Agriculture coverage) of Pakistan's exports to China, by year.
SELECT t.year,
       round(sum(value_usd) FILTER (h.is_agro) / 1e6, 1) AS agro_musd,
       round(sum(value_usd) / 1e6, 1) AS total_musd,
       round(100 * sum(value_usd) FILTER (h.is_agro) / sum(value_usd), 1) AS agro_pct
FROM marts.trade_flows t
JOIN marts.dim_hs h ON h.hs_version = t.hs_version AND h.code = t.hs6
WHERE freq = 'A' AND reporter = 'PAK' AND partner = 'CHN' AND flow = 'X'
GROUP BY t.year ORDER BY t.year;
