-- Exporter-reported bilateral exports by HS chapter and year (US$), for the overview report.
SELECT
    year,
    CASE reporter WHEN 'CHN' THEN 'China → Pakistan' ELSE 'Pakistan → China' END AS direction,
    substr(hs6, 1, 2) AS chapter,
    sum(value_usd) AS value_usd
FROM marts.trade_flows
WHERE freq = 'A' AND flow = 'X'
  AND reporter IN ('CHN', 'PAK') AND partner IN ('CHN', 'PAK') AND reporter <> partner
GROUP BY ALL
ORDER BY year, direction, chapter
