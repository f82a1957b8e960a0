-- Mirror gap by HS chapter in the latest year, default factor, for the mirror-gap report.
SELECT direction, year, chapter, chapter_name, gap_usd, share_of_total_gap, gap_ratio
FROM marts.mirror_gap_by_chapter
WHERE is_default_factor AND year = (SELECT max(year) FROM marts.mirror_gap_by_chapter)
ORDER BY direction, gap_usd
