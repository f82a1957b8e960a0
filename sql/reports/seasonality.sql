-- Seasonal index by calendar month of Pakistan's exports to China, for the agro report.
SELECT basis, product_group, months_window, month, seasonal_index
FROM marts.seasonality_index WHERE reporter = 'PAK' AND flow = 'X'
ORDER BY basis, product_group, months_window, month
