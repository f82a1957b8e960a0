-- Agro and perishable on one basis, HS2017 (marts.trade_flows_hs2017.is_agro), whatever version a month is reported in: a code
-- whose class changed with the nomenclature (HS2022 moved 2404.12/.92/.99, chapter 24 and agro, out of HS2017
-- 3824.99, chapter 38) counts alike before and after a reporter's switch, so shares and growth compare like with like.
-- Perishable agro only: fish is perishable but not agro (WTO AoA Annex 1), so it is in neither perishable_usd nor its share.
SELECT t.reporter, t.partner, t.flow, t.year, t.month, t.period_start,
       coalesce({{ exact_sum('t.value_usd', filter='t.is_agro') }}, 0) AS agro_usd,
       coalesce({{ exact_sum('t.value_usd', filter='t.is_agro AND t.is_perishable') }}, 0) AS perishable_usd,
       {{ exact_sum('t.value_usd') }} AS total_usd,
       coalesce({{ exact_sum('t.value_usd', filter='t.is_agro') }}, 0) / nullif({{ exact_sum('t.value_usd') }}, 0) AS agro_share,
       {{ exact_sum('t.value_usd', filter='t.is_agro AND t.is_perishable') }}
           / nullif({{ exact_sum('t.value_usd', filter='t.is_agro') }}, 0)
           AS perishable_share_of_agro,
       bool_or(t.is_sample) AS is_sample
FROM {{ ref('trade_flows_hs2017') }} AS t
WHERE t.freq = 'M' AND t.partner IN ('CHN', 'PAK') AND t.flow IN ('X', 'M')
GROUP BY ALL
ORDER BY ALL
