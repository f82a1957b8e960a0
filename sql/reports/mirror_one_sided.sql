-- Periods one reporter of the pair has published and the other not (yet), for the mirror-gap report: no mirror row
-- is drawn for them (marts.mirror_flows reads a period only where both sides published it).
WITH p AS (SELECT reporter, freq, year, coalesce(month, 0) AS month0 FROM marts.reported_periods)
SELECT freq, year, nullif(month0, 0) AS month, min(reporter) AS published_by
FROM p GROUP BY freq, year, month0 HAVING count(DISTINCT reporter) = 1
ORDER BY freq, year, month0
