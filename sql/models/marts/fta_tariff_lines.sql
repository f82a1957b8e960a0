WITH lines AS (
    -- hs6 is always HS2017, the basis of trade_flows_hs2017 and of the MFN below: a schedule imported in another
    -- HS version has its line's HS6 converted (marts.hs_concordance; `tradeflow schedule import` accepts only lines
    -- with one HS2017 target that is not is_ambiguous, and the grain check fails a line that would reach none or several)
    SELECT s.party AS importer, CASE s.party WHEN 'CHN' THEN 'PAK' ELSE 'CHN' END AS partner,
           s.tariff_line, s.hs_version AS schedule_hs_version, substr(s.tariff_line, 1, 6) AS schedule_hs6,
           CASE WHEN s.hs_version = 'HS2017' THEN substr(s.tariff_line, 1, 6) ELSE k.to_code END AS hs6,
           s.description, s.base_rate, s.category,
           c.kind, c.years, c.cut, c.first_cut_offset, c.base_rate_year, s.is_sample
    FROM {{ source('raw', 'fta_schedule') }} AS s
    -- a LEFT JOIN: a line whose category the table lacks stays, with kind NULL, and fails the grain test (never dropped)
    LEFT JOIN {{ source('raw', 'fta_categories') }} AS c ON c.party = s.party AND c.category = s.category
    LEFT JOIN {{ ref('hs_concordance') }} AS k
        ON s.hs_version <> 'HS2017' AND k.from_version = s.hs_version AND k.to_version = 'HS2017'
       AND k.from_code = substr(s.tariff_line, 1, 6)
),
years AS (SELECT CAST(range AS INTEGER) AS year FROM range(2020, 2036)),
mfn AS (
    SELECT t.importer, t.year,
           CASE WHEN t.hs_version = 'HS2017' THEN t.hs6 ELSE coalesce(k.to_code, t.hs6) END AS hs6,
           -- headings merged into one HS2017 heading: the average over their national lines (each heading's rate
           -- averages its rated_lines), not over the headings
           -- (a heading whose line count WITS left blank: the plain average of the headings, no count guessed)
           CASE WHEN NOT bool_and(t.rate_pct IS NOT NULL) THEN NULL
                WHEN bool_and(coalesce(t.rated_lines, 0) > 0)
                THEN {{ exact_sum('t.rate_pct * t.rated_lines') }} / {{ exact_sum('t.rated_lines') }}
                ELSE {{ exact_avg('t.rate_pct') }}
           END AS mfn_pct,
           CASE WHEN count(DISTINCT t.rate_basis) = 1 THEN min(t.rate_basis) ELSE 'mixed' END AS mfn_basis,
           -- the bases behind mfn_pct: two years' mfn_pct are like with like only where they are the same (WITS
           -- publishes AVEs year by year, so a heading with specific duties is ave_estimated in one year and
           -- ad_valorem_lines_only in the next with no tariff changed)
           string_agg(DISTINCT t.rate_basis, ',' ORDER BY t.rate_basis) AS mfn_bases,
           -- the ad-valorem lines' reported average, on one basis every year (weighed as mfn_pct)
           CASE WHEN NOT bool_and(t.ad_valorem_lines_rate_pct IS NOT NULL) THEN NULL
                WHEN bool_and(coalesce(t.ad_valorem_lines, 0) > 0)
                THEN {{ exact_sum('t.ad_valorem_lines_rate_pct * t.ad_valorem_lines') }} / {{ exact_sum('t.ad_valorem_lines') }}
                ELSE {{ exact_avg('t.ad_valorem_lines_rate_pct') }}
           END AS av_pct,
           CASE WHEN bool_and(t.rate_basis = 'ad_valorem') THEN 'ad_valorem' ELSE 'ad_valorem_lines_only' END AS av_basis,
           bool_or(t.is_sample) AS mfn_sample
    FROM {{ ref('tariffs') }} AS t
    LEFT JOIN {{ ref('hs_concordance') }} AS k
        -- TRAINS reports a year in the HS the country used then (H4 = HS2012, H6 = HS2022): the same conversion
        -- as the schedule lines above; a code the concordance lacks keeps its digits
        ON t.hs_version <> 'HS2017' AND k.from_version = t.hs_version AND k.to_version = 'HS2017'
       AND k.from_code = t.hs6
    WHERE t.partner = 'WLD' AND t.tariff_type = 'MFN'
    GROUP BY ALL
),
grid AS (
    SELECT l.*, y.year, y.year - 2020 AS t,
           {{ scheduled_rate('l.kind', 'l.base_rate', 'l.years', 'l.cut', 'l.first_cut_offset', 'y.year - 2020') }} AS scheduled
    FROM lines AS l CROSS JOIN years AS y
),
with_base AS (
    SELECT g.*, b.mfn_pct AS heading_mfn_base, b.mfn_sample AS base_sample, b.mfn_basis AS base_basis,
           b.mfn_bases AS base_bases, b.av_pct AS av_base
    FROM grid AS g
    ASOF LEFT JOIN mfn AS b ON b.importer = g.importer AND b.hs6 = g.hs6 AND g.base_rate_year >= b.year
),
-- the change is measured on one basis in both years: the heading rates where their bases are the same (AVE against
-- AVE, or no AVE in either year), else the ad-valorem lines' reported averages; else none, and the base rate stands
compared AS (
    SELECT w.*, m.mfn_pct AS heading_mfn_y, m.mfn_basis AS basis_y, m.mfn_sample AS sample_y,
           m.av_pct AS av_y, m.av_basis AS av_basis_y,
           m.mfn_pct IS NOT NULL AND w.heading_mfn_base IS NOT NULL AS both_known,
           CASE WHEN m.mfn_pct IS NULL OR w.heading_mfn_base IS NULL THEN NULL
                WHEN m.mfn_bases = w.base_bases THEN 'heading'
                WHEN m.av_pct IS NOT NULL AND w.av_base IS NOT NULL THEN 'ad_valorem_lines'
           END AS compared_on
    FROM with_base AS w
    ASOF LEFT JOIN mfn AS m ON m.importer = w.importer AND m.hs6 = w.hs6 AND w.year >= m.year
),
priced AS (
    SELECT c.*, compared_on IS NOT NULL AS from_wits,
           CASE WHEN compared_on = 'ad_valorem_lines' THEN av_y ELSE heading_mfn_y END AS heading_mfn,
           CASE WHEN compared_on = 'ad_valorem_lines' THEN av_basis_y ELSE basis_y END AS mfn_basis,
           CASE compared_on WHEN 'heading' THEN greatest(0.0, round(base_rate + heading_mfn_y - heading_mfn_base, 6))
                            WHEN 'ad_valorem_lines' THEN greatest(0.0, round(base_rate + av_y - av_base, 6))
                            ELSE base_rate END AS mfn,
           compared_on IS NOT NULL AND (sample_y OR base_sample) AS mfn_sample
    FROM compared AS c
),
applied AS (SELECT *, CASE WHEN kind = 'excluded' THEN mfn ELSE least(scheduled, mfn) END AS pref FROM priced)
SELECT
    importer, partner, tariff_line, hs6, schedule_hs_version, schedule_hs6, description, category, kind, year, t AS schedule_year,
    base_rate AS base_rate_pct,
    coalesce(scheduled, mfn) AS scheduled_pref_rate_pct,
    pref AS applied_pref_rate_pct,
    mfn AS mfn_rate_pct,
    CASE WHEN from_wits THEN 'base_rate_moved_by_wits_hs6' ELSE 'base_rate' END AS mfn_source,
    CASE WHEN from_wits THEN mfn_basis
         WHEN (mfn_basis IS NOT NULL AND heading_mfn IS NULL) OR (base_basis IS NOT NULL AND heading_mfn_base IS NULL)
         THEN 'base_rate (WITS rate unknown)'
         WHEN both_known THEN 'base_rate (WITS rates on different bases)' ELSE 'base_rate' END AS mfn_rate_basis,
    heading_mfn AS heading_mfn_rate_pct,
    mfn - pref AS margin_pp,
    CASE WHEN mfn > 0 THEN (mfn - pref) / mfn END AS margin_relative,
    pref = 0 AS is_zero,
    is_sample OR mfn_sample AS is_sample
FROM applied
ORDER BY importer, tariff_line, year
