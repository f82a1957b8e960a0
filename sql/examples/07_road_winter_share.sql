-- Share of road-borne bilateral trade moving in December–March (Khunjerab closed until Dec 2024),
-- by season April–March; seasons that the data cover from April to March only.
WITH bounds AS (
    SELECT min(period_start) AS first, max(period_start) AS last FROM marts.trade_flows_by_mode
),
seasons AS (
    SELECT t.*, CASE WHEN month >= 4 THEN year ELSE year - 1 END AS season_from_april
    FROM marts.trade_flows_by_mode t
    WHERE mode = 'road'
)
SELECT season_from_april, reporter, flow,
       round(100 * coalesce(sum(value_usd) FILTER (month IN (12, 1, 2, 3)), 0) / sum(value_usd), 1) AS winter_pct
FROM seasons, bounds
WHERE make_date(season_from_april, 4, 1) >= date_trunc('month', bounds.first)
  AND make_date(season_from_april + 1, 3, 1) <= bounds.last
GROUP BY ALL
ORDER BY ALL;
