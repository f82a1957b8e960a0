-- depends_on: {{ ref('quality_gates') }}  (the staging quality gates block this model)
SELECT
    coalesce(r.iso3, s.reporter_iso) AS reporter,
    coalesce(p.iso3, s.partner_iso) AS partner,
    s.flow,
    s.freq,
    s.year,
    s.month,
    make_date(s.year, coalesce(s.month, 1), 1) AS period_start,
    s.hs6,
    {{ hs_version('s.classification') }} AS hs_version,
    s.value_usd,
    s.cif_usd,
    s.fob_usd,
    s.net_weight_kg,
    s.net_weight_estimated,
    s.quantity,
    s.quantity_unit,
    s.quantity_estimated,
    s.vintage,
    s.is_sample
FROM {{ ref('comtrade_flows') }} AS s
LEFT JOIN {{ ref('countries') }} AS r ON r.m49 = s.reporter_code
LEFT JOIN {{ ref('countries') }} AS p ON p.m49 = s.partner_code
-- the pair, from their own queries only: the all-reporters World query (exports to the World, for world_exports) of
-- a period whose own query failed or is not fetched yet is no period of theirs (no imports, no partner)
WHERE s.mot_code = 0 AND s.reporter_code IN (586, 156) AND s.query_scope = 'reporter'
ORDER BY ALL
