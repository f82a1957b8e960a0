-- raw.khunjerab_months: the Khunjerab–Sost calendar by month from src/tradeflow/green_channel/khunjerab.yaml.
SELECT CAST(month_start AS DATE) AS month_start, regime, status, note, source_url FROM khunjerab_frame
