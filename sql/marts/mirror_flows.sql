-- marts.mirror_flows: each direction (CHN→PAK, PAK→CHN) per period and HS6 (HS2017 basis), the
-- exporter-reported value (FOB) beside the importer-reported value (CIF) and the importer's
-- value converted to FOB with a CIF/FOB factor: importer_fob = importer_cif / factor.
-- gap_usd = importer_fob − exporter_fob; gap_ratio = gap_usd / exporter_fob (negative: the
-- importer records less than the exporter — under-invoicing, misclassification or transit).
-- One row per factor in $factors (default 1.06, IMF DOTS; 1.10 as used by the Pakistan Business
-- Council); is_default_factor marks $default_factor. regime places the period against the
-- electronic data exchange and the Phase-II tariff cuts, dated in marts.policy_markers (the one
-- place for both dates: 'ede', 'cpfta_phase2_cuts'): a period takes the regime in force at its
-- midpoint (the 15th of a month, 1 July of a year), i.e. for most of its days.
WITH f AS (
    SELECT * FROM marts.trade_flows_hs2017
    WHERE reporter IN ('CHN', 'PAK') AND partner IN ('CHN', 'PAK') AND reporter <> partner AND flow IN ('X', 'M')
),
x AS (
    SELECT reporter AS exporter, partner AS importer, freq, year, coalesce(month, 0) AS month0, hs6_2017 AS hs6,
           sum(value_usd) AS v, bool_or(is_sample) AS s, max(vintage) AS vintage
    FROM f WHERE flow = 'X' GROUP BY ALL
),
m AS (
    SELECT partner AS exporter, reporter AS importer, freq, year, coalesce(month, 0) AS month0, hs6_2017 AS hs6,
           sum(value_usd) AS v, bool_or(is_sample) AS s, max(vintage) AS vintage
    FROM f WHERE flow = 'M' GROUP BY ALL
),
j AS (
    SELECT exporter, importer, freq, year, nullif(month0, 0) AS month, hs6,
           coalesce(x.v, 0) AS exporter_fob_usd, coalesce(m.v, 0) AS importer_cif_usd,
           coalesce(x.s, false) OR coalesce(m.s, false) AS is_sample,
           greatest(x.vintage, m.vintage) AS vintage
    FROM x FULL OUTER JOIN m USING (exporter, importer, freq, year, month0, hs6)  -- month0: annual rows match too
),
factors AS (SELECT unnest(CAST($factors AS DOUBLE[])) AS factor),
markers AS (
    SELECT any_value(event_date) FILTER (WHERE marker = 'ede') AS ede,
           any_value(event_date) FILTER (WHERE marker = 'cpfta_phase2_cuts') AS phase2
    FROM marts.policy_markers
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
    factor = CAST($default_factor AS DOUBLE) AS is_default_factor,
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
