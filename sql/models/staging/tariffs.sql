WITH typed AS (
    SELECT *, max(vintage) OVER (PARTITION BY importer_m49, partner_m49, year, requested_datatype) AS newest_vintage
    FROM {{ source('raw', 'wits_tariffs') }}
    WHERE regexp_full_match(product_code, '[0-9]{6}')
),
-- of the newest release, the body fetched last: a year re-checked whose body changed under the same release date
-- replaces the earlier body whole (never a mix of the two, never the lower rate)
newest_body AS (
    SELECT *, max(fetched_at) OVER (PARTITION BY request_id) AS last_fetch FROM typed WHERE vintage = newest_vintage
),
newest AS (
    SELECT * FROM newest_body WHERE fetched_at = last_fetch
    -- an AVE answer listing a product both as estimated and as reported: the estimate is its AVE
    QUALIFY row_number() OVER (PARTITION BY importer_m49, partner_m49, year, product_code, tariff_type, requested_datatype
                               ORDER BY request_id, coalesce(lower(data_type) NOT LIKE 'ave%', true), rate_pct NULLS LAST,
                                        min_rate_pct, max_rate_pct, nomenclature, data_type, national_lines,
                                        preferential_lines, mfn_lines, na_lines, measure) = 1
),
reported AS (SELECT * FROM newest WHERE requested_datatype = 'reported'),
ave AS (
    SELECT *, coalesce(na_lines, national_lines - mfn_lines - preferential_lines) AS ave_na
    FROM newest WHERE requested_datatype = 'aveestimated' AND rate_pct IS NOT NULL
),
rated AS (
    SELECT r.*, a.rate_pct AS ave_pct,
           a.national_lines - coalesce(a.ave_na, 0) AS ave_lines,
           -- a line count WITS leaves blank is not a zero: the non-ad-valorem lines are what the other counts leave
           -- (national = MFN + preferential + non-ad-valorem), else unknown, and an unknown count never makes
           -- TRAINS's 0 an ad valorem 0 % (n_na NULL: the AVE if published, else the rate only when it has lines)
           coalesce(r.na_lines, r.national_lines - r.mfn_lines - r.preferential_lines) AS n_na,
           coalesce(r.national_lines - r.na_lines, r.mfn_lines + r.preferential_lines) AS n_ad_valorem
    FROM reported AS r
    -- an AVE observation is one only where WITS estimated a line the reported answer leaves non ad valorem: a line it
    -- could not estimate stays non-ad valorem in the AVE answer too, so an AVE answer with as many non-ad-valorem
    -- lines as the reported one is the ad-valorem lines' average again (no estimate: it would be compared "AVE
    -- against AVE" with a year that has one), and one with all its lines non ad valorem is a 0 that is no rate at
    -- all, never 0 %. Where WITS leaves the AVE's line counts blank only a positive rate shows a line was rated.
    LEFT JOIN ave AS a
        ON  a.importer_m49 = r.importer_m49 AND a.partner_m49 = r.partner_m49 AND a.year = r.year
        AND a.product_code = r.product_code AND a.tariff_type = r.tariff_type
        AND CASE WHEN a.national_lines - a.ave_na IS NULL THEN a.rate_pct > 0
                 ELSE a.national_lines - a.ave_na > 0
                      AND coalesce(a.ave_na < coalesce(r.na_lines,
                                                       r.national_lines - r.mfn_lines - r.preferential_lines), true)
            END
)
SELECT
    coalesce(i.iso3, n.importer_m49) AS importer,
    CASE WHEN n.partner_m49 = '000' THEN 'WLD' ELSE coalesce(p.iso3, n.partner_m49) END AS partner,
    n.year,
    n.product_code AS hs6,
    coalesce({{ hs_version('n.nomenclature') }}, n.nomenclature) AS hs_version,
    n.tariff_type,
    CASE WHEN (n.n_na > 0 OR n.n_na IS NULL) AND n.ave_pct IS NOT NULL THEN n.ave_pct
         WHEN n.n_na = 0 OR n.n_ad_valorem > 0 THEN n.rate_pct
    END AS rate_pct,
    CASE WHEN (n.n_na > 0 OR n.n_na IS NULL) AND n.ave_pct IS NOT NULL THEN 'ave_estimated'
         WHEN n.rate_pct IS NULL THEN 'unknown'
         WHEN n.n_na = 0 THEN 'ad_valorem'
         WHEN n.n_ad_valorem > 0 THEN 'ad_valorem_lines_only'
         ELSE 'unknown'
    END AS rate_basis,
    CASE WHEN n.n_na = 0 OR n.n_ad_valorem > 0 THEN n.min_rate_pct END AS min_rate_pct,
    CASE WHEN n.n_na = 0 OR n.n_ad_valorem > 0 THEN n.max_rate_pct END AS max_rate_pct,
    n.national_lines,
    n.na_lines AS non_ad_valorem_lines,
    -- the national lines rate_pct is the average of (a weight where HS6 headings are averaged together)
    CASE WHEN (n.n_na > 0 OR n.n_na IS NULL) AND n.ave_pct IS NOT NULL THEN n.ave_lines
         WHEN n.n_na = 0 THEN n.national_lines
         WHEN n.n_ad_valorem > 0 THEN n.n_ad_valorem
    END AS rated_lines,
    -- TRAINS's reported average of the ad-valorem lines, whatever rate_pct is: the one rate on the same basis in a
    -- year with an AVE body and a year without (WITS publishes AVEs year by year), so a change can be measured on it
    CASE WHEN n.n_na = 0 OR n.n_ad_valorem > 0 THEN n.rate_pct END AS ad_valorem_lines_rate_pct,
    CASE WHEN n.n_na = 0 THEN n.national_lines WHEN n.n_ad_valorem > 0 THEN n.n_ad_valorem END AS ad_valorem_lines,
    n.vintage,
    n.is_sample
FROM rated AS n
LEFT JOIN {{ ref('countries') }} AS i ON i.m49 = TRY_CAST(n.importer_m49 AS INTEGER)
LEFT JOIN {{ ref('countries') }} AS p ON p.m49 = TRY_CAST(n.partner_m49 AS INTEGER)
