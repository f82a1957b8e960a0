-- raw.fta_categories: how each party's staging category moves the preferential rate
-- (src/tradeflow/fta/categories.yaml, or the table imported with the party's schedule), with the
-- schedule-reading conventions: first_cut_offset (schedule year of the first linear cut) and
-- base_rate_year (the MFN year the base rates stand for).
SELECT party, category, kind, CAST(years AS INTEGER) AS years, CAST(cut AS DOUBLE) AS cut, label,
       CAST(first_cut_offset AS INTEGER) AS first_cut_offset, CAST(base_rate_year AS INTEGER) AS base_rate_year
FROM fta_categories_frame
