-- How much of each year's world the world-based indicators see, per flow: exports (X: marts.world_exports, RCA) and
-- imports (M: the reporters' total imports, trade intensity). A reporter is in a year's world when it has trade with
-- the World that year, by HS6 or in total (staging: the all-reporters queries and the pair's own). For exports it is
-- kept when world_exports has both its HS2017 products and its total, and left out otherwise (an HS version with no
-- conversion to HS2017, a code marts.hs_concordance does not map, or products without a total or the reverse); for
-- imports every reporter with a total is kept. Its weight is its total, else the sum of its HS6 lines. Reporters of
-- the year before with no data for the year yet (Comtrade's years arrive reporter by reporter over a year or more)
-- are not yet reported, weighted by that year's trade.
WITH products AS (
    SELECT coalesce(c.iso3, s.reporter_iso) AS reporter, s.flow, s.year, {{ exact_sum('s.value_usd') }} AS v,
           bool_or(s.is_sample) AS s
    FROM {{ ref('comtrade_flows') }} AS s LEFT JOIN {{ ref('countries') }} AS c ON c.m49 = s.reporter_code
    WHERE s.freq = 'A' AND s.flow = 'X' AND s.partner_code = 0 AND s.mot_code = 0
    GROUP BY ALL
),
totals AS (
    SELECT coalesce(c.iso3, t.reporter_iso) AS reporter, t.flow, t.year, {{ exact_sum('t.value_usd') }} AS v,
           bool_or(t.is_sample) AS s
    FROM {{ ref('comtrade_totals') }} AS t LEFT JOIN {{ ref('countries') }} AS c ON c.m49 = t.reporter_code
    WHERE t.freq = 'A' AND t.flow IN ('X', 'M') AND t.partner_code = 0
    GROUP BY ALL
),
reporters AS (
    SELECT reporter, flow, year, coalesce(t.v, p.v) AS trade_usd, coalesce(t.s, false) OR coalesce(p.s, false) AS s
    FROM totals AS t FULL JOIN products AS p USING (reporter, flow, year)
),
kept AS (
    SELECT reporter, 'X' AS flow, year FROM {{ ref('world_exports') }}
    GROUP BY ALL HAVING bool_or(hs6 = 'TOTAL') AND bool_or(hs6 <> 'TOTAL')
    UNION ALL
    SELECT reporter, flow, year FROM totals WHERE flow = 'M'
),
years AS (SELECT DISTINCT flow, year FROM reporters),
not_yet AS (  -- the year before's reporters with nothing for this year yet, weighted by the year before
    SELECT y.flow, y.year, string_agg(b.reporter, ', ' ORDER BY b.reporter) AS reporters,
           {{ exact_sum('b.trade_usd') }} AS usd
    FROM years AS y JOIN reporters AS b ON b.flow = y.flow AND b.year = y.year - 1
    ANTI JOIN reporters AS r ON r.flow = y.flow AND r.year = y.year AND r.reporter = b.reporter
    GROUP BY ALL
),
before AS (SELECT flow, year + 1 AS year, {{ exact_sum('trade_usd') }} AS usd FROM reporters GROUP BY ALL),
per_year AS (
    SELECT r.flow, r.year,
           count(*) AS reporters,
           count(k.reporter) AS reporters_kept,
           coalesce(string_agg(r.reporter, ', ' ORDER BY r.reporter) FILTER (WHERE k.reporter IS NULL), '') AS left_out,
           {{ exact_sum('r.trade_usd') }} AS world_usd,
           coalesce({{ exact_sum('r.trade_usd', filter='k.reporter IS NULL') }}, 0) AS left_out_usd,
           bool_or(r.s) AS is_sample
    FROM reporters AS r LEFT JOIN kept AS k USING (reporter, flow, year)
    GROUP BY r.flow, r.year
)
SELECT p.flow, p.year, p.reporters, p.reporters_kept, p.left_out, p.world_usd, p.left_out_usd,
       p.left_out_usd / nullif(p.world_usd, 0) AS left_out_share,
       coalesce(n.reporters, '') AS not_yet_reported,
       coalesce(n.usd, 0) / nullif(b.usd, 0) AS not_yet_reported_share,
       p.is_sample
FROM per_year AS p
LEFT JOIN not_yet AS n USING (flow, year)
LEFT JOIN before AS b USING (flow, year)
ORDER BY p.flow, p.year
