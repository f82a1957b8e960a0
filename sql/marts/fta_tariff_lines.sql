-- marts.fta_tariff_lines: the CPFTA Phase-II rate path of every national tariff line of each
-- importer, 2020–2035 (schedule year 0 = 2020). Scheduled preferential rate by category:
-- immediate 0; linear base × max(0, 1 − (t+1)/N) (N equal annual cuts, the first on 1 Jan 2020);
-- partial base × (1 − cut); excluded base. MFN: WITS/TRAINS applied MFN of the line's HS6 for the
-- latest year at or before the year (HS2022 rates mapped to HS2017), else the line's base rate;
-- a WITS rate that is unknown (only specific duties, no ad valorem equivalent) is never taken as
-- zero: the base rate stands in. mfn_rate_basis says which rate was used (staging.tariffs.rate_basis).
-- applied_pref_rate_pct = least(scheduled, MFN): a trader pays the lower of the two.
-- Margins (domain notes §4.1): absolute MFN − applied preferential (percentage points);
-- relative (MFN − preferential) / MFN, undefined when MFN = 0.
WITH lines AS (
    SELECT s.party AS importer, CASE s.party WHEN 'CHN' THEN 'PAK' ELSE 'CHN' END AS partner,
           s.tariff_line, substr(s.tariff_line, 1, 6) AS hs6, s.description, s.base_rate, s.category,
           c.kind, c.years, c.cut, s.is_sample
    FROM raw.fta_schedule AS s
    JOIN raw.fta_categories AS c ON c.party = s.party AND c.category = s.category
),
years AS (SELECT CAST(range AS INTEGER) AS year FROM range(2020, 2036)),
mfn AS (
    SELECT t.importer, t.year,
           CASE WHEN t.hs_version = 'HS2022' THEN coalesce(k.to_code, t.hs6) ELSE t.hs6 END AS hs6,
           CASE WHEN bool_and(t.rate_pct IS NOT NULL) THEN avg(t.rate_pct) END AS mfn_pct,
           CASE WHEN count(DISTINCT t.rate_basis) = 1 THEN min(t.rate_basis) ELSE 'mixed' END AS mfn_basis
    FROM staging.tariffs AS t
    LEFT JOIN marts.hs_concordance AS k
        ON t.hs_version = 'HS2022' AND k.from_version = 'HS2022' AND k.to_version = 'HS2017' AND k.from_code = t.hs6
    WHERE t.partner = 'WLD' AND t.tariff_type = 'MFN'
    GROUP BY ALL
),
grid AS (
    SELECT l.*, y.year, y.year - 2020 AS t,
           CASE l.kind
               WHEN 'immediate' THEN 0.0
               WHEN 'linear' THEN round(l.base_rate * greatest(0.0, 1 - (y.year - 2020 + 1) / l.years), 6)
               WHEN 'partial' THEN round(l.base_rate * (1 - l.cut), 6)
               ELSE l.base_rate
           END AS scheduled
    FROM lines AS l CROSS JOIN years AS y
),
priced AS (
    SELECT g.*, coalesce(m.mfn_pct, g.base_rate) AS mfn, m.mfn_pct IS NOT NULL AS from_wits, m.mfn_basis
    FROM grid AS g
    ASOF LEFT JOIN mfn AS m ON m.importer = g.importer AND m.hs6 = g.hs6 AND g.year >= m.year
)
SELECT
    importer, partner, tariff_line, hs6, description, category, kind, year, t AS schedule_year,
    base_rate AS base_rate_pct,
    scheduled AS scheduled_pref_rate_pct,
    least(scheduled, mfn) AS applied_pref_rate_pct,
    mfn AS mfn_rate_pct,
    CASE WHEN from_wits THEN 'wits_trains' ELSE 'base_rate' END AS mfn_source,
    CASE WHEN from_wits THEN mfn_basis WHEN mfn_basis = 'unknown' THEN 'base_rate (WITS rate unknown)' ELSE 'base_rate' END
        AS mfn_rate_basis,
    mfn - least(scheduled, mfn) AS margin_pp,
    CASE WHEN mfn > 0 THEN (mfn - least(scheduled, mfn)) / mfn END AS margin_relative,
    least(scheduled, mfn) = 0 AS is_zero,
    is_sample
FROM priced
ORDER BY importer, tariff_line, year
