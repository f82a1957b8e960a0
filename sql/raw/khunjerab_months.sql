-- raw.khunjerab_months: the Khunjerab–Sost calendar by month from src/tradeflow/green_channel/khunjerab.yaml,
-- the one source of its dates: regime (seasonal_closure / year_round), status (open, closed,
-- adhoc_opening, suspended), closure_month (the month is one of the seasonal closure's months).
SELECT CAST(month_start AS DATE) AS month_start, regime, status, note, source_url,
       CAST(closure_month AS BOOLEAN) AS closure_month
FROM khunjerab_frame
