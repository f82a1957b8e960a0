-- marts.fta_opportunities: untapped lines for Pakistan in China. HS6 lines (HS2017) where
-- Pakistan's applied preferential duty in China is zero or falling, ranked by ITC's indicative
-- trade potential (ITC Trade Map, "indicative potential trade"):
--   itp = max(0, min(Pakistan's exports of the line to the World, China's imports of the line
--   from the World) − China's imports of the line from Pakistan),
-- in the latest year with Pakistan's World exports. Also Pakistan's share of China's imports,
-- the margin of preference over MFN, the year the line reaches zero, and Pakistan's Balassa
-- revealed comparative advantage RCA = (x_PAK,k / X_PAK) / (x_W,k / X_W) from all reporters'
-- exports to the World (marts.world_exports); where those are missing the RCA is null and
-- rca_status says it is unavailable.
WITH y AS (
    SELECT max(year) AS year FROM marts.trade_flows_hs2017 WHERE reporter = 'PAK' AND partner = 'WLD' AND flow = 'X' AND freq = 'A'
),
flows AS (
    SELECT hs6_2017 AS hs6,
           sum(value_usd) FILTER (WHERE reporter = 'PAK' AND partner = 'WLD' AND flow = 'X') AS pak_exports_world_usd,
           sum(value_usd) FILTER (WHERE reporter = 'CHN' AND partner = 'WLD' AND flow = 'M') AS chn_imports_world_usd,
           sum(value_usd) FILTER (WHERE reporter = 'CHN' AND partner = 'PAK' AND flow = 'M') AS chn_imports_from_pak_usd,
           bool_or(is_sample) AS is_sample
    FROM marts.trade_flows_hs2017, y
    WHERE freq = 'A' AND trade_flows_hs2017.year = y.year AND hs6_2017 IS NOT NULL
    GROUP BY hs6_2017
),
tariff AS (
    SELECT hs6,
           avg(applied_pref_rate_pct) FILTER (WHERE l.year = y.year) AS pref_rate_pct,
           avg(mfn_rate_pct) FILTER (WHERE l.year = y.year) AS mfn_rate_pct,
           avg(applied_pref_rate_pct) FILTER (WHERE l.year = 2035) AS pref_rate_2035_pct,
           avg(CAST(is_zero AS DOUBLE)) FILTER (WHERE l.year = y.year) AS share_lines_zero
    FROM marts.fta_tariff_lines AS l, y
    WHERE importer = 'CHN'
    GROUP BY hs6
),
zero_year AS (
    SELECT hs6, min(year) AS year_reaches_zero
    FROM (SELECT hs6, year, max(applied_pref_rate_pct) AS worst FROM marts.fta_tariff_lines WHERE importer = 'CHN' GROUP BY ALL)
    WHERE worst = 0 GROUP BY hs6
),
world AS (
    SELECT w.hs6, sum(w.value_usd) AS world_k, any_value(tot.world_total) AS world_total
    FROM marts.world_exports AS w, y,
         (SELECT sum(value_usd) AS world_total FROM marts.world_exports, y WHERE hs6 = 'TOTAL' AND world_exports.year = y.year) AS tot
    WHERE w.year = y.year AND w.hs6 <> 'TOTAL'
    GROUP BY w.hs6
),
pak_total AS (
    SELECT value_usd AS pak_total FROM marts.world_exports, y WHERE reporter = 'PAK' AND hs6 = 'TOTAL' AND world_exports.year = y.year
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
    z.year_reaches_zero,
    (f.pak_exports_world_usd / p.pak_total) / (w.world_k / w.world_total) AS rca,
    CASE WHEN w.world_k IS NULL OR p.pak_total IS NULL THEN 'unavailable: no world exports by product for ' || y.year
         ELSE 'ok' END AS rca_status,
    rank() OVER (ORDER BY greatest(least(f.pak_exports_world_usd, f.chn_imports_world_usd)
                                   - coalesce(f.chn_imports_from_pak_usd, 0), 0) DESC, f.hs6) AS rank,
    f.is_sample
FROM flows AS f
CROSS JOIN y
JOIN tariff AS t USING (hs6)
LEFT JOIN zero_year AS z USING (hs6)
LEFT JOIN world AS w USING (hs6)
LEFT JOIN pak_total AS p ON true
WHERE f.pak_exports_world_usd > 0 AND f.chn_imports_world_usd > 0
  AND (t.pref_rate_pct = 0 OR t.pref_rate_2035_pct < t.pref_rate_pct)
ORDER BY rank
