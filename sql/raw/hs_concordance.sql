-- raw.hs_concordance: UNSD HS2022 ↔ HS2017 pairs (relationship from the correlation table,
-- hs2017_conversion from the conversion table); the sample seed when the full table is not archived.
SELECT hs2022, hs2017, relationship, hs2017_conversion, source FROM hs_concordance_frame
