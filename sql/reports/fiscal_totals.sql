-- Pakistan fiscal-year and calendar-year totals of the pair's trade, for the overview report.
SELECT period_type, period_label, reporter, flow, value_usd, months, is_complete
FROM marts.trade_by_period
WHERE partner IN ('CHN', 'PAK') AND flow IN ('X', 'M')
ORDER BY period_type, period_start, reporter, flow
