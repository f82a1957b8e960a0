-- Each side's products and its total from one source, so a covered share is never a share of another source's total:
-- the exporter's from marts.world_exports (HS2017 basis; a reporter-year left out there is left out here), the
-- importer's products from its own query (marts.trade_flows_hs2017) and its total only for a year that query
-- published (marts.reported_periods): the all-reporters TOTAL query alone would read every product as 0.
WITH pairs AS (SELECT * FROM (VALUES ('PAK', 'CHN'), ('CHN', 'PAK')) p(exporter, importer)),
totals AS (
    SELECT coalesce(c.iso3, t.reporter_iso) AS reporter, t.year, t.flow, {{ exact_sum('t.value_usd') }} AS v, bool_or(t.is_sample) AS s
    FROM {{ ref('comtrade_totals') }} AS t LEFT JOIN {{ ref('countries') }} AS c ON c.m49 = t.reporter_code
    SEMI JOIN {{ ref('reported_periods') }} AS r
        ON r.reporter = coalesce(c.iso3, t.reporter_iso) AND r.freq = 'A' AND r.year = t.year
    WHERE t.freq = 'A' AND t.partner_code = 0 AND t.flow = 'M'
    GROUP BY ALL
    UNION ALL
    SELECT reporter, year, 'X', {{ exact_sum('value_usd') }}, bool_or(is_sample)
    FROM {{ ref('world_exports') }} AS w
    SEMI JOIN ({{ complete_world_reporters(ref('world_exports')) }}) AS c USING (reporter, year)
    WHERE hs6 = 'TOTAL'
    GROUP BY ALL
),
x AS (
    SELECT reporter AS exporter, year, hs6, {{ exact_sum('value_usd') }} AS v, bool_or(is_sample) AS s
    FROM {{ ref('world_exports') }} WHERE hs6 <> 'TOTAL' GROUP BY ALL
),
m AS (
    SELECT reporter AS importer, year, hs6_2017 AS hs6, {{ exact_sum('value_usd') }} AS v, bool_or(is_sample) AS s
    FROM {{ ref('trade_flows_hs2017') }}
    WHERE partner = 'WLD' AND flow = 'M' AND freq = 'A' AND hs6_2017 IS NOT NULL GROUP BY ALL
),
years AS (
    SELECT p.exporter, p.importer, tx.year, tx.v AS x_total, tm.v AS m_total, tx.s OR tm.s AS s
    FROM pairs AS p
    JOIN totals AS tx ON tx.reporter = p.exporter AND tx.flow = 'X'
    JOIN totals AS tm ON tm.reporter = p.importer AND tm.flow = 'M' AND tm.year = tx.year
    WHERE tx.v > 0 AND tm.v > 0  -- shares of a zero total do not exist: no row (the build never fails on inf)
),
keys AS (
    SELECT y.exporter, y.importer, y.year, x.hs6 FROM years AS y JOIN x ON x.exporter = y.exporter AND x.year = y.year
    UNION
    SELECT y.exporter, y.importer, y.year, m.hs6 FROM years AS y JOIN m ON m.importer = y.importer AND m.year = y.year
),
products AS (
    SELECT y.exporter, y.importer, y.year, y.x_total, y.m_total, k.hs6,
           coalesce(x.v, 0) AS xv, coalesce(m.v, 0) AS mv,
           y.s OR coalesce(x.s, false) OR coalesce(m.s, false) AS s
    FROM years AS y
    LEFT JOIN keys AS k USING (exporter, importer, year)
    LEFT JOIN x ON x.exporter = y.exporter AND x.year = y.year AND x.hs6 = k.hs6
    LEFT JOIN m ON m.importer = y.importer AND m.year = y.year AND m.hs6 = k.hs6
),
sums AS (
    SELECT exporter, importer, year, min(x_total) AS x_total, min(m_total) AS m_total,
           count(hs6) FILTER (WHERE xv > 0 OR mv > 0) AS products,
           coalesce({{ exact_sum('abs(mv / m_total - xv / x_total)', scale=12) }}, 0) AS s_abs,
           -- where the importer's share exceeds the exporter's: the unseen exports can fill at most that much
           coalesce({{ exact_sum('greatest(mv / m_total - xv / x_total, 0)', scale=12) }}, 0) AS s_pos,
           coalesce({{ exact_sum('xv') }}, 0) / min(x_total) AS x_cov,
           coalesce({{ exact_sum('mv') }}, 0) / min(m_total) AS m_cov,
           bool_or(s) AS is_sample
    FROM products GROUP BY ALL
)
SELECT exporter, importer, year,
       -- the unseen parts of the totals (1 − covered share): as one product of their own (tc), in products apart from
       -- everything else (tc_lower, the least the index can be), or where they close the gaps (tc_upper, the most:
       -- min Σ_k |·| = 2·max(0, Σ_k max(m_k/M − x_k/X, 0) − unseen exports share))
       100 * (1 - 0.5 * (s_abs + abs((1 - m_cov) - (1 - x_cov)))) AS tc,
       100 * (1 - 0.5 * (s_abs + greatest(1 - m_cov, 0) + greatest(1 - x_cov, 0))) AS tc_lower,
       100 * (1 - greatest(0, s_pos - greatest(1 - x_cov, 0))) AS tc_upper,
       products, x_cov AS exports_covered_share, m_cov AS imports_covered_share,
       x_total AS exporter_exports_world_usd, m_total AS importer_imports_world_usd,
       is_sample
FROM sums
ORDER BY exporter, year
