-- marts.khunjerab_calendar: by month, whether road trade could cross Khunjerab–Sost: regime
-- (seasonal_closure under the 1985 agreement: closed 1 Dec–31 Mar, until Nov 2024; year_round
-- from 2 Dec 2024), status (open, closed, adhoc_opening, suspended) and the source of each entry; dates
-- from src/tradeflow/green_channel/khunjerab.yaml.
SELECT month_start, year(month_start) AS year, month(month_start) AS month, regime, status, note, source_url
FROM raw.khunjerab_months ORDER BY month_start
