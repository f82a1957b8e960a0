WITH l AS (SELECT * FROM {{ ref('fta_tariff_lines') }}),
hs6 AS (
    SELECT importer, partner, year, hs6, {{ exact_avg('applied_pref_rate_pct') }} AS pref,
           {{ exact_avg('mfn_rate_pct') }} AS mfn, avg(CAST(is_zero AS INTEGER)) AS zero_share,
           avg(CAST(applied_pref_rate_pct < mfn_rate_pct AS INTEGER)) AS liberalised_share
    FROM l GROUP BY ALL
),
imports AS (
    SELECT reporter AS importer, partner, year, hs6_2017 AS hs6, {{ exact_sum('value_usd') }} AS v, bool_or(is_sample) AS s
    FROM {{ ref('trade_flows_hs2017') }}
    WHERE freq = 'A' AND flow = 'M' AND reporter IN ('CHN', 'PAK') AND partner IN ('CHN', 'PAK') AND reporter <> partner
    GROUP BY ALL
),
base AS (SELECT importer, partner, hs6, v, s FROM imports WHERE year = {{ var('base_year') }}),
base_total AS (SELECT importer, partner, {{ exact_sum('v') }} AS total FROM base GROUP BY ALL),
lines AS (
    SELECT importer, partner, year, count(*) AS lines_total, count(*) FILTER (WHERE is_zero) AS lines_zero,
           {{ exact_avg('applied_pref_rate_pct') }} AS avg_pref_simple_pct,
           {{ exact_avg('mfn_rate_pct') }} AS avg_mfn_simple_pct,
           bool_or(is_sample) AS is_sample
    FROM l GROUP BY ALL
),
next_zero AS (
    SELECT importer, year, count(*) FILTER (WHERE applied_pref_rate_pct > 0 AND next_rate = 0) AS lines_zero_next_jan
    FROM (SELECT importer, year, applied_pref_rate_pct,
                 lead(applied_pref_rate_pct) OVER (PARTITION BY importer, tariff_line ORDER BY year) AS next_rate FROM l)
    GROUP BY ALL
),
weighted AS (
    SELECT h.importer, h.year,
           {{ exact_sum('b.v * h.pref') }} / {{ exact_sum('b.v') }} AS avg_pref_weighted_pct,
           {{ exact_sum('b.v * h.mfn') }} / {{ exact_sum('b.v') }} AS avg_mfn_weighted_pct,
           {{ exact_sum('b.v * (h.mfn - h.pref)') }} / {{ exact_sum('b.v') }} AS margin_weighted_pp,
           {{ exact_sum('b.v * h.zero_share') }} / nullif(min(t.total), 0) AS trade_coverage_zero,
           {{ exact_sum('b.v') }} / nullif(min(t.total), 0) AS base_trade_in_schedule,
           bool_or(b.s) AS trade_sample
    FROM hs6 AS h JOIN base AS b USING (importer, partner, hs6) JOIN base_total AS t USING (importer, partner)
    GROUP BY ALL
),
util AS (
    SELECT h.importer, h.year,
           {{ exact_sum('i.v * h.liberalised_share') }} AS imports_liberalised_usd,
           {{ exact_sum('i.v * (1 - h.liberalised_share)') }} AS imports_not_liberalised_usd,
           bool_or(i.s) AS trade_sample
    FROM hs6 AS h JOIN imports AS i USING (importer, partner, year, hs6)
    GROUP BY ALL
)
SELECT
    l.importer, l.partner, l.year, l.year - 2020 AS schedule_year,
    l.lines_total, l.lines_zero, l.lines_zero / l.lines_total AS share_lines_zero,
    l.avg_pref_simple_pct, l.avg_mfn_simple_pct,
    w.avg_pref_weighted_pct, w.avg_mfn_weighted_pct, w.margin_weighted_pp,
    w.trade_coverage_zero,
    coalesce(n.lines_zero_next_jan, 0) AS lines_zero_next_jan,
    u.imports_liberalised_usd, u.imports_not_liberalised_usd,
    u.imports_liberalised_usd / nullif(coalesce(u.imports_liberalised_usd, 0) + coalesce(u.imports_not_liberalised_usd, 0), 0)
        AS share_imports_liberalised,
    {{ var('base_year') }} AS base_year,
    l.is_sample OR coalesce(w.trade_sample, false) OR coalesce(u.trade_sample, false) AS is_sample
FROM lines AS l
LEFT JOIN weighted AS w USING (importer, year)
LEFT JOIN next_zero AS n USING (importer, year)
LEFT JOIN util AS u USING (importer, year)
ORDER BY l.importer, l.year
