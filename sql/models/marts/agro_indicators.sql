WITH m AS (SELECT * FROM {{ ref('agro_monthly') }}),
y AS (
    SELECT reporter, partner, flow, year, {{ exact_sum('agro_usd') }} AS agro_usd,
           {{ exact_sum('perishable_usd') }} AS perishable_usd, {{ exact_sum('total_usd') }} AS total_usd,
           count(DISTINCT month) AS months, bool_or(is_sample) AS is_sample
    FROM m GROUP BY ALL
),
-- The previous year's agro trade in the months this year has: growth compares like with like, so a year with only
-- Jan–Mar reported is set against Jan–Mar of the year before, never against a whole year.
same_months AS (
    SELECT c.reporter, c.partner, c.flow, c.year, {{ exact_sum('p.agro_usd') }} AS prev_agro_usd, count(*) AS matched
    FROM m AS c JOIN m AS p
      ON p.reporter = c.reporter AND p.partner = c.partner AND p.flow = c.flow AND p.year = c.year - 1 AND p.month = c.month
    GROUP BY ALL
),
-- Concentration on the same basis as the values (HS2017 lines, as marts.agro_monthly): the agro lines of the months
-- the year has (a year with only Jan–Mar reported, or one with no annual record yet, is described by its months,
-- never by another basis)
lines AS (
    SELECT t.reporter, t.partner, t.flow, t.year, t.hs6_2017 AS hs6, {{ exact_sum('t.value_usd') }} AS v
    FROM {{ ref('trade_flows_hs2017') }} AS t
    WHERE t.freq = 'M' AND t.is_agro AND t.partner IN ('CHN', 'PAK') AND t.flow IN ('X', 'M')
    GROUP BY ALL
),
shares AS (
    SELECT *, v / nullif({{ exact_sum('v', over='(PARTITION BY reporter, partner, flow, year)') }}, 0) AS s,
           row_number() OVER (PARTITION BY reporter, partner, flow, year ORDER BY v DESC, hs6) AS rank
    FROM lines
),
conc AS (
    SELECT reporter, partner, flow, year, {{ exact_sum('s * s', scale=12) }} AS hhi, count(*) AS agro_lines,
           min(hs6) FILTER (WHERE rank = 1) AS top_hs6, max(s) AS top_share
    FROM shares GROUP BY ALL
)
SELECT y.reporter, y.partner, y.flow, y.year, y.months, y.months = 12 AS is_complete,
       y.agro_usd, y.total_usd, y.agro_usd / nullif(y.total_usd, 0) AS agro_share,
       y.perishable_usd / nullif(y.agro_usd, 0) AS perishable_share_of_agro,
       c.hhi, c.agro_lines, c.top_hs6, c.top_share,
       CASE WHEN s.matched = y.months THEN y.agro_usd / nullif(s.prev_agro_usd, 0) - 1 END AS agro_growth,
       y.is_sample
FROM y
LEFT JOIN conc AS c USING (reporter, partner, flow, year)
LEFT JOIN same_months AS s USING (reporter, partner, flow, year)
ORDER BY ALL
