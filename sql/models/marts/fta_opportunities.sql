-- The latest year both sides have published: Pakistan's exports to the World and China's imports from the World.
-- Each reporter releases its year on its own; Pakistan's newest year alone, before China's, has nothing to rank against.
WITH y AS (
    SELECT max(year) AS year FROM (
        SELECT year FROM {{ ref('trade_flows_hs2017') }}
        WHERE freq = 'A' AND partner = 'WLD' AND (reporter = 'PAK' AND flow = 'X' OR reporter = 'CHN' AND flow = 'M')
        GROUP BY year HAVING count(DISTINCT reporter) = 2)
),
flows AS (
    SELECT hs6_2017 AS hs6,
           {{ exact_sum('value_usd', filter="reporter = 'PAK' AND partner = 'WLD' AND flow = 'X'") }} AS pak_exports_world_usd,
           {{ exact_sum('value_usd', filter="reporter = 'CHN' AND partner = 'WLD' AND flow = 'M'") }} AS chn_imports_world_usd,
           {{ exact_sum('value_usd', filter="reporter = 'CHN' AND partner = 'PAK' AND flow = 'M'") }} AS chn_imports_from_pak_usd,
           bool_or(is_sample) AS is_sample
    FROM {{ ref('trade_flows_hs2017') }}, y
    WHERE freq = 'A' AND trade_flows_hs2017.year = y.year AND hs6_2017 IS NOT NULL
    GROUP BY hs6_2017
),
chn AS (SELECT * FROM {{ ref('fta_tariff_lines') }} WHERE importer = 'CHN'),
known AS (  -- keyed on the line's HS2017 heading (a schedule in HS2022 has its lines' own digits in schedule_hs6)
    SELECT DISTINCT c.hs6, k.tariff_line, k.is_sample
    FROM {{ source('raw', 'fta_traded_lines') }} AS k
    JOIN (SELECT DISTINCT tariff_line, hs6 FROM chn) AS c USING (tariff_line)
    WHERE k.importer = 'CHN'
),
carrying AS (  -- the lines that carry each heading's trade: the known ones, else every line of the heading
    SELECT c.*, k.tariff_line IS NOT NULL AS known_line, coalesce(k.is_sample, false) AS known_sample
    FROM chn AS c LEFT JOIN known AS k USING (hs6, tariff_line)
    WHERE k.tariff_line IS NOT NULL OR c.hs6 NOT IN (SELECT hs6 FROM known)
),
per_line AS (
    SELECT c.hs6, c.tariff_line,
           min(applied_pref_rate_pct) FILTER (WHERE c.year = y.year) AS pref,
           min(mfn_rate_pct) FILTER (WHERE c.year = y.year) AS mfn,
           min(applied_pref_rate_pct) FILTER (WHERE c.year = 2035) AS pref_2035,
           min(c.year) FILTER (WHERE c.applied_pref_rate_pct = 0) AS zero_from,
           bool_or(c.is_sample OR c.known_sample) AS is_sample, bool_or(c.known_line) AS known_line
    FROM carrying AS c, y GROUP BY ALL
),
tariff AS (
    SELECT hs6, {{ exact_avg('pref') }} AS pref_rate_pct, {{ exact_avg('mfn') }} AS mfn_rate_pct,
           avg(CAST(pref = 0 AS INTEGER)) AS share_lines_zero,
           bool_and(pref = 0 OR pref_2035 < pref) AS all_zero_or_falling,
           CASE WHEN bool_and(zero_from IS NOT NULL) THEN max(zero_from) END AS year_reaches_zero,
           count(*) AS carrying_lines, bool_or(known_line) AS lines_known, bool_or(is_sample) AS tariff_sample
    FROM per_line GROUP BY hs6
),
-- RCA is read in the latest year at or before y whose world is seen (marts.world_coverage): the latest year is the one
-- the rest of the world has reported least, and an RCA against part of the world is biased
-- world exports of k and in all from the same reporters: those with both their products and their total that year
complete AS ({{ complete_world_reporters(ref('world_exports')) }}),
rca_year AS (
    SELECT max(c.year) AS year FROM {{ ref('world_coverage') }} AS c, y
    WHERE c.flow = 'X' AND c.year <= y.year AND {{ world_seen('c') }}
      AND EXISTS (SELECT 1 FROM complete AS k WHERE k.reporter = 'PAK' AND k.year = c.year)
),
year_rows AS (
    SELECT w.* FROM {{ ref('world_exports') }} AS w
    JOIN rca_year AS r ON w.year = r.year
    SEMI JOIN complete AS c ON c.reporter = w.reporter AND c.year = w.year
),
world AS (
    SELECT w.hs6, {{ exact_sum('w.value_usd') }} AS world_k,
           coalesce({{ exact_sum('w.value_usd', filter="w.reporter = 'PAK'") }}, 0) AS pak_k,
           min(tot.world_total) AS world_total, min(tot.pak_total) AS pak_total, bool_or(w.is_sample) AS world_sample
    FROM year_rows AS w,
         (SELECT {{ exact_sum('value_usd') }} AS world_total,
                 {{ exact_sum('value_usd', filter="reporter = 'PAK'") }} AS pak_total
          FROM year_rows WHERE hs6 = 'TOTAL') AS tot
    WHERE w.hs6 <> 'TOTAL'
    GROUP BY w.hs6
),
coverage AS (SELECT c.* FROM {{ ref('world_coverage') }} AS c, y WHERE c.flow = 'X' AND c.year = y.year),
why_not_y AS (  -- why RCA is not read in y itself
    SELECT CASE WHEN cov.year IS NULL THEN 'no world exports by product for ' || y.year
                WHEN NOT {{ world_seen('cov') }} THEN {{ world_unseen_reason('cov', "'exports'") }}
                ELSE 'Pakistan''s exports to the World lack a total or HS2017 products in ' || y.year END AS why
    FROM y LEFT JOIN coverage AS cov ON true
)
SELECT
    y.year,
    f.hs6,
    f.pak_exports_world_usd,
    f.chn_imports_world_usd,
    coalesce(f.chn_imports_from_pak_usd, 0) AS chn_imports_from_pak_usd,
    greatest(least(f.pak_exports_world_usd, f.chn_imports_world_usd) - coalesce(f.chn_imports_from_pak_usd, 0), 0)
        AS indicative_potential_usd,
    coalesce(f.chn_imports_from_pak_usd, 0) / nullif(f.chn_imports_world_usd, 0) AS pak_share_of_chn_imports,
    t.pref_rate_pct,
    t.mfn_rate_pct,
    t.mfn_rate_pct - t.pref_rate_pct AS margin_pp,
    t.share_lines_zero,
    t.year_reaches_zero,
    t.carrying_lines AS trade_lines,
    CASE WHEN t.lines_known THEN 'traded lines known' ELSE 'all lines of the heading' END AS trade_lines_basis,
    (w.pak_k / nullif(w.pak_total, 0)) / nullif(w.world_k / nullif(w.world_total, 0), 0) AS rca,
    r.year AS rca_year,
    CASE WHEN r.year IS NULL THEN 'unavailable: ' || n.why
         WHEN w.world_k IS NULL THEN 'unavailable: no world exports of the line in ' || r.year
         WHEN r.year < y.year THEN 'ok, from ' || r.year || ' (' || y.year || ': ' || n.why || ')'
         ELSE 'ok' END AS rca_status,
    rank() OVER (ORDER BY greatest(least(f.pak_exports_world_usd, f.chn_imports_world_usd)
                                   - coalesce(f.chn_imports_from_pak_usd, 0), 0) DESC, f.hs6) AS rank,
    f.is_sample OR t.tariff_sample OR coalesce(w.world_sample, false) AS is_sample
FROM flows AS f
CROSS JOIN y
JOIN tariff AS t USING (hs6)
LEFT JOIN world AS w USING (hs6)
LEFT JOIN rca_year AS r ON true
LEFT JOIN why_not_y AS n ON true
WHERE f.pak_exports_world_usd > 0 AND f.chn_imports_world_usd > 0
  AND t.all_zero_or_falling
ORDER BY rank
