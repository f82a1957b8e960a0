-- How much of each year's world the world-based indicators see, per flow: exports (X: marts.world_exports, RCA) and
-- imports (M: the reporters' total imports, trade intensity). A reporter is in a year's world when it has trade with
-- the World that year, by HS6 or in total (staging: the all-reporters queries and the pair's own). For exports it is
-- kept when world_exports has both its HS2017 products and its total (macro complete_world_reporters), and left
-- out otherwise (an HS version with no conversion to HS2017, a code marts.hs_concordance does not map, or
-- products without a total or the reverse); for imports every reporter with a total is kept. Its weight is its total,
-- else the sum of its HS6 lines.
-- Comtrade's years arrive reporter by reporter over a year or more, and some reporters skip years: a year is judged
-- against the reporters of its world years among the three before it (years the all-reporters TOTAL query loaded; the
-- pair's own queries carry no total), each weighted by its share of the latest of those it appears in. Those absent
-- from the year are not yet reported. A year three or more years older than the newest world year loaded is judged
-- complete (its reporters have had the time; one still absent has stopped reporting). A later year is judged only when
-- the world years loaded reach back to three years before it: else it is not judged (NULL), since a reporter absent
-- from every loaded year before it would never be expected.
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
    SELECT reporter, 'X' AS flow, year FROM ({{ complete_world_reporters(ref('world_exports')) }})
    UNION ALL
    SELECT reporter, flow, year FROM totals WHERE flow = 'M'
),
world_years AS (SELECT DISTINCT flow, year FROM totals),
shares AS (  -- each reporter's share of its world year
    SELECT r.reporter, r.flow, r.year,
           r.trade_usd / nullif({{ exact_sum('r.trade_usd', over='(PARTITION BY r.flow, r.year)') }}, 0) AS share
    FROM reporters AS r SEMI JOIN world_years AS w USING (flow, year)
),
years AS (SELECT DISTINCT flow, year FROM reporters),
base AS (  -- the world years among the three before each year
    SELECT y.flow, y.year, w.year AS base_year
    FROM years AS y JOIN world_years AS w ON w.flow = y.flow AND w.year BETWEEN y.year - 3 AND y.year - 1
),
expected AS (  -- the reporters of those years, at their share of the latest one they appear in
    SELECT b.flow, b.year, s.reporter, arg_max(s.share, s.year) AS share
    FROM base AS b JOIN shares AS s ON s.flow = b.flow AND s.year = b.base_year
    GROUP BY ALL
),
not_yet AS (
    SELECT e.flow, e.year, string_agg(e.reporter, ', ' ORDER BY e.reporter) AS reporters,
           {{ exact_sum('e.share', scale=12) }} AS share
    FROM expected AS e ANTI JOIN reporters AS r ON r.flow = e.flow AND r.year = e.year AND r.reporter = e.reporter
    GROUP BY ALL
),
judged AS (SELECT flow, year, max(base_year) AS base_year FROM base GROUP BY ALL),
span AS (SELECT flow, min(year) AS first, max(year) AS newest FROM world_years GROUP BY ALL),
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
       j.base_year AS judged_against,
       CASE WHEN p.year <= sp.newest - 3 THEN ''
            WHEN j.year IS NOT NULL AND sp.first <= p.year - 3 THEN coalesce(n.reporters, '') END AS not_yet_reported,
       CASE WHEN p.year <= sp.newest - 3 THEN 0
            WHEN j.year IS NOT NULL AND sp.first <= p.year - 3 THEN coalesce(n.share, 0) END AS not_yet_reported_share,
       p.is_sample
FROM per_year AS p
LEFT JOIN span AS sp USING (flow)
LEFT JOIN judged AS j USING (flow, year)
LEFT JOIN not_yet AS n USING (flow, year)
ORDER BY p.flow, p.year
