-- Agro is classed from the reported code itself (sql/macros/agro.sql), so a year whose reference list failed to
-- archive keeps its lines; the name comes from that version's list where it is there.
SELECT t.reporter, t.partner, t.flow, t.year, t.hs6, t.hs_version, min(h.description) AS description,
       {{ exact_sum('t.value_usd') }} AS value_usd,
       {{ exact_sum('t.value_usd') }}
           / nullif({{ exact_sum(exact_sum('t.value_usd'), over='(PARTITION BY t.reporter, t.partner, t.flow, t.year)') }}, 0)
           AS share_of_agro,
       rank() OVER (PARTITION BY t.reporter, t.partner, t.flow, t.year ORDER BY {{ exact_sum('t.value_usd') }} DESC, t.hs6) AS rank,
       {{ exact_sum('t.net_weight_kg', filter='NOT t.net_weight_estimated') }} AS net_weight_kg_reported,
       {{ exact_sum('t.value_usd', filter='NOT t.net_weight_estimated AND t.net_weight_kg > 0') }}
           / nullif({{ exact_sum('t.net_weight_kg', filter='NOT t.net_weight_estimated AND t.net_weight_kg > 0') }}, 0)
           AS usd_per_kg,
       bool_or(t.is_sample) AS is_sample
FROM {{ ref('trade_flows') }} AS t
LEFT JOIN {{ ref('dim_hs') }} AS h ON h.hs_version = t.hs_version AND h.code = t.hs6
WHERE t.freq = 'A' AND {{ is_agro('t.hs6') }} AND t.partner IN ('CHN', 'PAK') AND t.flow IN ('X', 'M')
GROUP BY t.reporter, t.partner, t.flow, t.year, t.hs6, t.hs_version
ORDER BY ALL
