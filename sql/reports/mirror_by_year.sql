-- Annual mirror gap per direction and CIF/FOB factor, for the mirror-gap report.
SELECT direction, year, cif_fob_factor, is_default_factor, sum(exporter_fob_usd) AS exporter_fob_usd,
       sum(importer_fob_usd) AS importer_fob_usd, sum(gap_usd) AS gap_usd, sum(gap_usd) / sum(exporter_fob_usd) AS gap_ratio
FROM marts.mirror_flows WHERE freq = 'A'
GROUP BY ALL ORDER BY direction, cif_fob_factor, year
