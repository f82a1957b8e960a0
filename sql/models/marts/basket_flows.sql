SELECT b.basket, min(b.label) AS label, t.reporter, t.partner, t.flow, t.year,
       {{ exact_sum('t.value_usd') }} AS value_usd, count(DISTINCT t.hs6_2017) AS hs6_lines, bool_or(t.is_sample) AS is_sample
FROM {{ ref('trade_flows_hs2017') }} AS t
JOIN (SELECT DISTINCT basket, label, hs_prefix FROM {{ source('raw', 'plan_baskets') }}) AS b ON starts_with(t.hs6_2017, b.hs_prefix)
WHERE t.freq = 'A' AND t.partner IN ('CHN', 'PAK') AND t.flow IN ('X', 'M')
GROUP BY b.basket, t.reporter, t.partner, t.flow, t.year
ORDER BY ALL
