-- Re-exports kept apart: Pakistan's exports (X) and re-exports (RX) to China side by side, never summed.
SELECT year, flow, round(sum(value_usd) / 1e6, 2) AS musd
FROM marts.trade_flows
WHERE freq = 'A' AND reporter = 'PAK' AND partner = 'CHN' AND flow IN ('X', 'RX')
GROUP BY ALL ORDER BY year, flow;
