WITH f AS (
    SELECT * FROM {{ ref('trade_flows_hs2017') }}
    WHERE reporter IN ('CHN', 'PAK') AND partner IN ('CHN', 'PAK') AND reporter <> partner AND flow IN ('X', 'M')
),
x AS (
    SELECT reporter AS exporter, partner AS importer, freq, year, coalesce(month, 0) AS month0, hs6_2017 AS hs6,
           {{ exact_sum('value_usd') }} AS v, bool_or(is_sample) AS s, max(vintage) AS vintage
    FROM f WHERE flow = 'X' GROUP BY ALL
),
m AS (
    SELECT partner AS exporter, reporter AS importer, freq, year, coalesce(month, 0) AS month0, hs6_2017 AS hs6,
           {{ exact_sum('value_usd') }} AS v, bool_or(is_sample) AS s, max(vintage) AS vintage
    FROM f WHERE flow = 'M' GROUP BY ALL
),
j AS (
    SELECT exporter, importer, freq, year, nullif(month0, 0) AS month, hs6,
           coalesce(x.v, 0) AS exporter_fob_usd, coalesce(m.v, 0) AS importer_cif_usd,
           coalesce(x.s, false) OR coalesce(m.s, false) AS is_sample,
           greatest(x.vintage, m.vintage) AS vintage
    FROM x FULL OUTER JOIN m USING (exporter, importer, freq, year, month0, hs6)  -- month0: annual rows match too
),
factors AS (SELECT unnest({{ cif_fob_factors() }}) AS factor),
markers AS (
    SELECT min(event_date) FILTER (WHERE marker = 'ede') AS ede,
           min(event_date) FILTER (WHERE marker = 'cpfta_phase2_cuts') AS phase2
    FROM {{ ref('policy_markers') }}
)
SELECT
    exporter || '→' || importer AS direction,
    exporter, importer, freq, year, month,
    make_date(year, coalesce(month, 1), 1) AS period_start,
    hs6,
    substr(hs6, 1, 2) AS chapter,
    exporter_fob_usd,
    importer_cif_usd,
    factor AS cif_fob_factor,
    factor = {{ default_cif_fob_factor() }} AS is_default_factor,
    importer_cif_usd / factor AS importer_fob_usd,
    importer_cif_usd / factor - exporter_fob_usd AS gap_usd,
    CASE WHEN exporter_fob_usd > 0 THEN (importer_cif_usd / factor - exporter_fob_usd) / exporter_fob_usd END AS gap_ratio,
    CASE
        WHEN make_date(year, coalesce(month, 7), CASE WHEN month IS NULL THEN 1 ELSE 15 END) < markers.ede THEN 'before EDE'
        WHEN make_date(year, coalesce(month, 7), CASE WHEN month IS NULL THEN 1 ELSE 15 END) < markers.phase2
            THEN 'EDE, before Phase II'
        ELSE 'Phase II'
    END AS regime,
    vintage,
    is_sample
FROM j CROSS JOIN factors CROSS JOIN markers
ORDER BY ALL
