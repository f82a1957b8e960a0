-- CPFTA Phase-II indicators by importer and year, for the CPFTA report.
SELECT * FROM marts.fta_indicators ORDER BY importer, year
