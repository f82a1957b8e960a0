-- Why the CPFTA page's untapped-lines table may be empty: the annual years each side has published towards the World
-- (Pakistan's exports, China's imports; the opportunities are ranked on the latest year both have). One row per
-- side; years as a sorted list (report/cpfta.py asks the schedule itself).
SELECT side, coalesce(list(DISTINCT year ORDER BY year) FILTER (WHERE year IS NOT NULL), []) AS years
FROM (SELECT 'PAK' AS side UNION ALL SELECT 'CHN') AS s
LEFT JOIN marts.trade_flows_hs2017 AS t
    ON t.freq = 'A' AND t.partner = 'WLD' AND t.reporter = s.side AND t.flow = CASE s.side WHEN 'PAK' THEN 'X' ELSE 'M' END
GROUP BY side ORDER BY side DESC
