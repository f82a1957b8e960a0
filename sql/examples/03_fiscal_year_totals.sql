-- Pakistan fiscal-year (July–June) totals as each side reports them, next to calendar years.
SELECT period_type, period_label, reporter, flow, round(value_usd / 1e9, 3) AS usd_bn, months, is_complete
FROM marts.trade_by_period
WHERE partner IN ('CHN', 'PAK') AND flow IN ('X', 'M')
ORDER BY period_type, period_start, reporter, flow;
