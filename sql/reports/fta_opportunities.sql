-- Untapped lines for Pakistan in China, ranked, for the CPFTA report: those with trade potential left (a line whose
-- potential is 0 has nothing untapped; the mart keeps every ranked line).
SELECT o.rank, o.hs6, h.description, o.indicative_potential_usd, o.pak_exports_world_usd, o.chn_imports_world_usd,
       o.chn_imports_from_pak_usd, o.pak_share_of_chn_imports, o.pref_rate_pct, o.mfn_rate_pct, o.margin_pp,
       o.share_lines_zero, o.year_reaches_zero, o.rca, o.rca_year, o.rca_status
FROM marts.fta_opportunities o
LEFT JOIN marts.dim_hs h ON h.hs_version = 'HS2017' AND h.code = o.hs6
WHERE o.indicative_potential_usd > 0
ORDER BY o.rank
