-- Agro indicators by reporter, partner, flow and year, for the agro report's table.
SELECT reporter, partner, flow, year, months, agro_usd, agro_share, perishable_share_of_agro, hhi, agro_lines, top_hs6, top_share,
       agro_growth
FROM marts.agro_indicators ORDER BY reporter, partner, flow, year
