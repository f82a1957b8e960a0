WITH pairs AS (SELECT * FROM (VALUES ('PAK', 'CHN'), ('CHN', 'PAK')) p(exporter, importer)),
totals AS (
    SELECT coalesce(c.iso3, t.reporter_iso) AS reporter, t.year, t.flow, {{ exact_sum('t.value_usd') }} AS v, bool_or(t.is_sample) AS s
    FROM {{ ref('comtrade_totals') }} AS t LEFT JOIN {{ ref('countries') }} AS c ON c.m49 = t.reporter_code
    WHERE t.freq = 'A' AND t.partner_code = 0 AND t.flow IN ('X', 'M')
    GROUP BY ALL
),
world AS (
    SELECT year, {{ exact_sum('v') }} AS world_imports, count(DISTINCT reporter) AS reporters, bool_or(s) AS s
    FROM totals WHERE flow = 'M' GROUP BY year
),
bilateral AS (
    SELECT reporter AS exporter, partner AS importer, year, {{ exact_sum('value_usd') }} AS v, bool_or(is_sample) AS s
    FROM {{ ref('trade_flows') }} WHERE freq = 'A' AND flow = 'X' GROUP BY ALL
)
SELECT p.exporter, p.importer, b.year,
       b.v AS exports_to_partner_usd, tx.v AS exporter_exports_world_usd,
       tm.v AS partner_imports_world_usd, w.world_imports AS world_imports_usd, w.reporters AS world_reporters,
       b.v / tx.v AS share_of_exports_to_partner, tm.v / w.world_imports AS partner_share_of_world_imports,
       (b.v / tx.v) / (tm.v / w.world_imports) AS export_intensity,
       b.s OR tx.s OR tm.s OR w.s AS is_sample
FROM pairs AS p
JOIN bilateral AS b USING (exporter, importer)
JOIN totals AS tx ON tx.reporter = p.exporter AND tx.flow = 'X' AND tx.year = b.year
JOIN totals AS tm ON tm.reporter = p.importer AND tm.flow = 'M' AND tm.year = b.year
JOIN world AS w ON w.year = b.year
ORDER BY p.exporter, b.year
