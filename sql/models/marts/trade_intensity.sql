WITH pairs AS (SELECT * FROM (VALUES ('PAK', 'CHN'), ('CHN', 'PAK')) p(exporter, importer)),
totals AS (
    SELECT coalesce(c.iso3, t.reporter_iso) AS reporter, t.year, t.flow, {{ exact_sum('t.value_usd') }} AS v, bool_or(t.is_sample) AS s
    FROM {{ ref('comtrade_totals') }} AS t LEFT JOIN {{ ref('countries') }} AS c ON c.m49 = t.reporter_code
    WHERE t.freq = 'A' AND t.partner_code = 0 AND t.flow IN ('X', 'M')
    GROUP BY ALL
),
world AS (  -- the reporters' total imports; marts.world_coverage says how much of the year's world has reported
    SELECT year, {{ exact_sum('v') }} AS world_imports, count(DISTINCT reporter) AS reporters, bool_or(s) AS s
    FROM totals WHERE flow = 'M' GROUP BY year
),
coverage AS (SELECT * FROM {{ ref('world_coverage') }} WHERE flow = 'M'),
bilateral AS (
    SELECT reporter AS exporter, partner AS importer, year, {{ exact_sum('value_usd') }} AS v, bool_or(is_sample) AS s
    FROM {{ ref('trade_flows') }} WHERE freq = 'A' AND flow = 'X' GROUP BY ALL
),
-- a year the exporter published with no exports to the partner is an intensity of 0, not a missing year
reported AS (SELECT reporter AS exporter, year FROM {{ ref('reported_periods') }} WHERE freq = 'A'),
years AS (
    SELECT p.exporter, p.importer, tx.year, tx.v AS x_total, tm.v AS m_total, w.world_imports, w.reporters,
           tx.s OR tm.s OR w.s AS s, {{ world_seen('cov') }} AS world_seen,
           CASE WHEN NOT {{ world_seen('cov') }} THEN 'unavailable: ' || {{ world_unseen_reason('cov', "'imports'") }}
                ELSE 'ok' END AS world_status,
           CASE WHEN r.exporter IS NOT NULL THEN coalesce(b.v, 0) END AS bilateral_v, coalesce(b.s, false) AS b_s
    FROM pairs AS p
    JOIN totals AS tx ON tx.reporter = p.exporter AND tx.flow = 'X'
    JOIN totals AS tm ON tm.reporter = p.importer AND tm.flow = 'M' AND tm.year = tx.year
    JOIN world AS w ON w.year = tx.year
    LEFT JOIN coverage AS cov ON cov.year = tx.year
    LEFT JOIN reported AS r ON r.exporter = p.exporter AND r.year = tx.year
    LEFT JOIN bilateral AS b ON b.exporter = p.exporter AND b.importer = p.importer AND b.year = tx.year
)
SELECT exporter, importer, year,
       bilateral_v AS exports_to_partner_usd, x_total AS exporter_exports_world_usd,
       m_total AS partner_imports_world_usd, world_imports AS world_imports_usd, reporters AS world_reporters,
       -- a zero total is no share (NULL), never inf or NaN
       bilateral_v / nullif(x_total, 0) AS share_of_exports_to_partner,
       CASE WHEN world_seen THEN m_total / nullif(world_imports, 0) END AS partner_share_of_world_imports,
       CASE WHEN world_seen THEN (bilateral_v / nullif(x_total, 0)) / nullif(m_total / nullif(world_imports, 0), 0) END
           AS export_intensity,
       world_status,
       s OR b_s AS is_sample
FROM years
WHERE bilateral_v IS NOT NULL
ORDER BY exporter, year
