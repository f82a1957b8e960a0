-- Annual bilateral totals as each side reports them (US$), for the overview report.
-- Flows are never summed across codes: exports (X) and imports (M) only; RX/RM apart.
SELECT
    year,
    reporter,
    partner,
    flow,
    CASE
        WHEN reporter = 'CHN' AND flow = 'X' THEN 'China-reported exports to Pakistan (FOB)'
        WHEN reporter = 'PAK' AND flow = 'M' THEN 'Pakistan-reported imports from China (CIF)'
        WHEN reporter = 'PAK' AND flow = 'X' THEN 'Pakistan-reported exports to China (FOB)'
        WHEN reporter = 'CHN' AND flow = 'M' THEN 'China-reported imports from Pakistan (CIF)'
    END AS series,
    CASE WHEN (reporter = 'CHN' AND flow = 'X') OR (reporter = 'PAK' AND flow = 'M')
         THEN 'China → Pakistan' ELSE 'Pakistan → China' END AS direction,
    sum(value_usd) AS value_usd,
    bool_or(is_sample) AS is_sample,
    max(vintage) AS vintage
FROM marts.trade_flows
WHERE freq = 'A' AND flow IN ('X', 'M')
  AND reporter IN ('CHN', 'PAK') AND partner IN ('CHN', 'PAK') AND reporter <> partner
GROUP BY ALL
ORDER BY year, reporter, flow
