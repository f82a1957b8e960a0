-- raw.reference_countries: UN Comtrade Reporters.json and partnerAreas.json as archived (live runs only).
SELECT CAST(m49 AS INTEGER) AS m49, iso3, name, CAST(is_group AS BOOLEAN) AS is_group, list
FROM reference_countries_frame
