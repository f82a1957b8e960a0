WITH f AS (
    SELECT * FROM {{ ref('trade_flows_hs2017') }}
    WHERE reporter IN ('CHN', 'PAK') AND partner IN ('CHN', 'PAK') AND reporter <> partner AND flow IN ('X', 'M')
),
x AS (
    SELECT reporter AS exporter, partner AS importer, freq, year, coalesce(month, 0) AS month0, hs6_2017 AS hs6,
           {{ exact_sum('value_usd') }} AS v, bool_or(is_sample) AS s, max(vintage) AS vintage
    FROM f WHERE flow = 'X' GROUP BY ALL
),
-- An importer's value is CIF unless the record says FOB (cifvalue null or 0, fobvalue given: Comtrade's primaryValue
-- takes CIF first, then FOB; Canada and Mexico compile imports FOB): only CIF values are divided by the factor.
m AS (
    SELECT partner AS exporter, reporter AS importer, freq, year, coalesce(month, 0) AS month0, hs6_2017 AS hs6,
           coalesce({{ exact_sum('value_usd', filter="valuation IS DISTINCT FROM 'FOB'") }}, 0) AS v,
           coalesce({{ exact_sum('value_usd', filter="valuation = 'FOB'") }}, 0) AS v_fob,
           bool_or(is_sample) AS s, max(vintage) AS vintage
    FROM f WHERE flow = 'M' GROUP BY ALL
),
-- Only periods both sides have published: a period one reporter has not released yet is not a 100 % gap.
reported AS (SELECT reporter, freq, year, coalesce(month, 0) AS month0 FROM {{ ref('reported_periods') }}),
j0 AS (
    SELECT exporter, importer, freq, year, month0, hs6,
           coalesce(x.v, 0) AS exporter_fob_usd, coalesce(m.v, 0) AS importer_cif_usd,
           coalesce(m.v_fob, 0) AS importer_reported_fob_usd,
           coalesce(x.s, false) OR coalesce(m.s, false) AS is_sample,
           greatest(x.vintage, m.vintage) AS vintage
    FROM x FULL OUTER JOIN m USING (exporter, importer, freq, year, month0, hs6)  -- month0: annual rows match too
),
j AS (
    SELECT j0.* EXCLUDE (month0), nullif(j0.month0, 0) AS month
    FROM j0
    SEMI JOIN reported AS re ON re.reporter = j0.exporter AND re.freq = j0.freq AND re.year = j0.year AND re.month0 = j0.month0
    SEMI JOIN reported AS ri ON ri.reporter = j0.importer AND ri.freq = j0.freq AND ri.year = j0.year AND ri.month0 = j0.month0
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
    importer_reported_fob_usd,
    factor AS cif_fob_factor,
    factor = {{ default_cif_fob_factor() }} AS is_default_factor,
    importer_cif_usd / factor + importer_reported_fob_usd AS importer_fob_usd,
    importer_cif_usd / factor + importer_reported_fob_usd - exporter_fob_usd AS gap_usd,
    CASE WHEN exporter_fob_usd > 0
         THEN (importer_cif_usd / factor + importer_reported_fob_usd - exporter_fob_usd) / exporter_fob_usd END AS gap_ratio,
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
