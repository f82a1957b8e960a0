WITH monthly AS (
    SELECT reporter, partner, flow, year, month, {{ exact_sum('value_usd') }} AS value_usd, bool_or(is_sample) AS is_sample,
           max(vintage) AS vintage
    FROM {{ ref('trade_flows') }} WHERE freq = 'M' GROUP BY ALL
),
annual AS (
    SELECT reporter, partner, flow, year, {{ exact_sum('value_usd') }} AS value_usd, bool_or(is_sample) AS is_sample,
           max(vintage) AS vintage
    FROM {{ ref('trade_flows') }} WHERE freq = 'A' GROUP BY ALL
),
-- How much of a period is in is the reporter's published months (marts.reported_periods), not the months a flow
-- had trade in: a published month without re-exports is a zero in the sum, not a missing month.
published AS (
    SELECT reporter, year, count(*) AS months FROM {{ ref('reported_periods') }} WHERE freq = 'M' GROUP BY ALL
),
published_fiscal AS (
    SELECT reporter, year + CASE WHEN month >= 7 THEN 1 ELSE 0 END AS fy_end, count(*) AS months
    FROM {{ ref('reported_periods') }} WHERE freq = 'M' GROUP BY ALL
),
calendar_from_months AS (
    SELECT m.reporter, m.partner, m.flow, m.year, {{ exact_sum('m.value_usd') }} AS value_usd, any_value(p.months) AS months,
           bool_or(m.is_sample) AS is_sample, max(m.vintage) AS vintage
    FROM monthly AS m JOIN published AS p USING (reporter, year) GROUP BY ALL
),
fiscal AS (
    SELECT m.reporter, m.partner, m.flow, m.year + CASE WHEN m.month >= 7 THEN 1 ELSE 0 END AS fy_end,
           {{ exact_sum('m.value_usd') }} AS value_usd, any_value(p.months) AS months,
           bool_or(m.is_sample) AS is_sample, max(m.vintage) AS vintage
    FROM monthly AS m JOIN published_fiscal AS p
      ON p.reporter = m.reporter AND p.fy_end = m.year + CASE WHEN m.month >= 7 THEN 1 ELSE 0 END
    GROUP BY ALL
)
SELECT reporter, partner, flow, 'calendar' AS period_type, CAST(year AS VARCHAR) AS period_label,
       make_date(year, 1, 1) AS period_start, make_date(year, 12, 31) AS period_end,
       value_usd, 12 AS months, true AS is_complete, 'annual' AS basis, vintage, is_sample
FROM annual
UNION ALL
SELECT m.reporter, m.partner, m.flow, 'calendar', CAST(m.year AS VARCHAR), make_date(m.year, 1, 1), make_date(m.year, 12, 31),
       m.value_usd, m.months, m.months = 12, 'monthly', m.vintage, m.is_sample
FROM calendar_from_months AS m
ANTI JOIN annual AS a USING (reporter, partner, flow, year)
UNION ALL
SELECT reporter, partner, flow, 'fiscal', 'FY' || (fy_end - 1) || '-' || right(CAST(fy_end AS VARCHAR), 2),
       make_date(fy_end - 1, 7, 1), make_date(fy_end, 6, 30), value_usd, months, months = 12, 'monthly', vintage, is_sample
FROM fiscal
ORDER BY ALL
