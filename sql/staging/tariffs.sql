-- staging.tariffs: HS6 applied tariffs (simple average of national lines, ad valorem %) per
-- importer, partner, year and tariff type — newest vintage only. partner 'WLD' rows are MFN;
-- partner-specific rows carry the preferential rate where one exists (TRAINS TARIFFTYPE).
WITH newest AS (
    SELECT *, max(vintage) OVER (PARTITION BY importer_m49, partner_m49, year) AS newest_vintage
    FROM raw.wits_tariffs
    WHERE regexp_full_match(product_code, '[0-9]{6}') AND rate_pct IS NOT NULL
)
SELECT
    coalesce(i.iso3, n.importer_m49) AS importer,
    CASE WHEN n.partner_m49 = '000' THEN 'WLD' ELSE coalesce(p.iso3, n.partner_m49) END AS partner,
    n.year,
    n.product_code AS hs6,
    CASE n.nomenclature WHEN 'H4' THEN 'HS2012' WHEN 'H5' THEN 'HS2017' WHEN 'H6' THEN 'HS2022' ELSE n.nomenclature END
        AS hs_version,
    n.tariff_type,
    n.rate_pct,
    n.min_rate_pct,
    n.max_rate_pct,
    n.national_lines,
    n.vintage,
    n.is_sample
FROM newest AS n
LEFT JOIN staging.countries AS i ON i.m49 = TRY_CAST(n.importer_m49 AS INTEGER)
LEFT JOIN staging.countries AS p ON p.m49 = TRY_CAST(n.partner_m49 AS INTEGER)
WHERE n.vintage = n.newest_vintage
QUALIFY row_number() OVER (PARTITION BY n.importer_m49, n.partner_m49, n.year, n.product_code, n.tariff_type
                           ORDER BY n.request_id) = 1
