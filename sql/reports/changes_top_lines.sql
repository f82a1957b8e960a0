-- The $top largest HS6-line revisions (by absolute value) among vintages that arrived (were first fetched) at or
-- after $since; arrival: the start of the sitting they arrived in.
WITH arrivals AS (SELECT DISTINCT arrived_at, arrival FROM marts.period_changes),
names AS (SELECT code, any_value(description ORDER BY hs_version DESC) AS description FROM marts.dim_hs
          WHERE level = 6 GROUP BY code)
SELECT a.arrival, r.source, r.reporter, r.partner, r.flow, r.freq, r.period, r.hs6, n.description, r.line_change,
       r.previous_vintage, r.vintage, r.revision_usd, r.value_usd_before, r.value_usd
FROM marts.revisions r
JOIN arrivals a USING (arrived_at)
LEFT JOIN names n ON n.code = r.hs6
WHERE r.arrived_at >= $since
ORDER BY abs(r.revision_usd) DESC, a.arrival DESC, r.source, r.reporter, r.period, r.partner, r.flow, r.hs6
LIMIT $top
