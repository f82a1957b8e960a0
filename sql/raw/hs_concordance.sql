-- raw.hs_concordance: UNSD HS correspondence pairs between a newer and an older HS version
-- (HS2022 → HS2017, HS2017 → HS2012), as archived: relationship from the correlation sheet,
-- older_conversion (the one older code the conversion sheet gives the newer code) from the
-- conversion sheet; the sample seed (HS2022 → HS2017) when no UNSD table of that pair is archived.
SELECT newer_version, newer_code, older_version, older_code, relationship, older_conversion, source
FROM hs_concordance_frame
