-- raw.fta_traded_lines: national tariff lines known to carry their HS6 heading's trade
-- (src/tradeflow/fta/traded_lines.py): the sample's trade-carrying lines while the schedule is
-- the sample's; none for an imported schedule until tariff-line trade is loaded.
SELECT importer, tariff_line, source, CAST(is_sample AS BOOLEAN) AS is_sample FROM fta_traded_lines_frame
