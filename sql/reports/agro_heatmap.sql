-- Pakistan's agro exports to China by product and month (the top 15 agro lines over the months shown), for the agro
-- report. On the HS2017 basis throughout (trade_flows_hs2017: its agro flag is classed from the HS2017 code itself,
-- so the lines are there even when the HS2017 reference list was never archived; names from dim_hs, else the code):
-- a product whose code changed in HS2022 is one line, not two, and each line is one row even where two share a name.
WITH pak AS (
    SELECT period_start, hs6_2017 AS hs6, value_usd FROM marts.trade_flows_hs2017
    WHERE reporter = 'PAK' AND partner = 'CHN' AND flow = 'X' AND freq = 'M' AND is_agro
),
names AS (SELECT code AS hs6, description FROM marts.dim_hs WHERE hs_version = 'HS2017' AND level = 6),
top AS (
    SELECT hs6, any_value(n.description) AS description
    FROM pak LEFT JOIN names AS n USING (hs6)
    GROUP BY hs6 ORDER BY sum(value_usd) DESC, hs6 LIMIT 15
)
SELECT p.period_start, p.hs6, coalesce(top.description || ' (' || p.hs6 || ')', 'HS ' || p.hs6) AS product,
       sum(p.value_usd) AS value_usd
FROM pak AS p JOIN top USING (hs6)
GROUP BY ALL ORDER BY product, p.period_start
