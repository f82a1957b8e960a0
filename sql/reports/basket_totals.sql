-- Plan sector baskets, exporter-reported bilateral exports by year, for the overview report.
SELECT year, label, reporter || '→' || partner AS direction, value_usd
FROM marts.basket_flows WHERE flow = 'X' ORDER BY year, label, direction
