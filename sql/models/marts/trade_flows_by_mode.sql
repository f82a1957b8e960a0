-- depends_on: {{ ref('quality_gates') }}  (the staging quality gates block this model)
SELECT
    coalesce(r.iso3, s.reporter_iso) AS reporter,
    coalesce(p.iso3, s.partner_iso) AS partner,
    s.flow,
    s.year,
    s.month,
    make_date(s.year, s.month, 1) AS period_start,
    s.hs6,
    {{ hs_version('s.classification') }} AS hs_version,
    s.mot_code,
    CASE s.mot_code WHEN 1000 THEN 'air' WHEN 2100 THEN 'sea' WHEN 2000 THEN 'water'
        WHEN 3000 THEN 'land' WHEN 3100 THEN 'rail' WHEN 3200 THEN 'road' ELSE 'other' END AS mode,
    s.value_usd,
    s.net_weight_kg,
    s.net_weight_estimated,
    s.vintage,
    s.is_sample
FROM {{ ref('comtrade_flows') }} AS s
LEFT JOIN {{ ref('countries') }} AS r ON r.m49 = s.reporter_code
LEFT JOIN {{ ref('countries') }} AS p ON p.m49 = s.partner_code
WHERE s.mot_code <> 0 AND s.freq = 'M' AND s.reporter_code IN (586, 156)
ORDER BY ALL
