-- Where is the China→Pakistan mirror gap? Chapters with the largest gap in the latest year (factor 1.06).
SELECT year, chapter, chapter_name, round(exporter_fob_usd / 1e6, 1) AS china_reported_musd,
       round(importer_fob_usd / 1e6, 1) AS pakistan_reported_fob_musd, round(gap_usd / 1e6, 1) AS gap_musd,
       round(100 * share_of_total_gap, 1) AS pct_of_gap
FROM marts.mirror_gap_by_chapter
WHERE direction = 'CHN→PAK' AND is_default_factor AND year = (SELECT max(year) FROM marts.mirror_gap_by_chapter)
ORDER BY gap_usd
LIMIT 15;
