-- Winter share before and after the Dec 2024 regime change, for the agro report.
SELECT reporter, flow, basis, product_group, regime, seasons, winter_share
FROM marts.khunjerab_before_after ORDER BY reporter, flow, basis, product_group, regime DESC
