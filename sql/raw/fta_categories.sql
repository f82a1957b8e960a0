-- raw.fta_categories: how each party's staging category moves the preferential rate
-- (src/tradeflow/fta/categories.yaml, or the table imported with a schedule).
SELECT party, category, kind, CAST(years AS INTEGER) AS years, CAST(cut AS DOUBLE) AS cut, label
FROM fta_categories_frame
